"""Trials that end without a payment method: ``trial_settings.end_behavior.missing_payment_method``.

A 14-day trial of $30/month from 1 Mar 2026 00:00 UTC ends on 15 Mar 00:00. Times and amounts
below follow Stripe's rules as ``stripe_kpi.simulator.billing.trials`` cites them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.saas import generate_account


def on(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def ts(month: int, day: int, hour: int = 0) -> int:
    return int(on(month, day, hour).timestamp())


def cardless_trial(behavior: str, *, card: bool = False):
    acct = BillingAccount(on(1, 1), seed=4)
    customer = acct.create_customer("Ada", "ada@example.com", on(3, 1), payment_method=card)
    price = acct.create_price(3000, "month", product="Pro", at=on(3, 1))
    sub = acct.subscribe(
        customer, [(price, 1)], on(3, 1), trial_days=14, trial_end_behavior=behavior
    )
    return acct, customer, sub


def invoices_of(acct: BillingAccount, sub: dict) -> list[dict]:
    return sorted(
        (
            i
            for i in acct.invoices.values()
            if i["parent"] and i["parent"]["subscription_details"]["subscription"] == sub["id"]
        ),
        key=lambda i: i["created"],
    )


def events_of(acct: BillingAccount, sub: dict, prefix: str = "customer.subscription.") -> list:
    return [
        (e["type"], e["created"], e["data"]["object"]["status"])
        for e in acct.log.events
        if e["type"].startswith(prefix) and e["data"]["object"]["id"] == sub["id"]
    ]


def test_created_without_a_card_the_subscription_says_its_end_behavior() -> None:
    acct, customer, sub = cardless_trial("pause")
    assert customer["invoice_settings"]["default_payment_method"] is None
    assert sub["trial_settings"]["end_behavior"]["missing_payment_method"] == "pause"
    assert (sub["status"], invoices_of(acct, sub)[0]["total"]) == ("trialing", 0)


def test_stripe_default_end_behavior_is_create_invoice() -> None:
    acct = BillingAccount(on(1, 1), seed=4)
    customer = acct.create_customer("Ada", "ada@example.com", on(3, 1))
    price = acct.create_price(3000, "month", product="Pro", at=on(3, 1))
    sub = acct.subscribe(customer, [(price, 1)], on(3, 1), trial_days=14)
    assert sub["trial_settings"]["end_behavior"]["missing_payment_method"] == "create_invoice"


def test_pause_at_trial_end_then_resume_bills_a_new_cycle_from_the_resume() -> None:
    acct, customer, sub = cardless_trial("pause")
    acct.advance(on(3, 19))
    # Paused at 15 Mar 00:00: status paused, collection not paused, no invoice but the $0 one.
    assert (sub["status"], sub["pause_collection"]) == ("paused", None)
    assert sub["status_details"] == {
        "paused": {
            "subscription": {"type": "trial_end_without_payment_method"},
            "transitioned_at": ts(3, 15),
            "type": "subscription",
        }
    }
    assert [i["total"] for i in invoices_of(acct, sub)] == [0]
    item = sub["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (ts(3, 1), ts(3, 15))
    acct.add_payment_method(customer, on(3, 20, 9))
    acct.resume(sub, on(3, 20, 9))
    assert (sub["status"], sub["status_details"], sub["billing_cycle_anchor"]) == (
        "active",
        None,
        ts(3, 20, 9),
    )
    # billing_cycle_anchor=now: a new month from 20 Mar 09:00, billed in full ($30.00) at once.
    assert (item["current_period_start"], item["current_period_end"]) == (
        ts(3, 20, 9),
        ts(4, 20, 9),
    )
    resumed = invoices_of(acct, sub)[1]
    assert (resumed["billing_reason"], resumed["total"], resumed["status"]) == (
        "subscription_update",
        3000,
        "paid",
    )
    assert resumed["status_transitions"]["paid_at"] == ts(3, 20, 9)
    line = resumed["lines"]["data"][0]
    assert (line["amount"], line["period"]) == (3000, {"start": ts(3, 20, 9), "end": ts(4, 20, 9)})
    acct.advance(on(4, 21))
    renewal = invoices_of(acct, sub)[2]
    assert (renewal["billing_reason"], renewal["created"], renewal["total"]) == (
        "subscription_cycle",
        ts(4, 20, 9),
        3000,
    )
    assert events_of(acct, sub)[:5] == [
        ("customer.subscription.created", ts(3, 1), "trialing"),
        ("customer.subscription.trial_will_end", ts(3, 12), "trialing"),
        ("customer.subscription.paused", ts(3, 15), "paused"),
        ("customer.subscription.updated", ts(3, 15), "paused"),
        ("customer.subscription.resumed", ts(3, 20, 9), "active"),
    ]
    updates = [e for e in acct.log.events if e["type"] == "customer.subscription.updated"]
    assert updates[0]["data"]["previous_attributes"]["status"] == "trialing"
    assert updates[1]["data"]["previous_attributes"]["status"] == "paused"


def test_resuming_without_a_card_leaves_it_past_due() -> None:
    """``payment_behavior=resume_on_payment_attempt`` (the default): active at once, past due
    when the resumption invoice's payment fails."""
    acct, _, sub = cardless_trial("pause")
    acct.resume(sub, on(3, 20))
    invoice = invoices_of(acct, sub)[1]
    assert (sub["status"], invoice["status"], invoice["attempt_count"]) == ("past_due", "open", 1)


def test_cancel_at_trial_end_without_an_invoice() -> None:
    acct, _, sub = cardless_trial("cancel")
    acct.advance(on(4, 30))
    assert (sub["status"], sub["ended_at"], sub["canceled_at"]) == (
        "canceled",
        ts(3, 15),
        ts(3, 15),
    )
    assert sub["cancellation_details"]["reason"] == "cancellation_requested"
    assert [i["total"] for i in invoices_of(acct, sub)] == [0]


def test_create_invoice_fails_for_want_of_a_card_and_dunning_cancels() -> None:
    """Invoice at 15 Mar 00:00, finalized and attempted at 01:00 (fails: no card), retries after
    3, 5 and 7 days (18, 23, 30 Mar 01:00); the last failure cancels it, ``payment_failed``."""
    acct, _, sub = cardless_trial("create_invoice")
    acct.advance(on(3, 16))
    first = invoices_of(acct, sub)[1]
    assert (first["created"], first["total"], first["status"]) == (ts(3, 15), 3000, "open")
    assert sub["status"] == "past_due"
    acct.advance(on(4, 30))
    assert (first["attempt_count"], first["status"]) == (4, "uncollectible")
    assert (sub["status"], sub["ended_at"]) == ("canceled", ts(3, 30, 1))
    assert sub["cancellation_details"]["reason"] == "payment_failed"


def test_create_invoice_paid_at_the_next_retry_once_a_card_is_added() -> None:
    acct, customer, sub = cardless_trial("create_invoice")
    acct.add_payment_method(customer, on(3, 20))
    acct.advance(on(3, 24))
    first = invoices_of(acct, sub)[1]
    assert (first["status"], first["status_transitions"]["paid_at"]) == ("paid", ts(3, 23, 1))
    assert sub["status"] == "active"


def test_with_a_card_the_end_behavior_does_not_matter() -> None:
    acct, _, sub = cardless_trial("pause", card=True)
    acct.advance(on(3, 16))
    assert sub["status"] == "active"
    assert [i["total"] for i in invoices_of(acct, sub)] == [0, 3000]


def test_what_cannot_be_done_says_so() -> None:
    acct, customer, sub = cardless_trial("pause")
    price = acct.create_price(1000, "month", product="Extra", at=on(3, 2))
    with pytest.raises(ValueError, match="no payment method"):
        acct.subscribe(customer, [(price, 1)], on(3, 2))
    with pytest.raises(ValueError, match="not paused"):
        acct.resume(sub, on(3, 3))
    acct.advance(on(3, 16))
    with pytest.raises(ValueError, match="paused"):
        acct.cancel(sub, on(3, 17), at_period_end=True)
    acct.cancel(sub, on(3, 18))  # a paused trial canceled by the merchant: no invoice, no period
    assert (sub["status"], sub["ended_at"]) == ("canceled", ts(3, 18))
    assert [i["total"] for i in invoices_of(acct, sub)] == [0]


def test_a_send_invoice_trial_needs_no_card() -> None:
    """The customer pays the emailed invoice: the trial converts, whatever its end behavior."""
    acct = BillingAccount(on(1, 1), seed=4)
    customer = acct.create_customer("Ada", "ada@example.com", on(3, 1), payment_method=False)
    price = acct.create_price(3000, "month", product="Pro", at=on(3, 1))
    sub = acct.subscribe(
        customer,
        [(price, 1)],
        on(3, 1),
        trial_days=14,
        trial_end_behavior="pause",
        collection_method="send_invoice",
    )
    acct.advance(on(3, 16))
    assert sub["status"] == "active"
    assert [(i["total"], i["status"]) for i in invoices_of(acct, sub)] == [
        (0, "paid"),
        (3000, "open"),
    ]


def test_the_demo_account_has_cardless_trials_of_each_behavior() -> None:
    """``cardless_trials``: a few % of the demo's trials start without a card (seed 5, 400
    customers: trials of each end behavior, one paused and resumed, one canceled at its end, and
    invoiced ones whose first payment failed)."""
    acct = generate_account(5, 400, on(1, 1).replace(year=2024), on(1, 1))
    trials = [s for s in acct.subscriptions.values() if s["trial_end"]]

    def behavior(sub: dict) -> str:
        return sub["trial_settings"]["end_behavior"]["missing_payment_method"]

    assert {behavior(s) for s in trials} == {"create_invoice", "pause", "cancel"}
    assert any(
        behavior(s) == "pause" and s["billing_cycle_anchor"] > s["trial_end"] for s in trials
    )
    assert any(behavior(s) == "cancel" and s["ended_at"] == s["trial_end"] for s in trials)
    at_trial_end = {s["id"]: s["trial_end"] for s in trials}
    first_attempts = [
        i["attempt_count"]
        for i in acct.invoices.values()
        if i["parent"]
        and i["created"] == at_trial_end.get(i["parent"]["subscription_details"]["subscription"])
    ]
    assert max(first_attempts) > 1  # invoiced at the trial's end without a card: it failed
