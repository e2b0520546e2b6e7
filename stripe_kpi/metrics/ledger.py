"""The account's daily figures, as per-day sums over customers.

Each customer contributes only on days where something of theirs changed; levels (MRR, paying
customers, MRR at risk) are stored as per-day changes and read back as running sums, flows
(movements, churned customers, trials) as per-day sums. Adding and removing a customer's
contribution are exact inverses, which is what lets a sync recompute only the customers it touched.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

from stripe_kpi.metrics.movements import CustomerResult
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES

COLUMNS = (
    "mrr",
    "customers",
    *MOVEMENT_TYPES,
    "churned_voluntary",
    "churned_involuntary",
    "churned_mrr_voluntary",
    "churned_mrr_involuntary",
    "mrr_at_risk",
    "trials_ended",
    "trials_converted",
)
#: Columns that are a level at the end of the day (the others are flows during the day).
LEVELS = frozenset({"mrr", "customers", "mrr_at_risk"})
_INDEX = {name: i for i, name in enumerate(COLUMNS)}
_MOVEMENT_COLUMNS = {name: _INDEX[name] for name in MOVEMENT_TYPES}


class Ledger:
    """Per-day sums of :data:`COLUMNS` (reporting minor units for money)."""

    __slots__ = ("_days", "_prefix", "_sorted")

    def __init__(self, results: Iterable[CustomerResult] = ()) -> None:
        self._days: dict[int, list[int]] = {}
        self._sorted: list[int] | None = None
        self._prefix: list[list[int]] = []
        for result in results:
            self.add(result)

    @classmethod
    def from_changes(cls, parts: Iterable[Mapping[int, Sequence[int]]]) -> Ledger:
        """The sum of ledgers given by their :meth:`changes` (customers computed apart, in
        several processes): the same ledger as one built from all their results."""
        ledger = cls()
        for changes in parts:
            for day, change in changes.items():
                row = ledger._row(day)
                for i, value in enumerate(change):
                    row[i] += value
        return ledger

    @classmethod
    def from_daily_rows(cls, rows: Iterable[tuple[int, Sequence[int]]]) -> Ledger:
        """The ledger whose days are these ``daily_metrics`` rows: ``(day, values)``, days as
        ordinals in increasing order, values in :data:`COLUMNS` order (levels at the day's end,
        flows during it), as ``daily_metrics_rows`` wrote them.

        Levels and flows read on the rows' days and after them are the account's; before the
        first row every column reads 0, so a reader passes the rows from the earliest day it
        reads (the day before a period, for its start) — or from the table's first day, before
        which the account had nothing."""
        ledger = cls()
        levels = [i for i, name in enumerate(COLUMNS) if name in LEVELS]
        previous = [0] * len(COLUMNS)
        for day, values in rows:
            change = list(values)
            for i in levels:
                change[i] = values[i] - previous[i]
                previous[i] = values[i]
            if any(change):
                ledger._days[day] = change
        return ledger

    def copy(self) -> Ledger:
        other = Ledger()
        other._days = {day: list(row) for day, row in self._days.items()}
        return other

    def _row(self, day: int) -> list[int]:
        row = self._days.get(day)
        if row is None:
            row = self._days[day] = [0] * len(COLUMNS)
            self._sorted = None
        return row

    def add(self, result: CustomerResult, sign: int = 1) -> None:
        """Add (``sign=1``) or take away (``sign=-1``) one customer's contribution."""
        self._sorted = None
        previous = 0
        for day, value in result.mrr:
            row = self._row(day)
            row[0] += sign * (value - previous)
            row[1] += sign * ((value > 0) - (previous > 0))
            previous = value
        previous = 0
        for day, value in result.at_risk:
            self._row(day)[12] += sign * (value - previous)
            previous = value
        for movement in result.movements:
            row = self._row(movement.day)
            row[_MOVEMENT_COLUMNS[movement.type]] += sign * movement.amount
            if movement.type == "churn":
                involuntary = movement.churn_reason == "involuntary"
                row[9 if involuntary else 8] += sign
                row[11 if involuntary else 10] += sign * -movement.amount
        for trial in result.trials:
            row = self._row(trial.day)
            row[13] += sign
            row[14] += sign * trial.converted

    # -- reading ----------------------------------------------------------------------------

    def changes(self) -> dict[int, tuple[int, ...]]:
        """The per-day changes, in :data:`COLUMNS` order, on the days where something changed.

        A store that saved the account's daily figures applies these to them when a few
        customers are recomputed (a ledger holding one customer's removal and another's
        addition): a level's change shifts that day and every later one, a flow only its day.
        """
        return {day: tuple(row) for day, row in sorted(self._days.items()) if any(row)}

    def _freeze(self) -> list[int]:
        if self._sorted is None:
            days = sorted(d for d, row in self._days.items() if any(row))
            running = [0] * len(COLUMNS)
            prefix = []
            for day in days:
                running = [a + b for a, b in zip(running, self._days[day], strict=True)]
                prefix.append(running)
            self._sorted, self._prefix = days, prefix
        return self._sorted

    def _cumulative(self, day: int) -> list[int]:
        days = self._freeze()
        position = bisect_right(days, day) - 1
        return self._prefix[position] if position >= 0 else [0] * len(COLUMNS)

    def level(self, column: str, day: int) -> int:
        """A level column at the end of ``day`` (0 before any data)."""
        return self._cumulative(day)[_INDEX[column]]

    def flow(self, column: str, first: int, last: int) -> int:
        """A flow column summed over the days ``first``…``last`` inclusive."""
        index = _INDEX[column]
        return self._cumulative(last)[index] - self._cumulative(first - 1)[index]

    def first_day(self) -> int | None:
        days = self._freeze()
        return days[0] if days else None
