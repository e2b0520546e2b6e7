"""Properties that hold for every history: random scripts billed by the simulator.

- every day, MRR_end − MRR_start = net new MRR + fx, and paying customers change by
  new + reactivated − churned (METRICS.md §2);
- the order rows arrive in, and how they were split across syncs, change nothing;
- recomputing some customers and swapping them in equals computing everything;
- at the end of checkpoint days, each customer's MRR rebuilt from invoices equals the MRR computed
  from the subscriptions as they were that day (an oracle that never reads an invoice).
"""

from __future__ import annotations

import random
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stripe_kpi.metrics import compute, compute_customers, inputs_from_rows
from stripe_kpi.metrics.computation import Computed
from tests.metrics_scripts import DAYS, START, eur_rates, play, scripts

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compute(rows: dict, as_of) -> Computed:
    return compute(inputs_from_rows(rows), currency="usd", tz="UTC", as_of=as_of, rate=eur_rates)


def check_identities(computed: Computed) -> None:
    ledger = computed.ledger
    first = computed.first_day
    if first is None:
        assert not any(r.movements for r in computed.customers.values())
        return
    counts: dict[int, int] = {}
    for result in computed.customers.values():
        for m in result.movements:
            assert m.amount == m.mrr_after - m.mrr_before
            assert m.amount != 0
            if m.type in ("new", "reactivation"):
                assert m.mrr_before == 0 < m.mrr_after
                counts[m.day] = counts.get(m.day, 0) + 1
            elif m.type == "churn":
                assert m.mrr_before > 0 == m.mrr_after
                assert m.churn_reason in ("voluntary", "involuntary")
                counts[m.day] = counts.get(m.day, 0) - 1
            elif m.type == "expansion":
                assert m.mrr_before > 0
                assert m.amount > 0
            elif m.type == "contraction":
                assert m.mrr_after > 0 > m.amount
    for day in range(first.toordinal(), computed.last_day.toordinal() + 1):
        delta = ledger.level("mrr", day) - ledger.level("mrr", day - 1)
        moved = sum(
            ledger.flow(name, day, day)
            for name in ("new", "expansion", "contraction", "churn", "reactivation", "fx")
        )
        assert delta == moved, date.fromordinal(day)
        customers = ledger.level("customers", day) - ledger.level("customers", day - 1)
        assert customers == counts.get(day, 0), date.fromordinal(day)
    total = sum(r.mrr[-1][1] for r in computed.customers.values() if r.mrr)
    assert total == ledger.level("mrr", computed.last_day.toordinal())


@FAST
@given(scripts())
def test_identities_hold_every_day(script) -> None:
    played = play(script)
    check_identities(_compute(played.rows, played.as_of))


@FAST
@given(scripts(max_customers=3), st.randoms(use_true_random=False))
def test_row_order_and_sync_split_change_nothing(script, rnd: random.Random) -> None:
    played = play(script)
    reference = _compute(played.rows, played.as_of)
    shuffled = {table: rnd.sample(rows, len(rows)) for table, rows in played.rows.items()}
    assert _compute(shuffled, played.as_of).customers == reference.customers
    # Two syncs: each row stored by one or both of them; the union is the same database.
    first: dict[str, list] = {}
    second: dict[str, list] = {}
    for table, rows in played.rows.items():
        for row in rows:
            where = rnd.choice(((first,), (second,), (first, second)))
            for part in where:
                part.setdefault(table, []).append(dict(row))
    union = {t: first.get(t, []) + second.get(t, []) for t in played.rows}
    assert _compute(union, played.as_of).customers == reference.customers


@FAST
@given(scripts(), st.randoms(use_true_random=False))
def test_recomputing_some_customers_equals_computing_all(script, rnd: random.Random) -> None:
    played = play(script)
    history = inputs_from_rows(played.rows)
    full = compute(history, currency="usd", tz="UTC", as_of=played.as_of, rate=eur_rates)
    touched = [c for c in sorted(full.customers) if rnd.random() < 0.5]
    stale = full.with_customers({}, removed=touched)
    fresh = compute_customers(history, currency="usd", tz="UTC", as_of=played.as_of,
                              rate=eur_rates, customer_ids=touched)  # fmt: skip
    swapped = stale.with_customers(fresh)
    assert swapped.customers == full.customers
    for day in range(START.date().toordinal(), full.last_day.toordinal() + 1, 7):
        for column in ("mrr", "customers", "mrr_at_risk"):
            assert swapped.ledger.level(column, day) == full.ledger.level(column, day)


CHECKPOINTS = tuple(range(5, DAYS, 9))


def _day_end_mrr(computed: Computed, day: date) -> dict[str, int]:
    found = {}
    for customer, result in computed.customers.items():
        value = 0
        for step_day, mrr in result.mrr:
            if step_day > day.toordinal():
                break
            value = mrr
        if value:
            found[customer] = value
    return found


def _unexplained(rows: dict) -> set[str]:
    """Customers with a subscription whose items now differ from what it was last billed for,
    with no kept event to date the change (a change whose prorations were never invoiced, say)."""
    last: dict[str, tuple] = {}
    for line in rows.get("invoice_line", []):
        if line["parent_type"] == "subscription_item_details" and not line["proration"]:
            item = line["subscription_item_id"]
            if item not in last or last[item][0] < line["period_start"]:
                last[item] = (line["period_start"], line["price_id"], line["quantity"])
    # A pending proration (no invoice has taken it yet) dates the change as its line will.
    for ii in sorted(rows.get("pending_invoice_item", []), key=lambda r: r["period_start"]):
        item = ii["subscription_item_id"]
        debit = ii["proration"] and ii["invoice_id"] is None and ii["amount"] >= 0
        if debit and item in last and last[item][0] < ii["period_start"]:
            last[item] = (ii["period_start"], ii["price_id"], ii["quantity"])
    owners = {s["id"]: s["customer_id"] for s in rows["subscription"]}
    found = set()
    for item in rows.get("subscription_item", []):
        billed = last.get(item["id"])
        if billed and billed[1:] != (item["price_id"], item["quantity"]):
            found.add(owners[item["subscription_id"]])
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(prorate_only=True))
def test_history_matches_the_state_at_each_checkpoint_with_every_event(script) -> None:
    played = play(script, CHECKPOINTS, every_event=True)
    computed = _compute(played.rows, played.as_of)
    for day, expected in played.oracle.items():
        assert _day_end_mrr(computed, day) == expected, day


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(prorate_only=True))
def test_history_from_invoices_matches_the_state_at_each_checkpoint(script) -> None:
    # Events of the last 30 days only: the past comes from invoices alone.
    played = play(script, CHECKPOINTS)
    computed = _compute(played.rows, played.as_of)
    # Gaps no invoice fills (documented readings, tested apart): a change that nothing billed
    # since, once its event is dropped. A change whose prorations are still pending is dated by
    # them (the pending invoice items), so it is no gap. A discount a schedule's phase took off
    # is dated by the stored phase, so it is no gap either.
    unknown = _unexplained(played.rows)
    for day, expected in played.oracle.items():
        found = _day_end_mrr(computed, day)
        for customer in unknown:
            found.pop(customer, None)
            expected.pop(customer, None)
        assert found == expected, day
