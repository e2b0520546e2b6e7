"""The account's event log: a snapshot of the object at each change, kept 30 days.

Stripe's events carry ``data.object`` as the object was at that moment and, for ``*.updated``
events, ``data.previous_attributes``: the changed fields with their old values (nested objects
recursively, arrays whole). The API keeps events 30 days, so a sync whose cursor is older must
start over.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.clock import DAY
from stripe_kpi.simulator.ids import IdFactory

StripeDict = dict[str, Any]

RETENTION = 30 * DAY


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    """Pause Python's cycle collector while building millions of small, acyclic dicts.

    Each collection walks every live container, so with the collector on, building or copying
    a large account slows down as it grows (20,000 customers: ~2x slower). Restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def frozen_copy(obj: Any) -> Any:
    """A deep copy of plain JSON data (pickle is several times faster than ``copy.deepcopy``)."""
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


#: Fields that never change once their object exists: snapshots share them instead of copying
#: (an invoice's lines are final when it is created; copying them for each of its five or so
#: events would be most of a large account's memory).
_IMMUTABLE = {"invoice": ("lines",)}


def snapshot(obj: StripeDict) -> StripeDict:
    """``obj`` as it is now, for an event: a deep copy that shares the immutable parts."""
    shared = {key: obj[key] for key in _IMMUTABLE.get(obj.get("object", ""), ())}
    if not shared:
        return frozen_copy(obj)
    obj.update(dict.fromkeys(shared))
    try:
        copy = frozen_copy(obj)
    finally:
        obj.update(shared)
    copy.update(shared)
    return copy


def previous_attributes(before: StripeDict, after: StripeDict) -> StripeDict:
    """The fields of ``before`` that differ in ``after``, as Stripe reports them."""
    changed: StripeDict = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = old
    return changed


class EventLog:
    """Events in creation order. Events older than ``record_from`` are not even built.

    ``record_from`` is a speed-up for long histories: Stripe shows only the last 30 days, so a
    generator that knows where the history ends need not copy objects for events no one sees.
    """

    def __init__(self, ids: IdFactory, livemode: bool, record_from: int | None = None) -> None:
        self._ids = ids
        self._livemode = livemode
        self._record_from = record_from
        self.events: list[StripeDict] = []

    def recording(self, at: int) -> bool:
        return self._record_from is None or at >= self._record_from

    def before(self, obj: StripeDict, at: int) -> StripeDict | None:
        """A copy of ``obj`` to diff against after a change (None when not recording)."""
        return snapshot(obj) if self.recording(at) else None

    def emit(
        self,
        types: str | Sequence[str],
        obj: StripeDict,
        at: int,
        *,
        before: StripeDict | None = None,
        request_id: str | None = None,
    ) -> None:
        """Record events of ``types`` about ``obj`` as it is now.

        Several types share one snapshot (Stripe sends ``invoice.paid``,
        ``invoice.payment_succeeded`` and ``invoice.updated`` for the same state). With
        ``before``, ``*.updated`` events carry ``previous_attributes`` and are skipped when
        nothing changed, as Stripe sends no empty update.
        """
        if not self.recording(at):
            return
        now = snapshot(obj)
        for type_ in [types] if isinstance(types, str) else types:
            previous = None
            if before is not None and type_.endswith(".updated"):
                previous = previous_attributes(before, now)
                if not previous:
                    continue
            self.events.append(
                objects.event(
                    id=self._ids.new("evt"),
                    type=type_,
                    created=at,
                    livemode=self._livemode,
                    data_object=now,
                    previous_attributes=previous,
                    request_id=request_id,
                )
            )

    def retained(self, now: int) -> list[StripeDict]:
        """The events Stripe still returns at ``now``: those of the last 30 days."""
        return [e for e in self.events if e["created"] > now - RETENTION]
