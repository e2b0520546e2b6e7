"""How a backfill splits a list into ``created`` windows that can be paged concurrently.

Stripe lists newest first, 100 objects a page, and a sequential pager waits one round trip per
page. A window is an inclusive ``created`` range, optionally continued after an id. Paging a window
gives one page; if Stripe says ``has_more``, the page's oldest timestamp ``t`` and last id tell
where the rest lies: ``[lo, t]`` after that id (Stripe's ``starting_after`` inside a ``created``
filter). When the backfill wants more concurrency, that rest is cut in two:

* ``[mid+1, t]`` after the id — the same walk, continued;
* ``[lo, mid]`` from scratch — a new walk that can run at the same time.

Otherwise the walk simply continues, so pages stay full (a split costs one partly filled page at
the end of each walk). Every object is fetched exactly once, and a window is a plain value: the
backfill's checkpoint is the set of windows still pending, committed with the rows of the page
that produced them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: No Stripe object predates Stripe; windows start here rather than at 0 to keep keys readable.
STRIPE_EPOCH = 1_262_304_000  # 2010-01-01T00:00:00Z

#: A window narrower than this is paged sequentially rather than split further: splitting a few
#: seconds buys no concurrency and costs a request for each empty half.
MIN_SPLIT_SECONDS = 60


@dataclass(frozen=True, order=True)
class Window:
    """``created`` in [lo, hi] (inclusive) of one list, resumed after ``after`` when set."""

    kind: str
    lo: int
    hi: int
    after: str | None = None

    @property
    def key(self) -> str:
        return f"backfill:{self.kind}:{self.lo}:{self.hi}:{self.after or ''}"

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": 100, "created": {"gte": self.lo, "lte": self.hi}}
        if self.after:
            params["starting_after"] = self.after
        return params

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "lo": self.lo, "hi": self.hi, "after": self.after})

    @classmethod
    def from_json(cls, text: str) -> Window:
        value = json.loads(text)
        return cls(value["kind"], value["lo"], value["hi"], value.get("after"))


def initial_windows(
    kind: str, until: int, pieces: int = 1, since: int = STRIPE_EPOCH
) -> list[Window]:
    """The whole history of one list, up to the backfill's start, in ``pieces`` equal windows."""
    pieces = max(1, pieces)
    span = until - since + 1
    bounds = [since + span * i // pieces for i in range(pieces + 1)]
    return [
        Window(kind, bounds[i], bounds[i + 1] - 1)
        for i in range(pieces)
        if bounds[i] <= bounds[i + 1] - 1
    ]


def next_windows(
    window: Window, page: list[dict[str, Any]], has_more: bool, *, split: bool = True
) -> list[Window]:
    """What remains of ``window`` after one page of it (newest first); cut in two if ``split``
    and the rest spans enough time to be worth it."""
    if not has_more or not page:
        return []
    last = page[-1]
    oldest = int(last["created"] if "created" in last else last["date"])  # an invoice item's
    rest = Window(window.kind, window.lo, oldest, last["id"])
    if not split or oldest - window.lo < MIN_SPLIT_SECONDS:
        return [rest]
    mid = window.lo + (oldest - window.lo) // 2
    return [
        Window(window.kind, mid + 1, oldest, rest.after),
        Window(window.kind, window.lo, mid),
    ]
