"""The catalog: products, recurring prices (tiers included) and the legacy Plan view of a price
that subscription items still embed, coupons, manual tax rates."""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import StripeDict


def product(
    *, id: str, name: str, created: int, livemode: bool, unit_label: str | None = None
) -> StripeDict:
    return {
        "active": True,
        "created": created,
        "default_price": None,
        "description": None,
        "id": id,
        "images": [],
        "livemode": livemode,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": unit_label,
        "updated": created,
        "url": None,
    }


def price_tier(
    *, up_to: int | None, unit_amount: int | None, flat_amount: int | None
) -> StripeDict:
    """One tier of a tiered price; ``up_to=None`` is Stripe's ``inf`` (the last tier)."""
    return {
        "flat_amount": flat_amount,
        "flat_amount_decimal": None if flat_amount is None else str(flat_amount),
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
        "up_to": up_to,
    }


def currency_option(
    *, unit_amount: int | None, tiers: list[StripeDict] | None, tax_behavior: str
) -> StripeDict:
    """What a price charges in one more currency (an entry of its ``currency_options``)."""
    return {
        "custom_unit_amount": None,
        "tax_behavior": tax_behavior,
        "tiers": tiers,
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }


def price(
    *,
    id: str,
    product: str,
    created: int,
    livemode: bool,
    currency: str,
    unit_amount: int | None,
    interval: str,
    interval_count: int = 1,
    usage_type: str = "licensed",
    meter: str | None = None,
    billing_scheme: str = "per_unit",
    tiers: list[StripeDict] | None = None,
    tiers_mode: str | None = None,
    tax_behavior: str = "unspecified",
    nickname: str | None = None,
    lookup_key: str | None = None,
) -> StripeDict:
    """A recurring price. Tiered prices have ``unit_amount=None`` and their ``tiers``.

    Stored whole; ``tiers`` and ``currency_options`` are includable: the server leaves them out
    unless the request expands them (``expand[]=tiers``), as Stripe does (``server.expand``).
    """
    return {
        "active": True,
        "billing_scheme": billing_scheme,
        "created": created,
        "currency": currency,
        "currency_options": None,
        "custom_unit_amount": None,
        "id": id,
        "livemode": livemode,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": nickname,
        "object": "price",
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": interval_count,
            "meter": meter,
            "trial_period_days": None,
            "usage_type": usage_type,
        },
        "tax_behavior": tax_behavior,
        "tiers": tiers,
        "tiers_mode": tiers_mode,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }


def plan_from_price(price: StripeDict) -> StripeDict:
    """The legacy Plan view of a recurring price, which subscription items still embed."""
    recurring = price["recurring"]
    return {
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "id": price["id"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": price["livemode"],
        "metadata": dict(price["metadata"]),
        "meter": recurring["meter"],
        "nickname": price["nickname"],
        "object": "plan",
        "product": price["product"],
        "tiers": price["tiers"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring["trial_period_days"],
        "usage_type": recurring["usage_type"],
    }


def coupon(
    *,
    id: str,
    created: int,
    livemode: bool,
    duration: str,
    percent_off: float | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    duration_in_months: int | None = None,
    name: str | None = None,
    applies_to: list[str] | None = None,
) -> StripeDict:
    """A coupon; ``applies_to`` lists the products it is limited to (None: every product).

    ``applies_to`` and ``currency_options`` are includable: the server shows them only when the
    request expands them (``server.expand``).
    """
    return {
        "amount_off": amount_off,
        "applies_to": None if applies_to is None else {"products": list(applies_to)},
        "created": created,
        "currency": currency,
        "currency_options": None,
        "duration": duration,
        "duration_in_months": duration_in_months,
        "id": id,
        "livemode": livemode,
        "max_redemptions": None,
        "metadata": {},
        "name": name,
        "object": "coupon",
        "percent_off": percent_off,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def tax_rate(
    *,
    id: str,
    created: int,
    livemode: bool,
    display_name: str,
    percentage: float,
    inclusive: bool,
    country: str | None = None,
    jurisdiction: str | None = None,
) -> StripeDict:
    return {
        "active": True,
        "country": country,
        "created": created,
        "description": None,
        "display_name": display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "id": id,
        "inclusive": inclusive,
        "jurisdiction": jurisdiction,
        "jurisdiction_level": None,
        "livemode": livemode,
        "metadata": {},
        "object": "tax_rate",
        "percentage": percentage,
        "rate_type": "percentage",
        "state": None,
        "tax_type": "vat",
    }
