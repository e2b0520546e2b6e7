"""``expand[]``: replace an id in a response by the object it names, as Stripe does.

A path is dotted (``latest_invoice.customer``); on a list every path starts with ``data.``.
Lists met on the way (``items.data``, ``discounts``) are expanded element by element, ids met on
the way are expanded too, ``null`` stays ``null``. Stripe knows from its schema which fields are
expandable; the simulator decides from the data: a string is expandable when it is the id of an
object the server holds (``discounts`` entries, ``customer``, ``latest_invoice``…), and an
embedded object (a subscription item's ``price``) is accepted as already expanded. Anything else
is refused with Stripe's 400. Stored objects are never modified: the path is copied on write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from stripe_kpi.simulator.data import StripeDict
from stripe_kpi.simulator.server.errors import cannot_expand

#: id → the object to show in its place; raises ``StripeHTTPError`` when it may not be shown.
Resolver = Callable[[str, str], StripeDict | None]


def expand_object(obj: StripeDict, paths: Sequence[str], resolve: Resolver) -> StripeDict:
    for path in paths:
        obj = _walk(obj, path.split("."), path, resolve)
    return obj


def expand_list(items: list[StripeDict], paths: Sequence[str], resolve: Resolver) -> list:
    """On a list Stripe expands ``data.<path>`` and refuses a bare ``<path>``."""
    if not paths:
        return items
    inner = []
    for path in paths:
        head, _, rest = path.partition(".")
        if head != "data" or not rest:
            raise cannot_expand(path, hint=f"data.{path}" if head != "data" else None)
        inner.append(rest)
    return [expand_object(item, inner, resolve) for item in items]


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
    if head not in value:
        raise cannot_expand(path)
    copy = dict(value)
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
