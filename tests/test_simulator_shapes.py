"""Every object the simulator emits has the shape of the pinned API version.

The reference is the type annotations of the installed ``stripe`` package (generated from
Stripe's OpenAPI spec for ``stripe._api_version._ApiVersion.CURRENT``). The simulator writes its
objects by hand, so this test can fail: the negative tests below prove the checker notices a
misspelled field, a wrong type and a missing required field.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from stripe._customer import Customer
from stripe._event import Event
from stripe._invoice import Invoice
from stripe._price import Price
from stripe._subscription import Subscription

from stripe_kpi.simulator.billing import BillingAccount, DunningPolicy, Phase
from stripe_kpi.simulator.data import LIST_KINDS, StripeData
from stripe_kpi.simulator.objects import API_VERSION
from stripe_kpi.simulator.objects.omitted import OMITTED_WHEN_UNSET
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server.lists import render
from tests.stripe_shape import absent_when_unset, check_shape, class_for_object

#: Optional fields Stripe leaves out unless asked for (``expand[]``/includable), and
#: ``previous_attributes``, present only on ``*.updated`` events.
ABSENT_AS_IN_STRIPE = {
    ("Customer", "cash_balance"),
    ("Customer", "invoice_credit_balance"),
    ("Customer", "sources"),
    ("Customer", "subscriptions"),
    ("Customer", "tax"),
    ("Customer", "tax_ids"),
    ("Invoice", "payments"),
    ("Data", "previous_attributes"),
}
#: What the server withholds from what the engine stores (``server.expand.INCLUDABLE``).
WITHHELD_BY_THE_SERVER = {
    ("Price", "tiers"),
    ("Price", "currency_options"),
    ("Plan", "tiers"),
    ("Coupon", "applies_to"),
    ("Coupon", "currency_options"),
    ("Invoice", "confirmation_secret"),
}
#: What the server leaves out where it is unset (``simulator/objects/omitted.py``).
OMITTED_BY_THE_SERVER = absent_when_unset(OMITTED_WHEN_UNSET)

#: Every kind of object the simulator produces, embedded ones included.
KINDS = {
    "account",
    "customer",
    "product",
    "price",
    "plan",
    "coupon",
    "discount",
    "tax_rate",
    "subscription",
    "subscription_item",
    "subscription_schedule",
    "invoice",
    "line_item",
    "invoiceitem",
    "dispute",
    "credit_note",
    "credit_note_line_item",
    "event",
    "list",
}
#: Kinds the generated demo account may lack when its random streams drew none.
RANDOM_KINDS = {"dispute", "credit_note", "credit_note_line_item", "subscription_schedule"}


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def scripted_account() -> StripeData:
    """One account that goes through every state the engine models, every event kept."""
    acct = BillingAccount(on(2026, 1, 1), seed=9, dunning=DunningPolicy(subscription_end="unpaid"))
    ada = acct.create_customer("Ada", "ada@example.com", country="GB")
    kenji = acct.create_customer("Kenji", "kenji@example.com", country="JP")
    emile = acct.create_customer("Émile", "emile@example.com", country="FR")
    seats = acct.create_price(1000, "month", product="Seats", tax_behavior="exclusive")
    yearly = acct.create_price(10000, "year", product="Seats")
    calls = acct.create_price(
        product="API",
        usage_type="metered",
        billing_scheme="tiered",
        tiers=[(10, 0, None), (None, 5, 100)],
    )
    yen = acct.create_price(12000, "year", currency="jpy", product="Pro")
    euro = acct.create_price(8900, "month", currency="eur", product="Pro", tax_behavior="inclusive")
    vat = acct.create_tax_rate(20, country="GB")
    mwst = acct.create_tax_rate(19, inclusive=True, display_name="MwSt.", country="DE")
    launch = acct.create_coupon(percent_off=25, duration="repeating", duration_in_months=2)
    save = acct.create_coupon(amount_off=500, duration="forever")
    acct.add_invoice_item(ada, 25000, description="Setup fee", currency="usd")
    sub = acct.subscribe(
        ada, [(seats, 5), (calls, None)], trial_days=7, coupon=launch, tax_rates=[vat]
    )
    jp = acct.subscribe(kenji, [(yen, 1)], on(2026, 1, 2), collection_method="send_invoice")
    eu = acct.subscribe(emile, [(euro, 1)], on(2026, 1, 3), tax_rates=[mwst])
    acct.add_invoice_item(emile, 4900, on(2026, 1, 5), description="Training", invoice_now=True)
    dunned = acct.subscribe(ada, [(seats, 2)], on(2026, 1, 6), coupon=save)
    acct.fail_payments(dunned, on(2026, 2, 1))
    grace = acct.create_customer("Grace", "grace@example.com", on(2026, 1, 7))
    switching = acct.subscribe(grace, [(seats, 3)], on(2026, 1, 7))
    hedy = acct.create_customer("Hedy", "hedy@example.com", on(2026, 1, 8))
    forgiven = acct.subscribe(hedy, [(seats, 1)], on(2026, 1, 8))
    acct.fail_payments(forgiven, on(2026, 2, 1))
    # Two trials without a payment method that pause at their end; one resumes.
    linus = acct.create_customer("Linus", "linus@example.com", on(2026, 1, 9), payment_method=False)
    radia = acct.create_customer("Radia", "radia@example.com", on(2026, 1, 9), payment_method=False)
    for cardless in (linus, radia):
        acct.subscribe(cardless, [(seats, 1)], trial_days=14, trial_end_behavior="pause")
    acct.report_usage(sub, sub["items"]["data"][1], 40, on(2026, 1, 20))
    acct.change(sub, on(2026, 1, 20), quantity=8, item=sub["items"]["data"][0])
    acct.advance(on(2026, 2, 9))
    acct.void_invoice(acct.invoices[forgiven["latest_invoice"]])
    acct.add_payment_method(radia, on(2026, 2, 10))
    acct.resume(next(s for s in acct.subscriptions.values() if s["customer"] == radia["id"]))
    acct.advance(on(2026, 3, 10))
    acct.change(switching, on(2026, 3, 11), price=yearly, proration_behavior="always_invoice")
    acct.dispute(acct.invoices[eu["latest_invoice"]], on(2026, 3, 12))
    acct.cancel(jp, on(2026, 3, 13), at_period_end=True, feedback="unused", comment="No need")
    acct.issue_credit_note(acct.invoices[switching["latest_invoice"]], 2000, on(2026, 3, 14),
                           reason="order_change")  # fmt: skip
    acct.add_invoice_item(grace, 30000, on(2026, 3, 15), description="Consulting")
    consulting = acct.create_invoice(grace, on(2026, 3, 15))
    acct.issue_credit_note(consulting, 5000, on(2026, 3, 16), refund=False)
    acct.delete_customer(hedy, on(2026, 3, 20))
    # Schedules: one completes (canceling its subscription), one stays active with a phase to
    # come (its phase items, discounts and current phase all shown).
    ida = acct.create_customer("Ida", "ida@example.com", on(2026, 3, 21))
    scheduled = acct.subscribe(ida, [(seats, 2)], on(2026, 3, 21))
    upgrade = [Phase(on(2026, 3, 24), [(seats, 4)]), Phase(on(2026, 3, 26), [(seats, 6)])]
    acct.create_schedule(scheduled, upgrade, end=on(2026, 3, 28), end_behavior="cancel")
    later = [Phase(on(2026, 4, 15), [(seats, 1)], coupon=save)]
    acct.create_schedule(switching, later, end=on(2026, 6, 1))
    acct.advance(on(2026, 3, 31))
    data = acct.snapshot()
    data.objects["events"] = {e["id"]: e for e in acct.log.events}  # all of them, not 30 days
    return data


def generated_account() -> StripeData:
    acct = generate_account(21, 120, on(2025, 1, 1), on(2026, 1, 1), record_all_events=True)
    data = acct.snapshot()
    data.objects["events"] = {e["id"]: e for e in acct.log.events}
    return data


def conformance_errors(data: StripeData) -> list[str]:
    every = [data.account, *(o for objs in data.objects.values() for o in objs.values())]
    return shape_errors(every, ABSENT_AS_IN_STRIPE)


def shape_errors(
    objects: Iterable[dict],
    may_be_absent: set[tuple[str, str]],
    omitted: dict[str, tuple[str, ...]] | None = None,
) -> list[str]:
    errors = []
    for obj in objects:
        if obj.get("deleted"):  # a deleted customer: the stub Stripe returns, nothing else
            if set(obj) != {"id", "object", "deleted"}:
                errors.append(f"{obj['id']}: a deleted object shows only id, object, deleted")
            continue
        cls = class_for_object(obj["object"])
        assert cls is not None, obj["object"]
        for error in check_shape(obj, cls, obj["id"], require_optional=True, omitted=omitted):
            where, _, what = error.partition(": ")
            absent = what.startswith("absent optional field of ")
            if absent and (what.rsplit(" ", 1)[1], where.rsplit(".", 1)[1]) in may_be_absent:
                continue
            errors.append(error)
    return errors


def served(data: StripeData) -> list[dict]:
    """Every listable object and the account as the server shows them by default: lines and
    items cut at 10, includable fields withheld, keys omitted when unset left out."""
    listed = [render(kind, obj) for kind in LIST_KINDS for obj in data.objects[kind].values()]
    return [render("account", data.account), *listed]


def object_kinds(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("object"), str):
            yield value["object"]
        for item in value.values():
            yield from object_kinds(item)
    elif isinstance(value, list):
        for item in value:
            yield from object_kinds(item)


@pytest.fixture(scope="module", params=["scripted", "generated"])
def account(request: pytest.FixtureRequest) -> StripeData:
    return scripted_account() if request.param == "scripted" else generated_account()


def test_every_object_conforms_to_the_pinned_version(account: StripeData) -> None:
    assert conformance_errors(account) == []


def test_what_the_server_shows_conforms_too(account: StripeData) -> None:
    """The server's view leaves out the includable fields and the keys Stripe omits when unset
    (an absent key, never a ``null``) and cuts sub-lists at 10; none of it breaks the shape."""
    allowed = ABSENT_AS_IN_STRIPE | WITHHELD_BY_THE_SERVER | OMITTED_BY_THE_SERVER
    assert shape_errors(served(account), allowed, OMITTED_WHEN_UNSET) == []
    prices = [render("prices", p) for p in account.objects["prices"].values()]
    assert prices
    assert all("tiers" not in p and "currency_options" not in p for p in prices)


def test_every_kind_is_covered(account: StripeData) -> None:
    kinds = set(object_kinds([account.account, account.objects]))
    assert KINDS - RANDOM_KINDS <= kinds <= KINDS


def test_the_scripted_account_reaches_every_state() -> None:
    data = scripted_account()
    kinds = set(object_kinds([data.account, data.objects]))
    assert kinds == KINDS
    subs = data.objects["subscriptions"].values()
    assert {s["status"] for s in subs} == {"active", "canceled", "unpaid", "paused"}
    invoices = data.objects["invoices"].values()
    assert {i["status"] for i in invoices} >= {"paid", "uncollectible", "draft", "void"}
    events = {e["type"] for e in data.objects["events"].values()}
    assert events >= {
        "customer.created",
        "customer.updated",
        "product.created",
        "product.updated",
        "price.created",
        "coupon.created",
        "tax_rate.created",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.discount.created",
        "customer.discount.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.marked_uncollectible",
        "invoice.voided",
        "invoice.updated",
        "invoiceitem.created",
        "charge.dispute.created",
        "credit_note.created",
        "customer.deleted",
        "subscription_schedule.created",
        "subscription_schedule.updated",
        "subscription_schedule.completed",
    }
    assert {e["api_version"] for e in data.objects["events"].values()} == {API_VERSION}


# -- the checker catches what it must ---------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> StripeData:
    acct = BillingAccount(on(2026, 1, 1), seed=1)
    customer = acct.create_customer("Ada", "ada@example.com")
    price = acct.create_price(1000, "month", product="Seats")
    acct.subscribe(customer, [(price, 2)])
    return acct.snapshot()


def first(data: StripeData, kind: str) -> dict:
    return copy.deepcopy(next(iter(data.objects[kind].values())))


def test_the_sample_is_clean(sample: StripeData) -> None:
    for kind, cls in [("subscriptions", Subscription), ("invoices", Invoice), ("prices", Price)]:
        assert check_shape(first(sample, kind), cls) == []


def test_a_misspelled_field_is_caught(sample: StripeData) -> None:
    sub = first(sample, "subscriptions")
    sub["cancel_at_period_ends"] = sub.pop("cancel_at_period_end")
    assert check_shape(sub, Subscription) == [
        "cancel_at_period_ends: unknown field for Subscription",
        "cancel_at_period_end: missing required field of Subscription",
    ]


def test_a_wrong_type_is_caught(sample: StripeData) -> None:
    invoice = first(sample, "invoices")
    invoice["total"] = "5000"
    invoice["attempted"] = 1
    invoice["lines"]["data"][0]["period"]["start"] = True  # a bool is not an int
    assert check_shape(invoice, Invoice) == [
        "attempted: expected bool, got int",
        "lines.data[0].period.start: expected int, got bool",
        "total: expected int, got str",
    ]


def test_a_missing_required_field_is_caught(sample: StripeData) -> None:
    sub = first(sample, "subscriptions")
    del sub["items"]["data"][0]["current_period_end"]
    del sub["status"]
    assert check_shape(sub, Subscription) == [
        "items.data[0].current_period_end: missing required field of SubscriptionItem",
        "status: missing required field of Subscription",
    ]


def test_optional_fields_must_be_present_when_asked(sample: StripeData) -> None:
    customer = first(sample, "customers")
    del customer["email"]
    assert check_shape(customer, Customer) == []
    assert "email: absent optional field of Customer" in check_shape(
        customer, Customer, require_optional=True
    )


def test_literals_decimals_lists_and_expandables(sample: StripeData) -> None:
    price = first(sample, "prices")
    price["unit_amount_decimal"] = 1000  # Stripe sends decimals as strings
    price["recurring"]["interval"] = 7
    assert check_shape(price, Price) == [
        "recurring.interval: 7 is not one of ['day', 'month', 'week', 'year']",
        "unit_amount_decimal: expected decimal string, got int",
    ]
    invoice = first(sample, "invoices")
    invoice["lines"]["object"] = "lists"
    invoice["customer"] = first(sample, "customers")  # an expanded customer is fine
    assert check_shape(invoice, Invoice) == ["lines.object: expected 'list', got 'lists'"]
    invoice["lines"]["object"] = "list"
    invoice["customer"]["balance"] = "0"  # ...but it is checked as a customer
    assert check_shape(invoice, Invoice) == ["customer.balance: expected int, got str"]


def test_an_event_payload_is_checked_as_its_object(sample: StripeData) -> None:
    event = next(
        copy.deepcopy(e) for e in sample.objects["events"].values() if e["type"] == "invoice.paid"
    )
    assert check_shape(event, Event) == []
    del event["data"]["object"]["total"]
    assert check_shape(event, Event) == ["data.object.total: missing required field of Invoice"]
    event["type"] = "invoice.payed"
    assert check_shape(event, Event)[0].startswith("type: 'invoice.payed' is not one of")


def test_an_embedded_list_may_say_its_total_count(sample: StripeData) -> None:
    invoice = render("invoices", first(sample, "invoices"))
    assert invoice["lines"]["total_count"] == 1
    assert check_shape(invoice, Invoice) == []
    invoice["lines"]["total_count"] = "1"
    assert check_shape(invoice, Invoice) == ["lines.total_count: expected int, got str"]


def test_a_null_where_stripe_omits_the_key_is_caught(sample: StripeData) -> None:
    """Served objects leave those keys out; sending one as ``null`` is an error, in embedded
    objects too (an item by its own kind's entry, an event's payload by the payload's)."""
    sub = render("subscriptions", first(sample, "subscriptions"))
    assert check_shape(sub, Subscription, omitted=OMITTED_WHEN_UNSET) == []
    sub["presentment_details"] = None
    sub["invoice_settings"]["issuer"] = {"account": None, "type": "self"}
    sub["items"]["data"][0]["billed_until"] = None
    assert check_shape(sub, Subscription, omitted=OMITTED_WHEN_UNSET) == [
        "invoice_settings.issuer.account: null where Stripe omits the key of subscription",
        "presentment_details: null where Stripe omits the key of subscription",
        "items.data[0].billed_until: null where Stripe omits the key of subscription_item",
    ]
    event = next(e for e in sample.objects["events"].values() if e["type"] == "invoice.paid")
    shown = render("events", event)
    assert check_shape(shown, Event, omitted=OMITTED_WHEN_UNSET) == []
    stored = check_shape(event, Event, omitted=OMITTED_WHEN_UNSET)  # the engine's own nulls
    assert "context: null where Stripe omits the key of event" in stored
    assert "data.object.threshold_reason: null where Stripe omits the key of invoice" in stored
