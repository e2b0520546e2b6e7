"""The 90-day MRR chart: a PNG the email carries inline.

Deterministic on purpose: the same series gives the same bytes (no ``Software`` or date metadata,
fixed DPI, size and style, matplotlib's bundled DejaVu font), so a stored report can be compared
and a test can pin the output. Built on ``matplotlib.figure.Figure`` with the Agg canvas, never
``pyplot``: no display, no global figure registry, nothing left open in a long-running worker.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from stripe_kpi.report.formatting import format_compact_money, format_short_day, minor_exponent

#: Pixels the HTML shows it at; rendered at twice that for sharp text on high-density screens.
CHART_WIDTH_PX = 560
CHART_HEIGHT_PX = 220
_SCALE = 2
_DPI = 100
LINE_COLOR = "#635bff"
GRID_COLOR = "#e6e8eb"
TEXT_COLOR = "#5e6470"

#: A fixed style, independent of the user's matplotlibrc. ``text.parse_math`` off: a ``$`` in a
#: label is a dollar sign, not mathtext.
_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.parse_math": False,
    "axes.unicode_minus": True,
    "svg.hashsalt": "stripe_kpi",
    "path.simplify": True,
}


def render_chart(series: Sequence[tuple[date, int]], currency: str) -> bytes | None:
    """PNG bytes of end-of-day MRR over ``series`` (oldest first); ``None`` for an empty series
    (a report with no history shows no chart rather than an empty frame)."""
    if not series:
        return None
    days = [d for d, _ in series]
    scale = 10 ** minor_exponent(currency)
    values = [amount / scale for _, amount in series]  # floats only for drawing
    with matplotlib.rc_context(_STYLE):
        figure = Figure(
            figsize=(CHART_WIDTH_PX * _SCALE / _DPI, CHART_HEIGHT_PX * _SCALE / _DPI), dpi=_DPI
        )
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw(axes, days, values, currency, scale, _SCALE)
        figure.subplots_adjust(left=0.13, right=0.98, top=0.95, bottom=0.14)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw(
    ax: Axes, days: list[date], values: list[float], currency: str, scale: int, k: int
) -> None:
    """One line with a light fill, y grid only, money on the y axis, ``23 Nov`` on the x axis.
    ``k`` scales strokes and text with the pixel density."""
    ax.plot(days, values, color=LINE_COLOR, linewidth=1.6 * k, solid_joinstyle="round")
    low = min(0.0, *values)
    ax.fill_between(days, values, low, color=LINE_COLOR, alpha=0.08, linewidth=0)
    top = max(values)
    ax.set_ylim(low, top * 1.08 if top > 0 else 1)
    if len(days) > 1:
        ax.set_xlim(days[0], days[-1])
    else:  # one day of history: a dot, centred, not a singular axis
        ax.set_xlim(days[0] - timedelta(days=1), days[0] + timedelta(days=1))
        ax.plot(days, values, "o", color=LINE_COLOR, markersize=3 * k)
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _pos: format_short_day(num2date(x).date()))
    )
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda y, _pos: format_compact_money(round(y * scale), currency))
    )
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8 * k)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID_COLOR)
    ax.spines["bottom"].set_linewidth(0.8 * k)
    ax.tick_params(colors=TEXT_COLOR, labelsize=9 * k, length=0, pad=4 * k)
