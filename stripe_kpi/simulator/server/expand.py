"""``expand[]``: replace an id in a response by the object it names, and show the fields Stripe
leaves out unless asked, as Stripe does.

A path is dotted (``latest_invoice.customer``); on a list every path starts with ``data.``.
Lists met on the way (``items.data``, ``discounts``) are expanded element by element, ids met on
the way are expanded too, ``null`` stays ``null``. Stripe knows from its schema which fields are
expandable; the simulator decides from the data: a string is expandable when it is the id of an
object the server holds (``discounts`` entries, ``customer``, ``latest_invoice``…), and an
embedded object (a subscription item's ``price``) is accepted as already expanded. Anything else
is refused with Stripe's 400. Stored objects are never modified: the path is copied on write.

Includable fields. Some fields are not returned by default: "Some available fields aren't
included in the responses by default ... You can request these fields as an expanded response
by using the expand request parameter" (https://docs.stripe.com/api/expanding_objects). For the
objects we serve they are a price's ``tiers`` and ``currency_options``, a plan's ``tiers``, a
coupon's ``applies_to`` and ``currency_options`` and an invoice's ``confirmation_secret``
(stripe-node's generated types mark exactly these optional, ``tiers?: Array<Price.Tier>``,
``confirmation_secret?: Invoice.ConfirmationSecret | null``; Stripe's staff: "The
``applies_to`` field is not returned by default. To include it in the response, expand the
``applies_to`` field", stripe-java#1317; "tiers field is expandable", stripe-java#1838; the
secret is asked for with ``expand: ["confirmation_secret"]``, stripity-stripe#875).
:func:`withhold` takes the key out (Stripe leaves the key out, it does not send ``null``);
expanding the field by name (``tiers`` on a retrieve, ``data.tiers`` on a list,
``items.data.price.tiers`` on a subscription) brings back the stored value. An includable field
ends a path: there is nothing to expand inside it. Keys Stripe omits when they are unset (an
absent key, not ``null``, whatever the request asks) are another rule: ``objects/omitted.py``.

Depth: "Expansions have a maximum depth of four levels (for example, the deepest expansion
allowed when listing charges is ``data.payment_intent.customer.default_source``)"
(https://docs.stripe.com/api/expanding_objects). On a list ``data`` counts as a level, so
``data.items.data.price.tiers`` (five) is refused on a subscription list, as Stripe refuses
``data.items.data.price.product`` ("You cannot expand more than 4 levels of a property",
stripe-java#2011 for ``data.payments.data.payment.charge``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from stripe_kpi.simulator.data import StripeDict
from stripe_kpi.simulator.server.errors import cannot_expand, expansion_too_deep

#: Stripe's limit on the segments of one expansion path (``data`` of a list included).
MAX_DEPTH = 4

#: The fields each kind of object shows only when expanded ("includable").
INCLUDABLE: dict[str, tuple[str, ...]] = {
    "price": ("currency_options", "tiers"),
    "plan": ("tiers",),
    "coupon": ("applies_to", "currency_options"),
    "invoice": ("confirmation_secret",),
}


class Resolver(Protocol):
    """Where expansion finds what it shows."""

    def __call__(self, object_id: str, path: str) -> StripeDict | None:
        """The object to show in place of an id (as the API shows it, includable fields
        withheld); None when no such object; raises ``StripeHTTPError`` when it may not be
        shown."""
        ...

    def stored(self, object_id: str) -> StripeDict | None:
        """The object as stored, includable fields and all (a plan: the price of its id)."""
        ...


def withhold(obj: Any) -> Any:
    """``obj`` as Stripe shows it by default: without its includable fields (a copy when it had
    any; anything but a price, plan, coupon or invoice is returned as it is)."""
    if not isinstance(obj, dict):
        return obj
    fields = INCLUDABLE.get(obj.get("object", ""))
    if not fields or not any(name in obj for name in fields):
        return obj
    return {k: v for k, v in obj.items() if k not in fields}


def expand_object(obj: StripeDict, paths: Sequence[str], resolve: Resolver) -> StripeDict:
    for path in paths:
        _check_depth(path)
    for path in paths:
        obj = _walk(obj, path.split("."), path, resolve)
    return obj


def expand_list(items: list[StripeDict], paths: Sequence[str], resolve: Resolver) -> list:
    """On a list Stripe expands ``data.<path>`` and refuses a bare ``<path>``."""
    if not paths:
        return items
    inner = []
    for path in paths:
        _check_depth(path)
        head, _, rest = path.partition(".")
        if head != "data" or not rest:
            raise cannot_expand(path, hint=f"data.{path}" if head != "data" else None)
        inner.append(rest)
    return [expand_object(item, inner, resolve) for item in items]


def _check_depth(path: str) -> None:
    if path.count(".") + 1 > MAX_DEPTH:
        raise expansion_too_deep(path)


def _walk(value: Any, segments: list[str], path: str, resolve: Resolver) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_walk(v, segments, path, resolve) for v in value]
    if isinstance(value, str):
        value = resolve(value, path)
        if value is None:
            raise cannot_expand(path)
    if not isinstance(value, dict):
        raise cannot_expand(path)
    if not segments:
        return value
    head, rest = segments[0], segments[1:]
    copy = dict(value)
    if head not in value:
        if head not in INCLUDABLE.get(value.get("object", ""), ()) or rest:
            raise cannot_expand(path)
        stored = resolve.stored(value.get("id", ""))
        copy[head] = None if stored is None else stored.get(head)
        return copy
    copy[head] = (
        _walk(value[head], rest, path, resolve) if rest else _leaf(value[head], path, resolve)
    )
    return copy


def _leaf(value: Any, path: str, resolve: Resolver) -> Any:
    """The last segment: ids become objects; embedded objects and ``null`` stay as they are."""
    if isinstance(value, list):
        return [_leaf(v, path, resolve) for v in value]
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and (found := resolve(value, path)) is not None:
        return found
    raise cannot_expand(path)
