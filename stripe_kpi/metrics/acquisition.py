"""What winning a customer costs (METRICS.md §9): CAC, LTV:CAC and CAC payback, from the spend a
founder enters per month and the month's new customers.

Pure functions over plain numbers, exact (``Fraction``) until the JSON encoder rounds them.

Choices where §9 is silent (also listed in the closing report):

- **New customers** of a period are the customers with a ``new`` movement in it (first MRR ever
  > 0, §2); a reactivation is a customer won back, not acquired, so it counts neither in the
  customers CAC divides by nor in their new MRR (ChartMogul's CAC counts new customers only).
- **Spend of a period** that is not whole calendar months: each month's spend counts in
  proportion to its days inside the period (a whole month counts whole; 1–15 October counts
  15/31 of October's). So the days of a month add up to the month and the months of a period to
  the period, and a month in progress is judged on the share of its spend its days so far
  account for.
- **Spend missing**: a period counts spend only when every month it touches has an entry; one
  month without an entry makes CAC, LTV:CAC and payback null (summing it as 0 would show a
  flattering CAC). An entry of 0 is spend of 0: CAC 0, payback 0, LTV:CAC null (÷ 0).
- **LTV:CAC** of a period divides the period's LTV (§4: ARPU at its end ÷ the mean monthly churn
  of the three full months ending there) by the period's CAC.
- **Payback** = CAC ÷ ARPU of the new customers = CAC × new customers ÷ their new MRR, in months:
  their MRR on the day they became customers (the ``new`` movement's amount).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from stripe_kpi.metrics.calendar import month_end, month_start, next_month
from stripe_kpi.metrics.money import minor_exponent
from stripe_kpi.metrics.movements import Movement
from stripe_kpi.metrics.report_json import fraction, money

#: A month's key in the ``spend`` table and on the command line.
MONTH_FORMAT = "%Y-%m"


def month_key(day: date) -> str:
    """``YYYY-MM`` of ``day``'s month."""
    return day.strftime(MONTH_FORMAT)


def period_spend(spend: Mapping[str, int], first: date, last: date) -> Fraction | None:
    """The spend of the days ``first``…``last`` in minor units: each month's entry times the share
    of its days inside the period; None when a month the period touches has no entry."""
    if last < first:
        raise ValueError("the period ends before it starts")
    total, month = Fraction(0), month_start(first)
    while month <= last:
        amount = spend.get(month_key(month))
        if amount is None:
            return None
        inside = (min(month_end(month), last) - max(month, first)).days + 1
        total += Fraction(amount * inside, month_end(month).day)
        month = next_month(month)
    return total


def new_customers_per_day(movements: Iterable[Movement]) -> dict[date, tuple[int, int]]:
    """Day → (customers with a ``new`` movement that day, the MRR they started with), from a
    computation's movements: what ``store.spend.new_customers_by_day`` reads of
    ``mrr_movement`` when the tables are current."""
    found: dict[date, tuple[int, int]] = {}
    for m in movements:
        if m.type == "new":
            day = date.fromordinal(m.day)
            n, amount = found.get(day, (0, 0))
            found[day] = (n + 1, amount + m.amount)
    return found


def cac(spend: Fraction | None, new_customers: int) -> Fraction | None:
    """Spend ÷ new customers, minor units; None without spend or without new customers."""
    if spend is None or not new_customers:
        return None
    return spend / new_customers


def ltv_to_cac(ltv: Fraction | None, acquisition_cost: Fraction | None) -> Fraction | None:
    """LTV ÷ CAC; None when either is missing or CAC is 0."""
    if ltv is None or not acquisition_cost:
        return None
    return ltv / acquisition_cost


def cac_payback_months(
    acquisition_cost: Fraction | None, new_customers: int, new_mrr: int
) -> Fraction | None:
    """CAC ÷ the new customers' ARPU (their new MRR ÷ their count): months of their MRR that
    repay what winning one cost. None without CAC or without new MRR."""
    if acquisition_cost is None or new_mrr <= 0 or not new_customers:
        return None
    return acquisition_cost * new_customers / new_mrr


@dataclass(frozen=True, slots=True)
class Acquisition:
    """A period's acquisition figures: ``spend`` and ``cac`` in minor units (exact), the ratios
    exact; None where §9 says null."""

    new_customers: int
    new_mrr: int
    spend: Fraction | None
    cac: Fraction | None
    ltv_cac: Fraction | None
    cac_payback_months: Fraction | None


def acquisition(
    spend: Mapping[str, int],
    first: date,
    last: date,
    new_customers: int,
    new_mrr: int,
    ltv: Fraction | None = None,
) -> Acquisition:
    """The figures of ``first``…``last`` given the spend per month (``YYYY-MM`` → minor units),
    the period's new customers and their new MRR, and the period's LTV (minor units)."""
    spent = period_spend(spend, first, last)
    cost = cac(spent, new_customers)
    return Acquisition(
        new_customers=new_customers,
        new_mrr=new_mrr,
        spend=spent,
        cac=cost,
        ltv_cac=ltv_to_cac(ltv, cost),
        cac_payback_months=cac_payback_months(cost, new_customers, new_mrr),
    )


# ---------------------------------------------------------------------------------------------
# the --json document
# ---------------------------------------------------------------------------------------------


def _decimal(value: Fraction | None) -> Decimal | None:
    return None if value is None else Decimal(value.numerator) / value.denominator


def _json(figures: Acquisition, currency: str, *, with_ltv: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "new_customers": figures.new_customers,
        "spend": money(_decimal(figures.spend), currency),
        "cac": money(_decimal(figures.cac), currency),
    }
    if with_ltv:
        shown["ltv_cac"] = fraction(_decimal(figures.ltv_cac))
    shown["cac_payback_months"] = fraction(_decimal(figures.cac_payback_months))
    return shown


def _minor(major: float | int | None, currency: str) -> Fraction | None:
    """A money figure of the document back in minor units (it was rounded to one already)."""
    if major is None:
        return None
    return Fraction(Decimal(str(major)).scaleb(minor_exponent(currency)))


def with_acquisition(
    document: dict[str, Any], spend: Mapping[str, int], new: Mapping[date, tuple[int, int]]
) -> dict[str, Any]:
    """The ``metrics --json`` document with each series entry and the totals given
    ``new_customers``, ``spend``, ``cac`` and ``cac_payback_months``, and the totals
    ``ltv_cac`` (the totals' LTV ÷ their CAC). ``new`` maps a day to its new customers and their
    new MRR (minor units); days without any are left out."""
    currency = document["currency"]
    first, last = date.fromisoformat(document["from"]), date.fromisoformat(document["to"])

    def figures(lo: date, hi: date, ltv: Fraction | None = None) -> Acquisition:
        count = mrr = 0
        day = lo
        while day <= hi:
            n, amount = new.get(day, (0, 0))
            count, mrr, day = count + n, mrr + amount, day + timedelta(days=1)
        return acquisition(spend, lo, hi, count, mrr, ltv)

    for point in document["series"]:
        hi = date.fromisoformat(point["date"])
        lo = hi if document["by"] == "day" else max(month_start(hi), first)
        point.update(_json(figures(lo, hi), currency, with_ltv=False))
    ltv = _minor(document["totals"].get("ltv"), currency)
    document["totals"].update(_json(figures(first, last, ltv), currency, with_ltv=True))
    return document
