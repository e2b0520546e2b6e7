"""The dashboard's HTML: one self-contained page (styles, script, data and the chart library
inlined), rendered with Jinja2 from the document of :mod:`.document`.

The chart library is plotly.js, as the ``plotly`` package ships it (``package_data/plotly.min.js``,
MIT): it draws every chart here (lines, stacked bars with a line, stacked areas, a heatmap) with
hover values and zoom built in, needs no network once inlined, and is kept up by Plotly. It costs
about 4.8 MB of the file, which leaves the 100,000-customer file room under 8 MB.

Escaping: the page's text goes through Jinja2's autoescape; the data is JSON in a
``<script type="application/json">`` element with ``<``, ``>`` and ``&`` written as ``\\u003c``…
(and U+2028/U+2029 escaped), so a name such as ``</script><img onerror=…>`` stays a string;
the page script puts Stripe's strings in the page with ``textContent`` only.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from stripe_kpi.errors import ConfigurationError

#: The pages, in the order of the tabs: (anchor, label).
PAGES = (
    ("overview", "Overview"),
    ("movements", "Movements"),
    ("churn", "Churn"),
    ("cohorts", "Cohorts"),
    ("segments", "Segments"),
    ("risk", "MRR at risk"),
    ("customers", "Customers"),
)

_ENV = Environment(
    loader=PackageLoader("stripe_kpi.dashboard", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    keep_trailing_newline=True,
)
_SCRIPT_SAFE = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@functools.cache
def plotly_js() -> str:
    """plotly.js as the installed ``plotly`` package ships it, read once per process."""
    try:
        source = resources.files("plotly") / "package_data" / "plotly.min.js"
        text = source.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - a broken install
        raise ConfigurationError(
            "the plotly package (its plotly.min.js) is missing: reinstall stripe-kpi"
        ) from None
    # Inside <script>, only "</script" could end the element early; none is there today.
    return text.replace("</script", "<\\/script")


def json_for_script(document: Any) -> str:
    """JSON that cannot end or break out of the ``<script>`` element holding it."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE)


def render_page(document: dict[str, Any]) -> str:
    """The whole page of ``document``."""
    template = _ENV.get_template("dashboard.html")
    return template.render(
        doc=document, pages=PAGES, data_json=json_for_script(document), plotly_js=plotly_js()
    )
