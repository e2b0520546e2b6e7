"""What a founder types for ``stripe-kpi spend``: a month and an amount, alone or as CSV rows.

Amounts are major units of the reporting currency with at most its decimals (``4500``,
``4500.50``; ``4500`` yen), stored in minor units. Every bad value is one line that says what
is wrong (and, in a file, on which line), so nothing half-understood reaches the table.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal

from stripe_kpi.errors import InputError
from stripe_kpi.metrics.money import minor_exponent

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_AMOUNT = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")
#: Far above any marketing budget, far below BigInteger: a typo (pasted digits) stops here.
_LARGEST_MINOR = 10**15


@dataclass(frozen=True, slots=True)
class SpendEntry:
    """One month's spend: ``month`` as ``YYYY-MM``, ``amount`` in the currency's minor units."""

    month: str
    amount: int


def month_problem(text: str) -> str | None:
    """Why ``text`` is not a month ``YYYY-MM`` (None when it is one)."""
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        return f"{text!r} is not a month: use YYYY-MM (e.g. 2026-10)"
    return None


def amount_problem(text: str, currency: str) -> str | None:
    """Why ``text`` is not an amount of ``currency`` in major units (None when it is one)."""
    match = _AMOUNT.match(text)
    if match is None:
        return f"{text!r} is not an amount: use major units such as 4500 or 4500.50"
    if text.startswith("-") and Decimal(text) != 0:
        return f"{text!r} is negative: spend is 0 or more"
    places = minor_exponent(currency)
    if len(match.group(2) or "") > places:
        return f"{text!r} has more decimals than {currency.upper()} has ({places})"
    if Decimal(text).scaleb(places) > _LARGEST_MINOR:
        return f"{text!r} is too large for a month's spend"
    return None


def to_minor(text: str, currency: str) -> int:
    """A checked amount (see :func:`amount_problem`) in minor units: exact, no float."""
    return abs(int(Decimal(text).scaleb(minor_exponent(currency))))


def parse_entry(month: str, amount: str, currency: str) -> SpendEntry:
    """``spend set MONTH AMOUNT``: the entry, or one ``InputError`` line."""
    month, amount = month.strip(), amount.strip()
    problem = month_problem(month) or amount_problem(amount, currency)
    if problem is not None:
        raise InputError(problem)
    return SpendEntry(month, to_minor(amount, currency))


def parse_csv(text: str, currency: str, name: str) -> list[SpendEntry]:
    """``spend import FILE``: rows ``month,amount``, an optional ``month,amount`` header, blank
    lines ignored. The first bad row raises one ``InputError`` naming ``name`` and its line
    number (a month twice in the file is bad: which one was meant?); nothing is returned then,
    so nothing is imported."""
    entries: list[SpendEntry] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not entries and not seen and [c.lower() for c in cells] == ["month", "amount"]:
            continue  # the header
        if len(cells) != 2:
            problem = f"expected month,amount; found {len(cells)} fields"
        else:
            month, amount = cells
            problem = month_problem(month) or amount_problem(amount, currency)
            if problem is None and month in seen:
                problem = f"{month} is already on line {seen[month]}"
        if problem is not None:
            raise InputError(f"{name} line {line}: {problem}")
        seen[month] = line
        entries.append(SpendEntry(month, to_minor(amount, currency)))
    if not entries:
        raise InputError(f"{name} has no spend rows (expected lines such as 2026-10,4500)")
    return entries
