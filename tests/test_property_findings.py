"""The smallest scripts (``tests/metrics_scripts.py``) of the bugs the property tests found, each
with its figures worked out by hand, so that each stays fixed whatever Hypothesis draws next."""

from __future__ import annotations

from datetime import date

from stripe_kpi.metrics import inputs_from_rows
from stripe_kpi.metrics.reconcile import check_subscriptions
from tests.metrics_scripts import Action, eur_rates, play
from tests.test_metrics_properties import _compute, _day_end_mrr


def _subscribe(price: str, trial: int | None = None, coupon: str | None = None,
               more: str | None = None) -> Action:  # fmt: skip
    return Action(0, 1, 0, "subscribe", (price, 1, trial, coupon, more, None, "usd", None))


def _mrr_on(
    script: list[Action], day: date, *, every_event: bool, same_second: bool = False
) -> tuple[int, int]:
    """The account's MRR at the end of ``day``: the metrics', and the state oracle's."""
    played = play(
        script, ((day - date(2026, 1, 1)).days,), every_event=every_event, same_second=same_second
    )
    found = _day_end_mrr(_compute(played.rows, played.as_of), day)
    return sum(found.values()), sum(played.oracle[day].values())


def test_check_takes_a_kept_percentage_on_the_whole_line_once_the_one_before_it_is_gone() -> None:
    # $240 a year, 50 % off once then 20 % off forever: the first invoice bills
    # 24000 − 12000 − 2400 (20 % of what the 50 % left) = 9600. The MRR now counts the 20 % only:
    # 24000 × 0.8 / 12 = 1600; the invoice, read without the 50 %, states the same 1600 (its
    # 20 % taken on the whole 24000: 4800), not (24000 − 2400) / 12 = 1800.
    played = play([_subscribe("y240", coupon="once50", more="pct20")])
    history = inputs_from_rows(played.rows)
    [check] = check_subscriptions(history, currency="usd", as_of=played.as_of, rate=eur_rates)
    assert (check.outcome, check.metrics_mrr, check.invoiced_mrr) == ("reconciles", 1600, 1600)


def test_a_change_at_the_instant_of_a_renewal_applies_after_the_renewal() -> None:
    # $10/month with a 14-day trial from 1 Jan 01:07: paid from 15 Jan 01:07. Upgraded to $25
    # on 2 Jan (in trial: nothing to prorate), so 15 Jan and 15 Feb bill $25. On 15 Feb at
    # 01:07, the second of the renewal, it goes back to $10 with prorations of the whole new
    # period (−$25, +$10): from 15 Feb the MRR is 1000, not the renewal's 2500.
    script = [
        _subscribe("m10", trial=14),
        Action(1, 1, 0, "price", ("create_prorations",)),
        Action(45, 1, 0, "price", ("create_prorations",)),
    ]
    assert _mrr_on(script, date(2026, 2, 20), every_event=False, same_second=True) == (1000, 1000)


def test_a_repeating_discount_taken_off_before_its_end_stops_counting() -> None:
    # $10/month from 1 Jan with 20 % off forever and 25 % off for two months (to 1 Mar): 600.
    # On 2 Jan a schedule moves it on 3 Jan to $25 with no coupon: both discounts go, MRR 2500.
    # With the events kept, from 3 Jan; from the invoices alone too: the stored phase, which
    # carries no coupon, took the 25 % off at its start, though its window ran to 1 Mar (before
    # the phases dated it, only the 1 Feb renewal, billed $25 with no discount, did: 1875 on
    # 6 Jan). Before the phase, on 2 Jan: 1000 × 0.8 × 0.75 = 600.
    script = [
        _subscribe("m10", coupon="pct20", more="pct25x2"),
        Action(1, 1, 0, "schedule", (1, "price", 1, None, "create_prorations", 10, "release")),
    ]
    assert _mrr_on(script, date(2026, 1, 6), every_event=True) == (2500, 2500)
    assert _mrr_on(script, date(2026, 1, 2), every_event=False) == (600, 600)
    assert _mrr_on(script, date(2026, 1, 6), every_event=False) == (2500, 2500)
    assert _mrr_on(script, date(2026, 2, 2), every_event=False) == (2500, 2500)


def test_a_repeating_discount_that_ran_out_before_dunning_ended_the_subscription_still_counts():
    # $10/month, 14-day trial from 1 Jan, 25 % off for 2 months (to 1 Mar); at the trial's end
    # (15 Jan, a minute after its renewal) it moves to $25 with prorations; from 16 Jan every
    # payment fails and dunning cancels it on 2 Mar. On 15 Jan: 2500 × 0.75 = 1875. The
    # subscription, canceled, no longer lists the discount, and no line starts after 1 Mar:
    # it ran its course by the subscription's end all the same.
    script = [
        Action(0, 1, 0, "subscribe", ("m10", 1, 14, "pct25x2", None, None, "usd", None)),
        Action(14, 1, 0, "price", ("create_prorations",)),
        Action(15, 1, 0, "fail", (None,)),
    ]
    assert _mrr_on(script, date(2026, 1, 15), every_event=False) == (1875, 1875)


def test_a_pending_proration_takes_the_subscriptions_inclusive_tax() -> None:
    # $33.33/month tax inclusive (20 % VAT on the subscription) from 7 Apr (day 96), 14-day
    # trial; $10 from 22 Apr; renewals on the 21st at 01:07; $25 from 21 Jun 01:08, a minute
    # after that renewal: its prorations wait for the next invoice. On 26 Jun, net of the VAT:
    # 2500 / 1.2 = 2083.33 → 2083 (the pending item carries no tax yet; its invoice will).
    script = [
        Action(96, 1, 0, "subscribe", ("m33", 1, 14, None, None, None, "usd", None)),
        Action(111, 1, 0, "price", ("create_prorations",)),
        Action(171, 1, 0, "price", ("create_prorations",)),
    ]
    assert _mrr_on(script, date(2026, 6, 26), every_event=True) == (2083, 2083)


def test_a_discount_a_schedule_phase_drops_stops_at_the_phase_start_from_the_invoices_alone():
    # $10/month from 1 Jan 01:07 with 20 % off forever: the 1 Jan invoice bills 1000 − 200 = 800.
    # On 2 Jan a schedule's phase from 3 Jan keeps the price and quantity and has no coupon: the
    # discount goes on 3 Jan (nothing to prorate: no line dates it). On 6 Jan the MRR is 1000,
    # also once the events are gone (the stored phase dates it), not 800 until the 1 Feb
    # renewal; before the phase, on 2 Jan, still 800.
    script = [
        _subscribe("m10", coupon="pct20"),
        Action(1, 1, 0, "schedule", (1, "same", 1, None, "create_prorations", 10, "release")),
    ]
    assert _mrr_on(script, date(2026, 1, 6), every_event=False) == (1000, 1000)
    assert _mrr_on(script, date(2026, 1, 2), every_event=False) == (800, 800)
    assert _mrr_on(script, date(2026, 1, 6), every_event=True) == (1000, 1000)


def test_a_proration_whose_amount_carries_its_discount_keeps_the_discount_on_its_rate() -> None:
    # $10/month from 1 Jan 01:07 with 25 % off for two months (to 1 Mar): 750. On 2 Jan 01:08 a
    # change to the same quantity still prorates: −726 / +726 (1000 × 0.75 × 43199/44640 minutes
    # left of January's 44640 = 725.8), the 25 % inside the amounts (flexible billing mode,
    # proration_discounts=included), each listing the discount with an amount of 0. On 7 Jan it
    # switches to $240/year (24000 × 0.75 / 12 = 1500), so no renewal line restates the month
    # before the discount's end. On 6 Jan the MRR is 750, not 1000 (the proration's rate read
    # without its discount); on 10 Jan 1500.
    script = [
        _subscribe("m10", coupon="pct25x2"),
        Action(1, 1, 0, "quantity", (1, "create_prorations")),
        Action(6, 1, 0, "switch", ()),
    ]
    assert _mrr_on(script, date(2026, 1, 6), every_event=False) == (750, 750)
    assert _mrr_on(script, date(2026, 1, 10), every_event=False) == (1500, 1500)


def test_a_metered_item_a_schedule_phase_removes_counts_its_last_usage_until_the_phase():
    # $10/month from 1 Jan 01:07. On 2 Jan 01:08 a schedule whose phase from 3 Feb 01:08 bills
    # $25 alone; at 02:08 a metered item ($0.07 a unit) joins, with 1 unit of usage. The 1 Feb
    # renewal bills January's usage: 7, so from 1 Feb the MRR is 1000 + 7 = 1007, until the
    # phase replaces the items with its own on 3 Feb: 2500 from then. On 2 Feb, 1007 (not 1000:
    # the metered item was ended at the end of its last billed usage period, though kept events
    # and the phase show it there until 3 Feb); on 5 Feb, 2500.
    script = [
        _subscribe("m10"),
        Action(1, 1, 0, "schedule", (32, "price", 1, None, "create_prorations", 10, "release")),
        Action(1, 2, 0, "metered", (1,)),
    ]
    for every_event in (True, False):
        assert _mrr_on(script, date(2026, 2, 2), every_event=every_event) == (1007, 1007)
        assert _mrr_on(script, date(2026, 2, 5), every_event=every_event) == (2500, 2500)


def test_a_repeating_coupon_on_both_the_item_and_the_subscription_converts_at_the_new_rate():
    # €20/month from 1 Jan 01:07 (a EUR customer), 25 % off for two months (to 1 Mar) on the
    # subscription and the same coupon on its item; the made-up EUR→USD rate is 1.05 + (day's
    # ordinal mod 23) / 100: 1.19 on 1 Feb (14), 1.24 on 1 Mar (19). On 10 Feb:
    # 2000 × 0.75 × 0.75 × 1.19 = 1338.75 → 1339. Both discounts end at the 1 Mar renewal,
    # whose second also carries their own updates, still showing the February period; on
    # 10 Mar the MRR is 2000 × 1.24 = 2480 at the new period's rate, not 2000 × 1.19 = 2380.
    script = [Action(0, 1, 0, "subscribe", ("e20", 1, None, "pct25x2", None, "pct25x2", "eur",
                                            None))]  # fmt: skip
    for every_event in (True, False):
        assert _mrr_on(script, date(2026, 2, 10), every_event=every_event) == (1339, 1339)
        assert _mrr_on(script, date(2026, 3, 10), every_event=every_event) == (2480, 2480)


def test_a_pending_proration_keeps_the_item_discount_its_amount_carries() -> None:
    # $240/year from 1 Jan 01:07 with 25 % off its item for two months (to 1 Mar):
    # 24000 × 0.75 / 12 = 1500. On 2 Jan 01:08 a change to the same quantity prorates: −179.50
    # and +179.50, the 25 % inside the amounts, pending until the next invoice (1 Jan 2027),
    # each listing the item's discount. On 6 Jan the MRR is 1500, not 24000 / 12 = 2000 (the
    # pending proration's rate read without the discount it carries); on 10 Mar, 2000.
    script = [
        Action(0, 1, 0, "subscribe", ("y240", 1, None, None, None, "pct25x2", "usd", None)),
        Action(1, 1, 0, "quantity", (1, "create_prorations")),
    ]
    for every_event in (True, False):
        assert _mrr_on(script, date(2026, 1, 6), every_event=every_event) == (1500, 1500)
        assert _mrr_on(script, date(2026, 3, 10), every_event=every_event) == (2000, 2000)


def test_the_first_phase_of_a_second_schedule_takes_off_no_discount_at_its_start() -> None:
    # $10/month from 1 Jan 01:07 with 20 % off forever: 800. A schedule made on 2 Feb drops the
    # coupon from 3 Feb (1000) and is released on 5 Feb. A second one, made on 6 Feb, starts as
    # any schedule made from a running subscription: a first phase stating the subscription as it
    # is (no coupon), dated from its period's start, 1 Feb 01:07. That phase changed nothing:
    # from the invoices alone, on 2 Feb the MRR is still 800 (not 1000, the coupon taken off at
    # 1 Feb by a phase made five days later); on 6 Feb, 1000.
    script = [
        _subscribe("m10", coupon="pct20"),
        Action(32, 1, 0, "schedule", (1, "same", 1, None, "create_prorations", 2, "release")),
        Action(36, 1, 0, "schedule", (2, "same", 1, None, "create_prorations", 10, "release")),
    ]
    for every_event in (True, False):
        assert _mrr_on(script, date(2026, 2, 2), every_event=every_event) == (800, 800)
        assert _mrr_on(script, date(2026, 2, 6), every_event=every_event) == (1000, 1000)


def test_an_item_first_seen_in_an_event_is_taxed_by_the_subscriptions_default_rates() -> None:
    # $33.33/month tax inclusive (20 % VAT, the subscription's default rate) from 1 Jan 01:07;
    # $10 from 2 Jan (prorated); a schedule's phase moves it to $25 on 4 Jan 01:08 (a new item).
    # The customer is deleted on 7 Jan: the subscription ends and its pending prorations with
    # it, so only the kept events show the $25 item. On 6 Jan, net of the VAT:
    # 2500 / 1.2 = 2083.33 → 2083, not 2500 (the new item read as untaxed).
    script = [
        Action(0, 1, 0, "subscribe", ("m33", 1, None, None, None, None, "usd", None)),
        Action(1, 1, 0, "price", ("create_prorations",)),
        Action(2, 1, 0, "schedule", (1, "price", 1, None, "create_prorations", 10, "release")),
        Action(6, 1, 0, "delete", ()),
    ]
    assert _mrr_on(script, date(2026, 1, 6), every_event=True) == (2083, 2083)
