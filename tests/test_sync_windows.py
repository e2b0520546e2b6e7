"""The backfill's window splitting: every object exactly once, whatever the account's shape."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_kpi.sync.windows import STRIPE_EPOCH, Window, initial_windows, next_windows

T = STRIPE_EPOCH + 500_000_000


def obj(i: str, created: int) -> dict:
    return {"id": i, "created": created}


def test_last_page_leaves_nothing() -> None:
    assert next_windows(Window("invoices", 0, 100), [obj("in_1", 50)], has_more=False) == []


def test_has_more_continues_the_walk_and_starts_a_new_one_below() -> None:
    window = Window("invoices", 1000, 2000)
    page = [obj("in_9", 1900), obj("in_8", 1500)]
    assert next_windows(window, page, has_more=True) == [
        Window("invoices", 1251, 1500, "in_8"),
        Window("invoices", 1000, 1250),
    ]


def test_without_split_the_walk_just_continues() -> None:
    window = Window("invoices", 1000, 2000, "in_99")
    page = [obj("in_9", 1900), obj("in_8", 1500)]
    assert next_windows(window, page, has_more=True, split=False) == [
        Window("invoices", 1000, 1500, "in_8")
    ]


def test_a_page_inside_one_second_keeps_its_cursor() -> None:
    window = Window("customers", 2000, 2000)
    page = [obj("cus_3", 2000), obj("cus_2", 2000)]
    assert next_windows(window, page, has_more=True) == [Window("customers", 2000, 2000, "cus_2")]


def test_narrow_windows_are_not_split() -> None:
    window = Window("prices", 1000, 1030)
    assert next_windows(window, [obj("price_1", 1020)], has_more=True) == [
        Window("prices", 1000, 1020, "price_1"),
    ]


def test_window_params_are_stripes() -> None:
    assert Window("invoices", 5, 9, "in_1").params() == {
        "limit": 100,
        "created": {"gte": 5, "lte": 9},
        "starting_after": "in_1",
    }
    assert Window.from_json(Window("invoices", 5, 9, "in_1").to_json()) == Window(
        "invoices", 5, 9, "in_1"
    )


def test_initial_windows_tile_history_without_overlap() -> None:
    windows = initial_windows("customers", T, pieces=4)
    assert windows[0].lo == STRIPE_EPOCH
    assert windows[-1].hi == T
    for left, right in itertools.pairwise(windows):
        assert right.lo == left.hi + 1


def fake_stripe_page(objects: list[dict], window: Window, limit: int) -> tuple[list[dict], bool]:
    """Stripe's list semantics: newest first (ties by id, descending), created filter inclusive,
    starting_after continues after the given id."""
    chosen = sorted(
        (o for o in objects if window.lo <= o["created"] <= window.hi),
        key=lambda o: (o["created"], o["id"]),
        reverse=True,
    )
    if window.after:  # the cursor object always lies inside the window's created range
        index = next(i for i, o in enumerate(chosen) if o["id"] == window.after)
        chosen = chosen[index + 1 :]
    return chosen[:limit], len(chosen) > limit


@settings(max_examples=60, deadline=None)
@given(
    created=st.lists(
        st.one_of(
            st.integers(T - 3, T),  # heavy ties near the end
            st.integers(STRIPE_EPOCH, T),
        ),
        max_size=120,
    ),
    limit=st.integers(1, 7),
    pieces=st.integers(1, 5),
    splits=st.lists(st.booleans(), min_size=1, max_size=20),
)
def test_every_object_exactly_once(
    created: list[int], limit: int, pieces: int, splits: list[bool]
) -> None:
    objects = [obj(f"x_{i:04d}", c) for i, c in enumerate(created)]
    pending = initial_windows("x", T, pieces)
    fetched: list[str] = []
    pages = 0
    while pending:
        window = pending.pop()
        page, has_more = fake_stripe_page(objects, window, limit)
        fetched += [o["id"] for o in page]
        pending += next_windows(window, page, has_more, split=splits[pages % len(splits)])
        pages += 1
        assert pages < 10_000
    assert sorted(fetched) == sorted(o["id"] for o in objects)
