"""Subscription schedules in the billing engine and on the simulated server.

Every amount is worked out by hand beside it. A $30/month subscription from 1 Mar 2026 renews
on the 1st; April has 30 days, so a change on 16 Apr leaves 15 of 30 days: half a month.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import stripe

from stripe_kpi.simulator.billing import BillingAccount, DunningPolicy, Phase
from stripe_kpi.simulator.clock import to_unix
from stripe_kpi.simulator.objects.omitted import OMITTED_WHEN_UNSET
from stripe_kpi.simulator.server import SimulatorServer
from tests.stripe_shape import check_served, class_for_object


def on(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def thirty_a_month(**account: object) -> tuple[BillingAccount, dict, dict[str, dict]]:
    acct = BillingAccount(on(3, 1), seed=5, **account)  # type: ignore[arg-type]
    customer = acct.create_customer("Ada", "ada@example.com")
    prices = {
        "basic": acct.create_price(3000, product="Basic"),
        "pro": acct.create_price(5000, product="Pro"),
        "yearly": acct.create_price(30000, "year", product="Pro"),
    }
    sub = acct.subscribe(customer, [(prices["basic"], 1)], on(3, 1))
    return acct, sub, prices


def bills(acct: BillingAccount) -> list[tuple[str, str | None, int, list[int]]]:
    """Each invoice: its day, billing reason, total and line amounts."""
    return [
        (
            datetime.fromtimestamp(i["created"], UTC).strftime("%m-%d"),
            i["billing_reason"],
            i["total"],
            [line["amount"] for line in i["lines"]["data"]],
        )
        for i in acct.invoices.values()
    ]


def schedule_events(acct: BillingAccount) -> list[str]:
    return [e["type"] for e in acct.log.events if e["type"].startswith("subscription_schedule.")]


def test_an_upgrade_scheduled_at_renewal_bills_the_new_price_from_that_renewal() -> None:
    acct, sub, prices = thirty_a_month()
    sched = acct.create_schedule(
        sub, [Phase(on(5, 1), [(prices["pro"], 1)])], end=on(8, 1), at=on(3, 10)
    )
    assert sub["schedule"] == sched["id"]
    assert sched["status"] == "active"
    assert [(p["start_date"], p["end_date"]) for p in sched["phases"]] == [
        (to_unix(on(3, 1)), to_unix(on(5, 1))),  # the subscription as it is, from its period
        (to_unix(on(5, 1)), to_unix(on(8, 1))),
    ]
    assert [i["price"] for p in sched["phases"] for i in p["items"]] == [
        prices["basic"]["id"],
        prices["pro"]["id"],
    ]
    acct.advance(on(4, 30))
    assert sub["items"]["data"][0]["price"]["id"] == prices["basic"]["id"]  # not started yet
    acct.advance(on(5, 2))
    # The phase starts on the renewal: nothing to prorate, the renewal bills $50.
    assert bills(acct) == [
        ("03-01", "subscription_create", 3000, [3000]),
        ("04-01", "subscription_cycle", 3000, [3000]),
        ("05-01", "subscription_cycle", 5000, [5000]),
    ]
    assert sched["current_phase"] == {
        "start_date": to_unix(on(5, 1)),
        "end_date": to_unix(on(8, 1)),
    }
    acct.advance(on(9, 1))
    # end_behavior release (the default): the subscription runs on by itself.
    assert sched["status"] == "released"
    assert sched["released_at"] == to_unix(on(8, 1))
    assert (sched["subscription"], sched["released_subscription"]) == (None, sub["id"])
    assert sub["schedule"] is None
    assert sub["status"] == "active"
    assert bills(acct)[-1] == ("09-01", "subscription_cycle", 5000, [5000])
    assert schedule_events(acct) == [
        "subscription_schedule.created",
        "subscription_schedule.updated",
        "subscription_schedule.released",
    ]


def test_end_behavior_cancel_ends_the_subscription_when_the_last_phase_ends() -> None:
    acct, sub, prices = thirty_a_month()
    sched = acct.create_schedule(
        sub,
        [Phase(on(5, 1), [(prices["pro"], 1)])],
        end=on(8, 1),
        end_behavior="cancel",
        at=on(3, 10),
    )
    acct.advance(on(5, 1))
    assert sub["cancel_at"] == to_unix(on(8, 1))  # set once the last phase runs
    acct.advance(on(9, 1))
    assert (sub["status"], sub["ended_at"]) == ("canceled", to_unix(on(8, 1)))
    assert sub["cancellation_details"]["reason"] == "cancellation_requested"
    assert (sched["status"], sched["completed_at"]) == ("completed", to_unix(on(8, 1)))
    # No renewal on 1 Aug: the last invoice is July's $50.
    assert bills(acct)[-1] == ("07-01", "subscription_cycle", 5000, [5000])
    assert schedule_events(acct)[-1] == "subscription_schedule.completed"


def test_a_phase_mid_period_prorates_by_default() -> None:
    acct, sub, prices = thirty_a_month()
    acct.create_schedule(sub, [Phase(on(4, 16), [(prices["pro"], 1)])], end=on(9, 1), at=on(4, 2))
    old_item = sub["items"]["data"][0]["id"]
    acct.advance(on(5, 2))
    (item,) = sub["items"]["data"]
    assert item["id"] != old_item  # another price: a new subscription item
    assert item["created"] == to_unix(on(4, 16))
    # 16 Apr: credit −3000 × 15/30 = −1500, debit 5000 × 15/30 = 2500, pending until 1 May,
    # whose invoice adds May at $50: −1500 + 2500 + 5000 = 6000.
    assert bills(acct)[-1] == ("05-01", "subscription_cycle", 6000, [-1500, 2500, 5000])


def test_always_invoice_bills_the_phase_change_at_once() -> None:
    acct, sub, prices = thirty_a_month()
    phase = Phase(on(4, 16), [(prices["pro"], 1)], proration_behavior="always_invoice")
    acct.create_schedule(sub, [phase], end=on(9, 1), at=on(4, 2))
    acct.advance(on(4, 17))
    assert bills(acct)[-1] == ("04-16", "subscription_update", 1000, [-1500, 2500])


def test_no_proration_changes_the_quantity_and_keeps_the_item() -> None:
    acct, sub, prices = thirty_a_month()
    phase = Phase(on(4, 16), [(prices["basic"], 3)], proration_behavior="none")
    acct.create_schedule(sub, [phase], end=on(9, 1), at=on(4, 2))
    item = sub["items"]["data"][0]
    acct.advance(on(5, 2))
    assert sub["items"]["data"] == [item]
    assert item["quantity"] == 3
    # Nothing billed on 16 Apr; 1 May bills 3 × 3000.
    assert bills(acct)[-2:] == [
        ("04-01", "subscription_cycle", 3000, [3000]),
        ("05-01", "subscription_cycle", 9000, [9000]),
    ]


def test_a_phase_on_another_interval_resets_the_billing_cycle() -> None:
    acct, sub, prices = thirty_a_month()
    acct.create_schedule(
        sub, [Phase(on(4, 16), [(prices["yearly"], 1)])], end=on(12, 31), at=on(4, 2)
    )
    acct.advance(on(5, 2))
    # 16 Apr: the unused half of April credited (−1500), a year billed at once (30000).
    assert bills(acct)[-1] == ("04-16", "subscription_update", 28500, [-1500, 30000])
    assert sub["billing_cycle_anchor"] == to_unix(on(4, 16))
    assert sub["items"]["data"][0]["current_period_end"] == to_unix(on(4, 16, 2027))


def test_three_phase_intro_pricing_with_coupons() -> None:
    acct, sub, prices = thirty_a_month()
    half = acct.create_coupon(percent_off=50, duration="forever")
    acct.create_schedule(
        sub,
        [
            Phase(on(4, 1), [(prices["pro"], 1)], coupon=half),
            Phase(on(6, 1), [(prices["pro"], 1)]),
        ],
        end=on(9, 1),
        at=on(3, 2),
    )
    acct.advance(on(6, 2))
    # Mar $30, Apr–May $50 − 50 % = $25, Jun $50 (the phase without coupon drops it).
    assert [b[2] for b in bills(acct)] == [3000, 2500, 2500, 5000]
    assert sub["discounts"] == []


def test_a_phase_that_drops_the_coupon_is_one_update_showing_the_new_items() -> None:
    # Found by the property tests (tests/metrics_scripts.py): the phase's coupon change was
    # announced by an update of its own, at the same second, showing the old items without their
    # coupon; an event reader that takes same-second events in id order could end on it.
    acct, _, prices = thirty_a_month()
    twenty = acct.create_coupon(percent_off=20, duration="forever", at=on(3, 1))
    customer = acct.create_customer("Bo", None, on(3, 1))
    sub = acct.subscribe(customer, [(prices["basic"], 1)], on(3, 1), coupon=twenty)
    acct.create_schedule(sub, [Phase(on(3, 20), [(prices["pro"], 1)])], end=on(5, 1), at=on(3, 2))
    acct.advance(on(3, 21))
    at = to_unix(on(3, 20))
    updates = [
        e for e in acct.log.events
        if e["type"] == "customer.subscription.updated" and e["created"] == at
    ]  # fmt: skip
    assert len(updates) == 1
    shown = updates[0]["data"]["object"]
    assert [i["price"]["id"] for i in shown["items"]["data"]] == [prices["pro"]["id"]]
    assert shown["discounts"] == []
    assert set(updates[0]["data"]["previous_attributes"]) >= {"items", "discounts"}


def test_a_subscription_ended_by_dunning_cancels_its_schedule() -> None:
    acct, sub, prices = thirty_a_month(dunning=DunningPolicy())
    sched = acct.create_schedule(
        sub, [Phase(on(6, 1), [(prices["pro"], 1)])], end=on(9, 1), at=on(3, 2)
    )
    acct.fail_payments(sub, on(3, 20))
    acct.advance(on(6, 2))
    assert sub["status"] == "canceled"
    assert (sched["status"], sched["canceled_at"]) == ("canceled", sub["ended_at"])
    assert sub["items"]["data"][0]["price"]["id"] == prices["basic"]["id"]  # never upgraded


def test_cancel_and_release_by_the_merchant() -> None:
    acct, sub, prices = thirty_a_month()
    phases = [Phase(on(6, 1), [(prices["pro"], 1)])]
    sched = acct.create_schedule(sub, phases, end=on(9, 1), at=on(3, 2))
    acct.release_schedule(sched, on(4, 10))
    assert (sched["status"], sub["schedule"], sub["status"]) == ("released", None, "active")
    acct.advance(on(6, 2))
    assert sub["items"]["data"][0]["price"]["id"] == prices["basic"]["id"]  # released: no phase
    again = acct.create_schedule(sub, [Phase(on(7, 1), [(prices["pro"], 1)])], end=on(9, 1))
    acct.cancel_schedule(again, on(6, 10))
    assert (again["status"], sub["status"]) == ("canceled", "canceled")
    assert sub["ended_at"] == to_unix(on(6, 10))
    with pytest.raises(ValueError, match="nothing left to stop"):
        acct.cancel_schedule(again, on(6, 11))


def test_bad_phases_are_refused() -> None:
    acct, sub, prices = thirty_a_month()
    with pytest.raises(ValueError, match="at least one phase"):
        acct.create_schedule(sub, [], end=on(9, 1), at=on(3, 2))
    with pytest.raises(ValueError, match="in order"):
        acct.create_schedule(sub, [Phase(on(3, 1), [(prices["pro"], 1)])], end=on(9, 1))
    euro = acct.create_price(3000, currency="eur", product="Basic")
    with pytest.raises(ValueError, match="currency"):
        acct.create_schedule(sub, [Phase(on(5, 1), [(euro, 1)])], end=on(9, 1))


# -- on the server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatorServer, list[str], str, str]]:
    """Three customers with a schedule each (created 2, 3 and 4 Mar), one released since."""
    acct = BillingAccount(on(3, 1), seed=8)
    pro = acct.create_price(5000, product="Pro")
    basic = acct.create_price(3000, product="Basic")
    made, first_customer = [], ""
    for day in (2, 3, 4):
        customer = acct.create_customer(f"C{day}", None, on(3, day))
        first_customer = first_customer or customer["id"]
        sub = acct.subscribe(customer, [(basic, 1)], on(3, day))
        sched = acct.create_schedule(
            sub, [Phase(on(4, 20), [(pro, 2)])], end=on(6, 1), at=on(3, day)
        )
        made.append(sched["id"])
    acct.advance(on(4, 25))
    acct.release_schedule(made[2], on(4, 26))
    with SimulatorServer(acct.snapshot()) as server:
        yield server, made, first_customer, pro["id"]


def test_the_list_pages_newest_first_and_filters_by_customer(
    served: tuple[SimulatorServer, list[str], str, str],
) -> None:
    server, made, first_customer, pro = served
    client = stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )
    page = client.v1.subscription_schedules.list({"limit": 2})
    assert ([s.id for s in page.data], page.has_more) == ([made[2], made[1]], True)
    rest = client.v1.subscription_schedules.list({"limit": 2, "starting_after": made[1]})
    assert ([s.id for s in rest.data], rest.has_more) == ([made[0]], False)
    mine = client.v1.subscription_schedules.list({"customer": first_customer})
    assert [s.id for s in mine.data] == [made[0]]
    one = client.v1.subscription_schedules.retrieve(made[0])
    assert one.status == "active"
    assert [(i.price, i.quantity) for i in one.phases[1].items] == [(pro, 2)]
    assert client.v1.subscription_schedules.retrieve(made[2]).status == "released"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.list({"scheduled": True})  # unmodelled: refused


def test_schedules_have_the_pinned_shape(
    served: tuple[SimulatorServer, list[str], str, str],
) -> None:
    server, made, _, _ = served
    client = stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )
    for sched_id in made:
        shown = client.v1.subscription_schedules.retrieve(sched_id).to_dict()
        cls = class_for_object("subscription_schedule")
        assert check_served(shown, cls, sched_id, omitted=OMITTED_WHEN_UNSET) == []


def test_a_change_naming_an_item_a_phase_has_just_removed_is_refused() -> None:
    # $30/month from 1 Mar; a phase from 16 Apr 00:00 moves it to Pro (a new item: the price
    # changes). A request at 16 Apr 01:00 that names the Basic item finds the subscription as
    # the phase left it, and Stripe refuses an item that is no longer there. Before this, the
    # request was checked before the clock ran the phase, and billed a phantom Basic→Pro
    # change: prorations of an item the subscription no longer had.
    acct, sub, prices = thirty_a_month()
    basic = sub["items"]["data"][0]
    acct.create_schedule(sub, [Phase(on(4, 16), [(prices["pro"], 1)])], end=on(8, 1), at=on(3, 10))
    with pytest.raises(ValueError, match="is not an item of"):
        acct.change(sub, datetime(2026, 4, 16, 1, tzinfo=UTC), price=prices["pro"], item=basic)
    # Only the phase's own prorations: −$15 for half of April on Basic, +$25 on Pro.
    acct.advance(on(5, 2))
    assert bills(acct)[-1] == ("05-01", "subscription_cycle", 6000, [-1500, 2500, 5000])
