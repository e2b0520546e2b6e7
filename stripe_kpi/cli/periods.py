"""The days a command is about, from its options: ``--date D``, ``--from A --to B`` (either end
may be left out), and what "today" is in the reporting time zone. Bad input is one
``InputError`` line (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from stripe_kpi.config import Settings
from stripe_kpi.errors import InputError


@dataclass(frozen=True)
class Period:
    first: date
    last: date


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def parse_period(
    today: date,
    *,
    on: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Period:
    """--date D, or --from A --to B (either end may be left out), or month to date."""
    if on and (start or end):
        raise InputError("give either --date or --from/--to, not both")
    if on:
        day = parse_day(on, "--date")
        first = last = day
    else:
        last = parse_day(end, "--to") if end else today
        first = parse_day(start, "--from") if start else last.replace(day=1)
    if first > last:
        raise InputError(f"--from {first} is after --to {last}")
    if last > today:
        raise InputError(f"{last} is in the future (today is {today} in the reporting time zone)")
    return Period(first, last)


def local_today(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()
