"""The filters each Stripe list endpoint accepts, as predicates over stored objects.

Only what a sync or a test would use is modelled; real Stripe parameters left out are named per
endpoint (``unmodelled``) and refused with a plain 400, so nothing is silently ignored.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_kpi.simulator.data import StripeDict
from stripe_kpi.simulator.server.errors import invalid_request, unknown_parameter

Params = dict[str, Any]
Predicate = Callable[[StripeDict], bool]
FilterBuilder = Callable[[str, Any], Predicate]


def parse_bool(name: str, value: Any) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise invalid_request(f"Invalid boolean: {value}", param=name, code="parameter_invalid_boolean")


def as_list(name: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise invalid_request(f"Invalid array: {name}", param=name)
    return values


def text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value}", param=name)
    return value


def _ref(value: Any) -> Any:
    """An id field may hold the id or (expanded by the engine) the object."""
    return value.get("id") if isinstance(value, dict) else value


def field_getter(name: str) -> Callable[[StripeDict], Any]:
    return lambda obj: _ref(obj.get(name))


def invoice_subscription(obj: StripeDict) -> Any:
    """Since API 2025-03-31 an invoice's subscription lives under ``parent``."""
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return _ref(details.get("subscription") or obj.get("subscription"))


def _item_refs(obj: StripeDict, attr: str) -> set[Any]:
    return {_ref(item.get(attr)) for item in (obj.get("items") or {}).get("data", [])}


def equals(getter: Callable[[StripeDict], Any]) -> FilterBuilder:
    def build(name: str, value: Any) -> Predicate:
        wanted = text(name, value)
        return lambda obj: getter(obj) == wanted

    return build


def one_of(getter: Callable[[StripeDict], Any], choices: Iterable[str]) -> FilterBuilder:
    allowed = tuple(choices)

    def build(name: str, value: Any) -> Predicate:
        wanted = text(name, value)
        if wanted not in allowed:
            listed = ", ".join(allowed[:-1]) + f", or {allowed[-1]}"
            raise invalid_request(f"Invalid {name}: must be one of {listed}", param=name)
        return lambda obj: getter(obj) == wanted

    return build


def boolean(attr: str) -> FilterBuilder:
    def build(name: str, value: Any) -> Predicate:
        wanted = parse_bool(name, value)
        return lambda obj: bool(obj.get(attr)) is wanted

    return build


def member(attr: str) -> FilterBuilder:
    def build(name: str, value: Any) -> Predicate:
        wanted = set(as_list(name, value))
        return lambda obj: obj.get(attr) in wanted

    return build


def item_has(attr: str) -> FilterBuilder:
    def build(name: str, value: Any) -> Predicate:
        wanted = text(name, value)
        return lambda obj: wanted in _item_refs(obj, attr)

    return build


def price_recurring(name: str, value: Any) -> Predicate:
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid hash: {name}", param=name)
    for sub in value:
        if sub not in ("interval", "meter", "usage_type"):
            raise unknown_parameter(f"{name}[{sub}]")
    wanted = dict(value)
    return lambda obj: (
        obj.get("recurring") is not None
        and all(obj["recurring"].get(k) == v for k, v in wanted.items())
    )


SUBSCRIPTION_STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)


def subscription_status(name: str, value: Any) -> Predicate:
    """``all`` shows every status, ``ended`` is canceled + incomplete_expired."""
    wanted = text(name, value)
    if wanted == "all":
        return lambda obj: True
    if wanted == "ended":
        return lambda obj: obj.get("status") in ("canceled", "incomplete_expired")
    return one_of(field_getter("status"), SUBSCRIPTION_STATUSES)(name, wanted)


def subscriptions_not_canceled(params: Params) -> Predicate | None:
    """Without ``status`` Stripe lists "all subscriptions that have not been canceled"
    (its wording; whether ``incomplete_expired`` is hidden too is not documented: we show it)."""
    if "status" in params:
        return None
    return lambda obj: obj.get("status") != "canceled"


def is_pending(name: str, value: Any) -> Predicate:
    """An invoice item is pending until an invoice takes it (``invoice`` null)."""
    wanted = parse_bool(name, value)
    return lambda obj: (obj.get("invoice") is None) is wanted


def event_type(name: str, value: Any) -> Predicate:
    """``type`` takes one name or a group with ``*`` as wildcard (``customer.subscription.*``)."""
    wanted = text(name, value)
    if "*" in wanted:
        return lambda obj: fnmatch.fnmatchcase(obj.get("type", ""), wanted)
    return lambda obj: obj.get("type") == wanted


def event_types(name: str, value: Any) -> Predicate:
    wanted = set(as_list(name, value))
    if len(wanted) > 20:
        raise invalid_request("You may pass at most 20 values in types.", param=name)
    return lambda obj: obj.get("type") in wanted


@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint accepts beyond paging, ``created`` and ``expand``.

    ``indexed`` filters are equality filters the index can answer from a per-value view;
    ``unmodelled`` are real Stripe parameters this simulator does not implement: they fail with a
    plain 400 instead of being ignored, so a test never passes on a filter that did nothing.
    """

    object_name: str
    filters: Mapping[str, FilterBuilder] = field(default_factory=dict)
    indexed: Mapping[str, Callable[[StripeDict], Hashable]] = field(default_factory=dict)
    default: Callable[[Params], Predicate | None] | None = None
    unmodelled: frozenset[str] = frozenset()
    exclusive: tuple[str, ...] = ()


SPECS: dict[str, ListSpec] = {
    "customers": ListSpec(
        "customer",
        {"email": equals(field_getter("email")), "test_clock": equals(field_getter("test_clock"))},
    ),
    "products": ListSpec(
        "product",
        {
            "active": boolean("active"),
            "shippable": boolean("shippable"),
            "type": equals(field_getter("type")),
            "url": equals(field_getter("url")),
            "ids": member("id"),
        },
    ),
    "prices": ListSpec(
        "price",
        {
            "active": boolean("active"),
            "currency": equals(field_getter("currency")),
            "product": equals(field_getter("product")),
            "type": one_of(field_getter("type"), ("one_time", "recurring")),
            "lookup_keys": member("lookup_key"),
            "recurring": price_recurring,
        },
    ),
    "coupons": ListSpec("coupon"),
    "tax_rates": ListSpec(
        "tax_rate", {"active": boolean("active"), "inclusive": boolean("inclusive")}
    ),
    "subscriptions": ListSpec(
        "subscription",
        {
            "customer": equals(field_getter("customer")),
            "status": subscription_status,
            "price": item_has("price"),
            "plan": item_has("plan"),
            "collection_method": equals(field_getter("collection_method")),
            "test_clock": equals(field_getter("test_clock")),
        },
        indexed={"customer": field_getter("customer")},
        default=subscriptions_not_canceled,
        unmodelled=frozenset(
            {"automatic_tax", "current_period_end", "current_period_start", "customer_account"}
        ),
    ),
    # docs.stripe.com/api/subscription_schedules/list: customer, created and the three time
    # ranges (canceled_at, completed_at, released_at), and ``scheduled`` (not started yet).
    "subscription_schedules": ListSpec(
        "subscription_schedule",
        {"customer": equals(field_getter("customer"))},
        indexed={"customer": field_getter("customer")},
        unmodelled=frozenset(
            {"canceled_at", "completed_at", "released_at", "scheduled", "customer_account"}
        ),
    ),
    "invoices": ListSpec(
        "invoice",
        {
            "customer": equals(field_getter("customer")),
            "subscription": equals(invoice_subscription),
            "status": one_of(
                field_getter("status"), ("draft", "open", "paid", "uncollectible", "void")
            ),
            "collection_method": equals(field_getter("collection_method")),
        },
        indexed={"customer": field_getter("customer"), "subscription": invoice_subscription},
        unmodelled=frozenset({"due_date", "customer_account"}),
    ),
    # "pending: Set to true to only show pending invoice items, which are not yet attached to any
    # invoices. Set to false to only show invoice items already attached to invoices. If
    # unspecified, no filter is applied." (docs.stripe.com/api/invoiceitems/list). An invoice
    # item has no ``created``: its ``date`` is what the list sorts and ``created`` filters on.
    "invoiceitems": ListSpec(
        "invoiceitem",
        {
            "customer": equals(field_getter("customer")),
            "invoice": equals(field_getter("invoice")),
            "pending": is_pending,
        },
        indexed={"customer": field_getter("customer")},
        unmodelled=frozenset({"customer_account"}),
    ),
    # docs.stripe.com/api/credit_notes/list: customer, customer_account, invoice, created.
    "credit_notes": ListSpec(
        "credit_note",
        {
            "customer": equals(field_getter("customer")),
            "invoice": equals(field_getter("invoice")),
        },
        indexed={"customer": field_getter("customer")},
        unmodelled=frozenset({"customer_account"}),
    ),
    "events": ListSpec(
        "event",
        {"type": event_type, "types": event_types},
        indexed={"type": field_getter("type")},
        unmodelled=frozenset({"delivery_success"}),
        exclusive=("type", "types"),
    ),
}
