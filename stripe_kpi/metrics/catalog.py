"""Account-wide lookups the history needs: prices, what each discount takes off and when, tax.

Built once per computation from an :class:`~stripe_kpi.metrics.inputs.AccountHistory`; read-only
afterwards (only memo caches grow).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from stripe_kpi.metrics.calendar import add_months
from stripe_kpi.metrics.money import ONE, inclusive_tax_factor, percent_factor
from stripe_kpi.metrics.records import AccountHistory, Coupon, Discount, InvoiceLine, Price


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    """One discount as MRR sees it (METRICS.md §1, "Discounts").

    ``percent`` is the share left (0.75 for 25 % off) or None; ``amount_off`` maps currency →
    amount per invoice. ``start``/``end`` bound when it is in force; ``once`` coupons have no terms
    at all (a one-time reduction is not a change in commitment). ``item_id``: the subscription
    item it is attached to (None: the subscription, or an invoice); Stripe takes an item's
    discounts before the subscription's.
    """

    id: str
    start: int
    end: int | None
    percent: Decimal | None
    amount_off: tuple[tuple[str, int], ...]
    products: frozenset[str] | None
    item_id: str | None = None
    subscription_id: str | None = None
    coupon_id: str | None = None

    def in_force(self, t: int) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def applies_to(self, product_id: str | None) -> bool:
        return self.products is None or product_id in self.products

    def amount_in(self, currency: str) -> int | None:
        for ccy, amount in self.amount_off:
            if ccy == currency:
                return amount
        return None


def discount_terms(discount: Discount, coupon: Coupon) -> DiscountTerms | None:
    """The terms of a discount, or None when it never lowers MRR (a ``once`` coupon).

    A ``repeating`` discount without an ``end`` (never seen from Stripe, possible from an older
    sync) ends ``duration_in_months`` after its start.
    """
    if coupon.duration == "once":
        return None
    end = discount.end
    if end is None and coupon.duration == "repeating" and coupon.duration_in_months:
        start = datetime.fromtimestamp(discount.start, UTC)
        end = int(add_months(start, coupon.duration_in_months).timestamp())
    amounts: tuple[tuple[str, int], ...] = ()
    if coupon.amount_off is not None:
        amounts = ((coupon.currency or "", coupon.amount_off), *coupon.amount_off_options)
    percent = None if coupon.percent_off is None else percent_factor(coupon.percent_off)
    if percent is None and not amounts:
        return None
    return DiscountTerms(
        discount.id,
        discount.start,
        end,
        percent,
        amounts,
        coupon.applies_to_products,
        discount.subscription_item_id,
        discount.subscription_id,
        coupon.id,
    )


class Catalog:
    """Prices, discount terms and inclusive tax rates of one account."""

    __slots__ = (
        "_line_tax",
        "customer_discounts",
        "discounts",
        "inclusive_rates",
        "linked",
        "on_subscription",
        "prices",
        "tax",
    )

    def __init__(self, history: AccountHistory) -> None:
        self.prices: dict[str, Price] = dict(history.prices)
        self.discounts: dict[str, DiscountTerms] = {}
        #: customer id → its own discounts (not on a subscription, item or invoice).
        self.customer_discounts: dict[str, tuple[str, ...]] = {}
        #: subscription id → (item id or None for the whole subscription, discount id) of the
        #: discounts recorded on it (not removed), in start order.
        self.linked: dict[str, list[tuple[str | None, str]]] = {}
        #: subscription id → every discount recorded on the subscription itself (not on one of
        #: its items), removed ones included, in start order.
        self.on_subscription: dict[str, list[str]] = {}
        for discount in sorted(history.discounts.values(), key=lambda d: (d.start, d.id)):
            coupon = history.coupons.get(discount.coupon_id or "")
            terms = None if coupon is None else discount_terms(discount, coupon)
            if terms is not None:
                self.discounts[discount.id] = terms
                if discount.subscription_id and not discount.subscription_item_id:
                    self.on_subscription.setdefault(discount.subscription_id, []).append(
                        discount.id
                    )
                if discount.subscription_id and not discount.deleted:
                    self.linked.setdefault(discount.subscription_id, []).append(
                        (discount.subscription_item_id, discount.id)
                    )
            on_customer_only = not (
                discount.subscription_id or discount.subscription_item_id or discount.invoice_id
            )
            if (
                terms is not None
                and discount.customer_id
                and on_customer_only
                and not discount.deleted
            ):
                known = self.customer_discounts.get(discount.customer_id, ())
                self.customer_discounts[discount.customer_id] = (*known, discount.id)
        self.tax = {r.id: r for r in history.tax_rates.values()}
        self.inclusive_rates = sorted({r.percentage for r in self.tax.values() if r.inclusive})
        self._line_tax: dict[tuple[int, int], Decimal] = {}

    def tax_factor_of_rates(self, rate_ids: tuple[str, ...]) -> Decimal:
        """Net share of an amount taxed by these tax rates (only inclusive ones take a share)."""
        percentages = tuple(
            self.tax[i].percentage for i in rate_ids if i in self.tax and self.tax[i].inclusive
        )
        return inclusive_tax_factor(percentages)

    def tax_factor_of_line(self, line: InvoiceLine) -> Decimal:
        """Net share of a line whose amount includes tax (``tax_inclusive_amount``).

        Stripe computes inclusive tax on the discounted amount and rounds it to the minor unit, so
        the ratio read from the line is a little off. When an inclusive tax rate of the account
        explains the line's tax to within that rounding, its exact percentage is used; otherwise
        (Stripe Tax rates we never synced) the line's own ratio.
        """
        if not line.tax_inclusive_amount:
            return ONE
        taxable = line.amount - line.discount_amount
        key = (taxable, line.tax_inclusive_amount)
        found = self._line_tax.get(key)
        if found is not None:
            return found
        if taxable <= 0:
            found = ONE
        else:
            found = (Decimal(taxable) - line.tax_inclusive_amount) / taxable
            best = None
            for percentage in self.inclusive_rates:
                implied = Decimal(taxable) * percentage / (100 + percentage)
                gap = abs(implied - line.tax_inclusive_amount)
                if gap <= 1 and (best is None or gap < best[0]):
                    best = (gap, percentage)
            if best is not None:
                found = inclusive_tax_factor((best[1],))
        self._line_tax[key] = found
        return found
