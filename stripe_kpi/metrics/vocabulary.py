"""The words the metrics layer and the report share: what a movement is called, why a churn was.

They are plain strings, spelled once here as ``Literal`` types: the same strings are what the
``mrr_movement`` table, the CSV and the ``--json`` document hold (METRICS.md §2, §3, §5), so a
``Literal`` keeps every output byte for byte while a type checker catches a misspelt one.
"""

from __future__ import annotations

from typing import Literal, get_args

#: A customer's MRR change on one day (METRICS.md §2); ``fx`` is what exchange rates alone did.
MovementType = Literal["new", "expansion", "contraction", "churn", "reactivation", "fx"]
#: Every movement type, in the order of the ``daily_metrics`` columns.
MOVEMENT_TYPES: tuple[MovementType, ...] = get_args(MovementType)

#: Why a customer churned (METRICS.md §3).
ChurnReason = Literal["voluntary", "involuntary"]
