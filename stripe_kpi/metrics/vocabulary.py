"""The words the metrics layer and the report share: what a movement is called, why a churn was,
and the movements of some days summed by type.

Types and reasons are plain strings, spelled once here as ``Literal`` types: the same strings are
what the ``mrr_movement`` table, the CSV and the ``--json`` document hold (METRICS.md §2, §3, §5),
so a ``Literal`` keeps every output byte for byte while a type checker catches a misspelt one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

#: A customer's MRR change on one day (METRICS.md §2); ``fx`` is what exchange rates alone did.
MovementType = Literal["new", "expansion", "contraction", "churn", "reactivation", "fx"]
#: Every movement type, in the order of the ``daily_metrics`` columns.
MOVEMENT_TYPES: tuple[MovementType, ...] = get_args(MovementType)

#: Why a customer churned (METRICS.md §3).
ChurnReason = Literal["voluntary", "involuntary"]


class MovementSums(Protocol):
    """A row that carries one signed sum per movement type: a ``daily_metrics`` row as the report
    reads it (``report.inputs.DayRow``), or :class:`Movements` itself."""

    @property
    def new(self) -> int: ...
    @property
    def expansion(self) -> int: ...
    @property
    def contraction(self) -> int: ...
    @property
    def churn(self) -> int: ...
    @property
    def reactivation(self) -> int: ...
    @property
    def fx(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Movements:
    """Signed sums of the five movements over some days (contraction and churn are ≤ 0), ``fx``
    apart, as METRICS.md §2 keeps exchange-rate changes out of net new MRR. The KPIs of a period
    and the report's day and month to date are both one of these."""

    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0
    fx: int = 0

    @property
    def net(self) -> int:
        """Net new MRR = new + expansion + reactivation + contraction + churn (fx excluded)."""
        return self.new + self.expansion + self.reactivation + self.contraction + self.churn

    @classmethod
    def total(cls, rows: Iterable[MovementSums]) -> Movements:
        """The sums over ``rows`` (the report's days, say), movement by movement."""
        rows = list(rows)
        return cls(**{name: sum(getattr(row, name) for row in rows) for name in MOVEMENT_TYPES})
