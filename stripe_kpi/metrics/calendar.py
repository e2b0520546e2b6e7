"""Calendar days in the reporting time zone, and month arithmetic.

Internally a day is an ``int``: its proleptic Gregorian ordinal (``date.toordinal()``), so that
"the next day" is ``+ 1`` and a day is a cheap dict key. Instants are unix seconds, as Stripe gives
them. Mapping an instant to its local day is the innermost operation of the whole computation, so
local midnights are computed once per day and looked up by bisection.
"""

from __future__ import annotations

import calendar as _calendar
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_EPOCH = date(1970, 1, 1).toordinal()
_DAY = 86_400


class LocalCalendar:
    """Maps unix seconds to local days of one time zone (``STRIPE_KPI_TIMEZONE``) and back."""

    __slots__ = ("_first", "_midnights", "_utc", "_zone", "tz")

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self._zone = ZoneInfo(tz)
        self._utc = tz.upper() in ("UTC", "ETC/UTC", "Z")
        self._first = 0
        self._midnights: list[int] = []

    def midnight(self, day: int) -> int:
        """The first instant of local ``day`` (unix seconds).

        A day whose midnight falls in a daylight-saving gap starts at the end of the gap.
        """
        if self._utc:
            return (day - _EPOCH) * _DAY
        local = datetime.combine(date.fromordinal(day), time(0), tzinfo=self._zone)
        return int(local.timestamp())

    def _cover(self, ts: int) -> None:
        """Extend the table of midnights so that it brackets ``ts``."""
        guess = _EPOCH + ts // _DAY
        if not self._midnights:
            self._first = guess - 2
            self._midnights = [self.midnight(d) for d in range(self._first, guess + 3)]
            return
        while ts < self._midnights[0]:
            count = max(32, len(self._midnights))
            self._first -= count
            self._midnights[:0] = [self.midnight(self._first + i) for i in range(count)]
        while ts >= self._midnights[-1]:
            start = self._first + len(self._midnights)
            count = max(32, len(self._midnights))
            self._midnights.extend(self.midnight(start + i) for i in range(count))

    def next_midnight(self, day: int) -> int:
        """The first instant after local ``day`` (the end of the day, exclusive)."""
        if self._utc:
            return (day + 1 - _EPOCH) * _DAY
        position = day + 1 - self._first
        if 0 <= position < len(self._midnights):
            return self._midnights[position]
        return self.midnight(day + 1)

    def day_of(self, ts: int) -> int:
        """The local day an instant falls on."""
        if self._utc:
            return _EPOCH + ts // _DAY
        midnights = self._midnights
        if not midnights or ts < midnights[0] or ts >= midnights[-1]:
            self._cover(ts)
            midnights = self._midnights
        return self._first + bisect_right(midnights, ts) - 1


def utc_date(ts: int) -> date:
    """The UTC calendar date of an instant: the day of an exchange rate (see ``history``)."""
    return datetime.fromtimestamp(ts, UTC).date()


def month_end(day: date) -> date:
    return day.replace(day=_calendar.monthrange(day.year, day.month)[1])


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return month_end(day) + timedelta(days=1)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole months, the day clamped to the month's length (Stripe's rule: a
    subscription anchored on the 31st renews on the 30th in a 30-day month)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, _calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
