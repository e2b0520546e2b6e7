"""How a backfill splits a list into ``created`` windows that can be paged concurrently.

Stripe lists newest first, 100 objects a page, and a sequential pager waits one round trip per
page. A window is an inclusive ``created`` range, optionally resumed after an id. Paging a window
gives one page; if Stripe says ``has_more``, the page's oldest timestamp ``t`` tells where the rest
lies, and the rest becomes (at most) three new windows:

* ``[t, t]`` after the page's last id — the objects that share the second ``t`` with the page's
  tail (paged in Stripe's order with ``starting_after``, so none is fetched twice or skipped);
* ``[lo, t-1]`` split in two halves, so the dense part of an account fans out into as many
  concurrent windows as the rate limit can use, whatever its shape over time.

Every object is fetched exactly once, and a window is a plain value: the backfill's checkpoint is
the set of windows still pending, committed with the rows of the page that produced them.
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


def next_windows(window: Window, page: list[dict[str, Any]], has_more: bool) -> list[Window]:
    """What remains of ``window`` after one page of it (newest first)."""
    if not has_more or not page:
        return []
    oldest = int(page[-1]["created"])
    last_id = page[-1]["id"]
    rest: list[Window] = []
    if window.after is not None and oldest == window.hi == window.lo:
        return [Window(window.kind, oldest, oldest, last_id)]
    rest.append(Window(window.kind, oldest, oldest, last_id))
    lo, hi = window.lo, oldest - 1
    if lo > hi:
        return rest
    if hi - lo < MIN_SPLIT_SECONDS:
        rest.append(Window(window.kind, lo, hi))
        return rest
    mid = lo + (hi - lo) // 2
    rest.append(Window(window.kind, mid + 1, hi))
    rest.append(Window(window.kind, lo, mid))
    return rest
