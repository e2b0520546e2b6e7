"""Stripe's list semantics over one ``StripeData`` snapshot: ordering and paging.

Stripe lists newest first; a page is ``limit`` objects after the ``starting_after`` cursor or
just before the ``ending_before`` one, with ``has_more`` telling whether the walk could go on in
that direction. We keep each kind sorted once per data swap and find cursors and ``created``
bounds with ``bisect``, so a page costs ``O(log n + limit)`` however deep it is; a filter on
``customer`` / ``subscription`` / exact event ``type`` uses a per-value view built on first use.

Objects created in the same second are listed newest first too, by the order they were added to
``StripeData`` (the engine adds them as it creates them). Stripe does not document its tie order;
its ids carry a time-ordered prefix, so creation order is our best model of it, and it keeps
random simulator ids from shuffling same-second events.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stripe_kpi.simulator.data import StripeData, StripeDict
from stripe_kpi.simulator.objects.omitted import omit_unset
from stripe_kpi.simulator.server.errors import resource_missing
from stripe_kpi.simulator.server.expand import withhold
from stripe_kpi.simulator.server.filters import SPECS, Predicate
from stripe_kpi.simulator.server.params import ListRequest, PageRequest

#: A retrieved or listed invoice embeds "the first handful" of its lines: ten, in practice.
EMBEDDED_LINES = 10
#: A subscription embeds its first 10 items likewise; ``/v1/subscription_items`` has the rest.
EMBEDDED_ITEMS = 10


#: ``(created, position in StripeData)``: the sort key; -1 sorts before any position.
Key = tuple[int, int]


@dataclass(frozen=True)
class SortedView:
    """Objects sorted ascending by ``Key``; newest first is this walked backwards."""

    keys: list[Key]
    objs: list[StripeDict]

    @classmethod
    def of(cls, keyed: Iterable[tuple[Key, StripeDict]]) -> SortedView:
        ordered = sorted(keyed, key=lambda pair: pair[0])
        return cls([k for k, _ in ordered], [o for _, o in ordered])


EMPTY_VIEW = SortedView([], [])


def _created(obj: StripeDict) -> int:
    """When an object was created: an invoice item says it with ``date`` (it has no
    ``created``); a deleted customer's stub with nothing (never listed: 0)."""
    return obj.get("created", obj.get("date", 0))


def _collect(objs: list[StripeDict], indices: range, keep: Predicate, want: int) -> list:
    picked = []
    for i in indices:
        obj = objs[i]
        if keep(obj):
            picked.append(obj)
            if len(picked) == want:
                break
    return picked


class AccountIndex:
    """One ``StripeData`` prepared for answering: sorted views, an id index, lazy groupings.

    Built once per data swap and never mutated afterwards except for the lazily added views,
    which are pure functions of the data: so requests may share it across threads.
    """

    def __init__(self, data: StripeData) -> None:
        self.data = data
        self._keys: dict[str, dict[str, Key]] = {
            kind: {oid: (_created(o), n) for n, (oid, o) in enumerate(objs.items())}
            for kind, objs in ((k, data.objects.get(k, {})) for k in SPECS)
        }
        self.views = {
            kind: SortedView.of(
                (keys[oid], o)
                for oid, o in data.objects.get(kind, {}).items()
                if not o.get("deleted")  # deleted customers are retrievable, never listed
            )
            for kind, keys in self._keys.items()
        }
        self.by_id: dict[str, tuple[str, StripeDict]] = {
            oid: (kind, obj) for kind, objs in data.objects.items() for oid, obj in objs.items()
        }
        self._groups: dict[tuple[str, str], dict[Any, SortedView]] = {}
        self._sublist_positions: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, object_id: str) -> StripeDict | None:
        return self.data.objects.get(kind, {}).get(object_id)

    def _view(self, kind: str, selector: tuple[str, str] | None) -> SortedView:
        if selector is None:
            return self.views[kind]
        name, value = selector
        groups = self._groups.get((kind, name))
        if groups is None:
            getter = SPECS[kind].indexed[name]
            view = self.views[kind]
            buckets: dict[Any, list[tuple[Key, StripeDict]]] = defaultdict(list)
            for key, obj in zip(view.keys, view.objs, strict=True):  # sorted: buckets stay so
                buckets[getter(obj)].append((key, obj))
            groups = {value: SortedView.of(pairs) for value, pairs in buckets.items()}
            with self._lock:
                self._groups[(kind, name)] = groups
        return groups.get(value, EMPTY_VIEW)

    def _cursor_key(self, kind: str, cursor: str, param: str) -> Key:
        key = self._keys[kind].get(cursor)
        if key is None:
            raise resource_missing(SPECS[kind].object_name, cursor, param=param)
        return key

    def page(self, kind: str, request: ListRequest) -> tuple[list[StripeDict], bool]:
        """One page, newest first, and whether more lie beyond it in the walking direction."""
        view = self._view(kind, request.view)
        keys, lo, hi = view.keys, 0, len(view.keys)
        bounds = request.created
        if "gte" in bounds:
            lo = max(lo, bisect_left(keys, (bounds["gte"], -1)))
        if "gt" in bounds:
            lo = max(lo, bisect_left(keys, (bounds["gt"] + 1, -1)))
        if "lte" in bounds:
            hi = min(hi, bisect_left(keys, (bounds["lte"] + 1, -1)))
        if "lt" in bounds:
            hi = min(hi, bisect_left(keys, (bounds["lt"], -1)))
        predicates = request.predicates

        def keep(obj: StripeDict) -> bool:
            return all(p(obj) for p in predicates)

        want = request.limit + 1
        if request.ending_before is not None:
            cursor = self._cursor_key(kind, request.ending_before, "ending_before")
            lo = max(lo, bisect_right(keys, cursor))
            picked = _collect(view.objs, range(lo, hi), keep, want)
            return picked[: request.limit][::-1], len(picked) == want
        if request.starting_after is not None:
            cursor = self._cursor_key(kind, request.starting_after, "starting_after")
            hi = min(hi, bisect_left(keys, cursor))
        picked = _collect(view.objs, range(hi - 1, lo - 1, -1), keep, want)
        return picked[: request.limit], len(picked) == want

    def sublist_page(
        self, owner: str, entries: list[StripeDict], request: PageRequest, object_name: str
    ) -> tuple[list, bool]:
        """A sub-list (an invoice's lines, a subscription's items) keeps its owner's order;
        cursors are the entries' ids."""
        positions = self._sublist_positions.get(owner)
        if positions is None:
            positions = {entry["id"]: i for i, entry in enumerate(entries)}
            with self._lock:
                self._sublist_positions[owner] = positions
        lo, hi = 0, len(entries)
        for cursor, param in (
            (request.starting_after, "starting_after"),
            (request.ending_before, "ending_before"),
        ):
            if cursor is not None and cursor not in positions:
                raise resource_missing(object_name, cursor, param=param)
        if request.ending_before is not None:
            hi = positions[request.ending_before]
            return entries[max(lo, hi - request.limit) : hi], hi - request.limit > lo
        if request.starting_after is not None:
            lo = positions[request.starting_after] + 1
        return entries[lo : lo + request.limit], lo + request.limit < hi


def _embedded(sublist: StripeDict, shown: list[StripeDict], total: int, url: str) -> StripeDict:
    return {
        **sublist,
        "object": "list",
        "data": shown,
        "has_more": total > len(shown),
        "total_count": total,
        "url": url,
    }


def shown_item(item: StripeDict) -> StripeDict:
    """A subscription item as the API shows it: its price and plan without includable fields,
    its keys that Stripe omits when unset left out (``objects/omitted.py``)."""
    shown = {key: withhold(item[key]) for key in ("price", "plan") if key in item}
    if any(value is not item[key] for key, value in shown.items()):
        item = {**item, **shown}
    return omit_unset(item)


def shown_line(line: StripeDict) -> StripeDict:
    """An invoice's or a credit note's line as the API shows it (its keys omitted when unset
    left out)."""
    return omit_unset(line)


#: The list an event's ``data.object`` would be served from, to show it as that list does.
_LIST_OF = {"subscription": "subscriptions", "invoice": "invoices", "credit_note": "credit_notes"}


def render(kind: str, obj: StripeDict) -> StripeDict:
    """What the API shows of a stored object by default (stored objects are never changed).

    An invoice (a credit note too) embeds its first 10 lines and a subscription its first 10
    items, with ``has_more``, ``total_count`` and the ``url`` that pages the rest; prices,
    coupons and invoices, listed or embedded, come without their includable fields (see
    ``expand``); keys that Stripe omits when unset are absent, not ``null``
    (``objects/omitted.py``). An event shows its ``data.object`` as that object's own endpoint
    does, unexpanded.
    """
    if kind == "events":
        return omit_unset(_render_event(obj))
    if kind == "invoices" and "lines" in obj:
        everything = obj["lines"].get("data", [])
        url = f"/v1/invoices/{obj['id']}/lines"
        shown = [shown_line(line) for line in everything[:EMBEDDED_LINES]]
        obj = {**obj, "lines": _embedded(obj["lines"], shown, len(everything), url)}
    elif kind == "credit_notes" and "lines" in obj:
        everything = obj["lines"].get("data", [])
        url = f"/v1/credit_notes/{obj['id']}/lines"
        shown = [shown_line(line) for line in everything[:EMBEDDED_LINES]]
        obj = {**obj, "lines": _embedded(obj["lines"], shown, len(everything), url)}
    elif kind == "subscriptions" and "items" in obj:
        everything = obj["items"].get("data", [])
        shown = [shown_item(item) for item in everything[:EMBEDDED_ITEMS]]
        url = f"/v1/subscription_items?subscription={obj['id']}"
        obj = {**obj, "items": _embedded(obj["items"], shown, len(everything), url)}
    return omit_unset(withhold(obj))


def _render_event(event: StripeDict) -> StripeDict:
    """The payload as its endpoint shows it; the items of ``previous_attributes`` (an updated
    subscription's old items) without their prices' includable fields too."""
    data = event.get("data") or {}
    payload, previous = data.get("object"), data.get("previous_attributes")
    if not isinstance(payload, dict):
        return event
    shown = dict(data, object=render(_LIST_OF.get(payload.get("object", ""), ""), payload))
    if isinstance(previous, dict) and isinstance(previous.get("items"), dict):
        items = previous["items"]
        old = [shown_item(item) for item in items.get("data", [])]
        shown["previous_attributes"] = {**previous, "items": {**items, "data": old}}
    return {**event, "data": shown}
