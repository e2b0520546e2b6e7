"""The simulator leaves out the keys Stripe leaves out when unset, and sends them once set.

Stripe's spec lists some optional fields outside ``required`` and without ``nullable``: unset,
the key is absent from the JSON, not ``null`` (``simulator/objects/omitted.py`` says which, with
sources). Responses are read as raw JSON over HTTP, so "absent" means the key is not there. The
stored objects keep their ``None``s: the billing engine reads them, the server leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.objects.omitted import OMITTED_WHEN_UNSET, omit_unset
from stripe_kpi.simulator.server import SimulatorServer
from tests.stripe_shape import absent_when_unset
from tests.test_simulator_expansions import ok


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


class Account:
    """Ada on 2 seats (then 3, prorated) and a metered API item, with a one-off setup fee; Hedy,
    whose card fails from her first renewal, which ends uncollectible after the retries."""

    def __init__(self) -> None:
        acct = BillingAccount(on(2026, 1, 1), seed=4)
        ada = acct.create_customer("Ada", "ada@example.com")
        seats = acct.create_price(1000, "month", product="Seats")
        calls = acct.create_price(
            product="API", usage_type="metered", billing_scheme="tiered", tiers=[(None, 5, None)]
        )
        self.ada = acct.subscribe(ada, [(seats, 2), (calls, None)])
        self.seat_item, self.metered_item = (i["id"] for i in self.ada["items"]["data"])
        hedy = acct.create_customer("Hedy", "hedy@example.com", on(2026, 1, 2))
        self.hedy = acct.subscribe(hedy, [(seats, 1)], on(2026, 1, 2))
        acct.fail_payments(self.hedy, on(2026, 1, 3))  # from her renewal on Feb 2
        acct.change(self.ada, on(2026, 1, 15), quantity=3, item=self.ada["items"]["data"][0])
        acct.add_invoice_item(ada, 2500, on(2026, 1, 16), description="Setup fee")
        acct.advance(on(2026, 2, 28))  # Hedy's retries: Feb 5, 10, 17, then uncollectible
        self.data: StripeData = acct.snapshot()
        self.data.objects["events"] = {e["id"]: e for e in acct.log.events}


@pytest.fixture(scope="module")
def account() -> Account:
    return Account()


@pytest.fixture(scope="module")
def server(account: Account) -> Iterator[SimulatorServer]:
    with SimulatorServer(account.data) as running:
        yield running


def events_of(server: SimulatorServer, type_: str) -> list[dict[str, Any]]:
    return ok(server, "/v1/events", type=type_, limit=100)["data"]


def test_a_subscription_leaves_out_its_unset_optional_keys(
    server: SimulatorServer, account: Account
) -> None:
    sub = ok(server, f"/v1/subscriptions/{account.ada['id']}")
    for key in ("presentment_details", "status_details"):
        assert key not in sub
    assert sub["invoice_settings"]["issuer"] == {"type": "self"}  # no ``account: null``
    assert sub["customer_account"] is None  # nullable and required: sent as null
    assert sub["pause_collection"] is None
    seat, metered = sub["items"]["data"]
    assert "billed_until" not in seat
    assert seat["quantity"] == 3
    assert "quantity" not in metered  # a metered item has no quantity at all
    listed = ok(server, "/v1/subscription_items", subscription=account.ada["id"])["data"]
    assert ["quantity" in item for item in listed] == [True, False]


def test_an_invoice_leaves_out_threshold_reason_status_details_and_the_secret(
    server: SimulatorServer, account: Account
) -> None:
    invoice_id = account.ada["latest_invoice"]
    invoice = ok(server, f"/v1/invoices/{invoice_id}")
    for key in ("threshold_reason", "status_details", "confirmation_secret"):
        assert key not in invoice
    assert invoice["issuer"] == {"type": "self"}
    details = invoice["parent"]["subscription_details"]
    assert "subscription_proration_date" not in details
    assert details["subscription"] == account.ada["id"]
    assert invoice["customer_phone"] is None  # nullable and required: sent as null
    # The secret is includable: expanding it brings the key back (null: nothing to confirm).
    assert ok(server, f"/v1/invoices/{invoice_id}", expand=["confirmation_secret"]) == {
        **invoice,
        "confirmation_secret": None,
    }
    listed = ok(server, "/v1/invoices", limit=100)["data"]
    assert not [i["id"] for i in listed if "confirmation_secret" in i or "threshold_reason" in i]


def test_a_set_value_is_sent(server: SimulatorServer, account: Account) -> None:
    """Hedy's renewal invoice, uncollectible after the retries, says why in ``status_details``."""
    invoices = ok(server, "/v1/invoices", customer=account.hedy["customer"], limit=100)["data"]
    uncollectible = [i for i in invoices if i["status"] == "uncollectible"]
    assert [i["status_details"] for i in uncollectible] == [
        {"uncollectible": {"reason": "max_payment_attempts"}}
    ]
    assert all("status_details" not in i for i in invoices if i["status"] != "uncollectible")


def test_a_customer_has_no_business_name_individual_name_or_customer_account(
    server: SimulatorServer, account: Account
) -> None:
    customer = ok(server, f"/v1/customers/{account.ada['customer']}")
    for key in ("business_name", "individual_name", "customer_account"):
        assert key not in customer
    assert customer["name"] == "Ada"
    assert customer["phone"] is None
    expanded = ok(server, f"/v1/invoices/{account.ada['latest_invoice']}", expand=["customer"])
    assert "business_name" not in expanded["customer"]  # an expanded object is rendered alike


def test_events_leave_out_account_context_and_empty_previous_attributes(
    server: SimulatorServer, account: Account
) -> None:
    created = events_of(server, "customer.created")
    assert len(created) == 2  # Ada and Hedy
    for event in created:
        assert "account" not in event
        assert "context" not in event
        assert "previous_attributes" not in event["data"]
        assert "business_name" not in event["data"]["object"]  # the payload too
    updated = events_of(server, "customer.subscription.updated")
    assert updated
    assert all(isinstance(e["data"]["previous_attributes"], dict) for e in updated)
    payloads = [e["data"]["object"] for e in events_of(server, "invoice.created")]
    assert payloads
    assert not [p["id"] for p in payloads if "threshold_reason" in p or "confirmation_secret" in p]


def test_an_invoice_item_shows_proration_details_only_for_a_proration(
    server: SimulatorServer, account: Account
) -> None:
    items = [e["data"]["object"] for e in events_of(server, "invoiceitem.created")]
    by_description = {i["description"]: i for i in items}
    setup = by_description["Setup fee"]
    assert setup["proration"] is False
    assert "proration_details" not in setup
    prorations = sorted((i for i in items if i["proration"]), key=lambda i: i["amount"])
    # 17 of January's 31 days left on Jan 15: 2 seats × $10 × 17/31 = $10.97 credited,
    # 3 seats × $10 × 17/31 = $16.45 charged.
    assert [i["amount"] for i in prorations] == [-1097, 1645]
    credit, charge = (i["proration_details"]["credited_items"] for i in prorations)
    # The credit names the invoice line it credits, and no invoice item: the key is left out.
    assert sorted(credit) == ["invoice_line_item_details", "type"]
    assert credit["type"] == "invoice_line_items"
    assert charge is None  # nullable: a charge credits nothing
    listed = {i["description"]: i for i in ok(server, "/v1/invoiceitems", limit=100)["data"]}
    assert "proration_details" not in listed["Setup fee"]  # the list shows them alike
    assert len(listed) == 3
    assert sum("proration_details" in i for i in listed.values()) == 2


def test_the_account_leaves_out_what_a_standard_account_does_not_have(
    server: SimulatorServer,
) -> None:
    account = ok(server, "/v1/account")
    for key in ("capabilities", "company", "controller", "individual", "requirements"):
        assert key not in account
    assert "monthly_estimated_revenue" not in account["business_profile"]
    assert account["settings"] is None  # nullable in the spec: sent as null


def test_the_stored_objects_keep_their_nulls(account: Account) -> None:
    """The server renders copies: the engine's objects keep every key."""
    stored = account.data.objects["subscriptions"][account.ada["id"]]
    assert stored["presentment_details"] is None
    assert stored["items"]["data"][1]["quantity"] is None
    shown = omit_unset(stored)
    assert shown is not stored
    assert "presentment_details" not in shown
    assert stored["presentment_details"] is None


def test_the_table_names_optional_fields_of_the_pinned_sdk() -> None:
    """Every entry is a field the installed ``stripe`` package annotates Optional (a typo or a
    required field would raise). ``omitted.py`` lists 9 + 1 + 3 + 9 + 3 + 4 + 2 + 3 + 1 + 2 =
    37 keys over 10 kinds; ``issuer.account`` of invoices, subscriptions and schedules is one
    (class, field) pair, ``("Issuer", "account")``, so 35 pairs."""
    assert sum(len(keys) for keys in OMITTED_WHEN_UNSET.values()) == 37
    assert len(absent_when_unset(OMITTED_WHEN_UNSET)) == 35
    with pytest.raises(ValueError, match=r"invoice\.threshold_reasons: not an Optional field"):
        absent_when_unset({"invoice": ("threshold_reasons",)})
    with pytest.raises(ValueError, match=r"invoice\.total: not an Optional field"):
        absent_when_unset({"invoice": ("total",)})
