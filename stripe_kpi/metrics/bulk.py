"""Bulk-work helpers: the computation builds millions of small immutable objects.

CPython's cycle collector runs every few hundred allocations and, as the heap grows, rescans every
tracked object: at a million invoice lines it costs more than the work itself. Nothing the metrics
build can form a reference cycle (tuples and frozen records of plain values), so pausing it during
a bulk build and restoring it after frees nothing late and changes no result.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration, then restore its previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
