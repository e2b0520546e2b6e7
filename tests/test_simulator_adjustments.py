"""The simulator's one-off invoices, credit notes and deleted customers: the engine, then what
the HTTP server shows of them (``/v1/credit_notes``, ``/v1/invoiceitems``, a deleted customer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer


def on(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def account() -> tuple[BillingAccount, dict, dict]:
    """Ada on $100/month from 1 Jan, whose first invoice also bills a $100 onboarding fee."""
    acct = BillingAccount(on(1, 1, 0), seed=3)
    ada = acct.create_customer("Ada", "ada@example.com", on(1, 1))
    plan = acct.create_price(10000, "month", product="Pro", at=on(1, 1))
    acct.add_invoice_item(ada, 10000, on(1, 1), description="Onboarding", currency="usd")
    sub = acct.subscribe(ada, [(plan, 1)], on(1, 1))
    return acct, ada, sub


def event_types(acct: BillingAccount) -> list[str]:
    return [e["type"] for e in acct.log.events]


# -- one-off invoices -------------------------------------------------------------------------


def test_a_one_off_invoice_takes_the_pending_one_offs_and_no_subscription() -> None:
    acct, ada, _ = account()
    setup = acct.add_invoice_item(ada, 50000, on(1, 3), description="Setup fee")
    day = acct.add_invoice_item(ada, 120000, on(1, 3), description="Consulting day")
    invoice = acct.create_invoice(ada, on(1, 3))
    # 500.00 + 1,200.00 = 1,700.00, charged at once.
    assert (invoice["parent"], invoice["billing_reason"]) == (None, "manual")
    assert invoice["total"] == 170000
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 170000)
    lines = invoice["lines"]["data"]
    items = [line["parent"]["invoice_item_details"]["invoice_item"] for line in lines]
    assert items == [setup["id"], day["id"]]
    assert setup["invoice"] == day["invoice"] == invoice["id"]
    with pytest.raises(ValueError, match="no pending one-off"):
        acct.create_invoice(ada, on(1, 4))


def test_a_subscriptions_proration_stays_for_its_own_invoice() -> None:
    acct, ada, sub = account()
    acct.change(sub, on(1, 16), quantity=2)  # a pending proration of the subscription
    acct.add_invoice_item(ada, 50000, on(1, 16), description="Setup fee")
    invoice = acct.create_invoice(ada, on(1, 16))
    assert [line["description"] for line in invoice["lines"]["data"]] == ["Setup fee"]
    assert [ii["proration"] for ii in acct.pending[ada["id"]]] == [True, True]


# -- credit notes -----------------------------------------------------------------------------


def test_a_credit_note_on_a_paid_invoice_is_post_payment_and_refunded() -> None:
    acct, _, sub = account()
    invoice = acct.invoices[sub["latest_invoice"]]
    assert invoice["total"] == 20000  # 100.00 onboarding + 100.00 plan
    note = acct.issue_credit_note(invoice, 15000, on(1, 5), reason="product_unsatisfactory")
    # 150.00 over the lines in order: all 100.00 of the onboarding line, 50.00 of the plan's.
    assert [line["amount"] for line in note["lines"]["data"]] == [10000, 5000]
    assert (note["type"], note["pre_payment_amount"], note["post_payment_amount"]) == (
        "post_payment", 0, 15000,
    )  # fmt: skip
    assert [r["amount_refunded"] for r in note["refunds"]] == [15000]
    assert note["out_of_band_amount"] is None
    assert invoice["post_payment_credit_notes_amount"] == 15000
    assert invoice["pre_payment_credit_notes_amount"] == 0
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 20000)  # paid stays paid
    assert event_types(acct)[-2:] == ["credit_note.created", "invoice.updated"]
    # 50.00 is left to credit: 60.00 is refused, and the plan's line is credited last.
    with pytest.raises(ValueError, match="only 5000 left"):
        acct.issue_credit_note(invoice, 6000, on(1, 6))
    second = acct.issue_credit_note(invoice, 5000, on(1, 6), refund=False)
    assert (second["number"][-6:], second["out_of_band_amount"], second["refunds"]) == (
        "-CN-02", 5000, [],
    )  # fmt: skip


def test_a_credit_note_on_an_open_invoice_lowers_what_is_owed_first() -> None:
    acct = BillingAccount(on(1, 1, 0), seed=4)
    bob = acct.create_customer("Bob", "bob@example.com", on(1, 1))
    plan = acct.create_price(10000, "month", product="Pro", at=on(1, 1))
    sub = acct.subscribe(bob, [(plan, 1)], on(1, 1), collection_method="send_invoice")
    invoice = acct.invoices[sub["latest_invoice"]]
    assert (invoice["status"], invoice["amount_remaining"]) == ("open", 10000)
    note = acct.issue_credit_note(invoice, 4000, on(1, 2))
    # 40.00 of the 100.00 still owed: all of it pre-payment, 60.00 left to pay.
    assert (note["type"], note["pre_payment_amount"], note["post_payment_amount"]) == (
        "pre_payment", 4000, 0,
    )  # fmt: skip
    assert (invoice["amount_due"], invoice["amount_remaining"]) == (6000, 6000)
    assert invoice["pre_payment_credit_notes_amount"] == 4000
    acct.issue_credit_note(invoice, 6000, on(1, 3))  # the rest: nothing owed, so paid
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 0)


# -- deleted customers ------------------------------------------------------------------------


def test_deleting_a_customer_cancels_their_subscriptions_and_leaves_a_stub() -> None:
    acct, ada, sub = account()
    acct.add_invoice_item(ada, 2500, on(2, 1), description="Never invoiced")
    stub = acct.delete_customer(ada, on(2, 10))
    assert stub == {"id": ada["id"], "object": "customer", "deleted": True}
    ended = acct.subscriptions[sub["id"]]
    assert (ended["status"], ended["ended_at"]) == ("canceled", int(on(2, 10).timestamp()))
    assert ended["cancellation_details"]["reason"] == "cancellation_requested"
    assert event_types(acct)[-3:] == [
        "customer.subscription.deleted", "invoiceitem.deleted", "customer.deleted",
    ]  # fmt: skip
    deleted_event = acct.log.events[-1]
    assert deleted_event["data"]["object"]["name"] == "Ada"  # the whole customer, as it was
    assert acct.snapshot().objects["customers"][ada["id"]] == stub
    assert acct.customers[ada["id"]]["name"] == "Ada"  # the engine still knows them
    with pytest.raises(ValueError, match="is deleted"):
        acct.subscribe(ada, [(sub["items"]["data"][0]["price"], 1)], on(2, 11))
    acct.advance(on(4, 1))
    assert len([i for i in acct.invoices.values() if i["customer"] == ada["id"]]) == 2


# -- the server -------------------------------------------------------------------------------


def get(server: SimulatorServer, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return requests.get(server.url + path, headers=headers, params=params, timeout=10).json()


def test_the_server_shows_credit_notes_invoice_items_and_deleted_customers() -> None:
    acct, ada, sub = account()
    invoice = acct.invoices[sub["latest_invoice"]]
    first = acct.issue_credit_note(invoice, 2000, on(1, 5))
    second = acct.issue_credit_note(invoice, 3000, on(1, 6))
    eve = acct.create_customer("Eve", "eve@example.com", on(1, 7))
    setup = acct.add_invoice_item(eve, 50000, on(1, 7), description="Setup fee")
    acct.delete_customer(ada, on(1, 8))
    with SimulatorServer(acct.snapshot()) as server:
        page = get(server, "/v1/credit_notes", limit=1)
        assert ([n["id"] for n in page["data"]], page["has_more"]) == ([second["id"]], True)
        after = get(server, "/v1/credit_notes", starting_after=second["id"])
        assert [n["id"] for n in after["data"]] == [first["id"]]
        assert len(get(server, "/v1/credit_notes", invoice=invoice["id"])["data"]) == 2
        shown = get(server, f"/v1/credit_notes/{first['id']}")
        assert (shown["amount"], shown["lines"]["total_count"]) == (2000, 1)
        lines = get(server, f"/v1/credit_notes/{first['id']}/lines")["data"]
        assert [line["object"] for line in lines] == ["credit_note_line_item"]
        # The onboarding fee was invoiced; Eve's setup fee waits (ids: newest first).
        pending = get(server, "/v1/invoiceitems", pending="true")["data"]
        assert [ii["id"] for ii in pending] == [setup["id"]]
        taken = get(server, "/v1/invoiceitems", pending="false")["data"]
        assert [ii["invoice"] for ii in taken] == [invoice["id"]]
        assert len(get(server, "/v1/invoiceitems", customer=eve["id"])["data"]) == 1
        listed = [c["id"] for c in get(server, "/v1/customers")["data"]]
        assert listed == [eve["id"]]
        assert get(server, f"/v1/customers/{ada['id']}") == {
            "id": ada["id"], "object": "customer", "deleted": True,
        }  # fmt: skip
        assert [i["id"] for i in get(server, "/v1/invoices", customer=ada["id"])["data"]] == [
            invoice["id"]
        ]
