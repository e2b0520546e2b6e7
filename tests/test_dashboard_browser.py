"""`stripe-kpi dashboard` opened in a real headless Chromium (Debian's, driven by Playwright),
with every request but the file itself aborted: it makes none, logs no error, draws every
chart, shows the figures `metrics --json` and `movements --json` print, shows a customer named
like an attack as text, and opens a customer's history on a click. `serve`'s page too, with its
search over every customer. Screenshots of each page at 1280×800 and 390×844 are saved.

One browser for the module (each test opens its own page).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.config import Settings
from stripe_kpi.report.formatting import format_money, format_signed_money
from stripe_kpi.services import dashboard_server
from tests.dashboard_support import (
    END,
    SCRIPT_NAME,
    XSS_NAME,
    chromium_executable,
    screenshot_dirs,
    store_account,
)

PAGES = ("overview", "movements", "churn", "cohorts", "segments", "risk", "customers")
TOKEN = "browser-test-token-0123456789"


def _cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'stripe_kpi.db'}"
    renamed = store_account(url)
    env = {"DATABASE_URL": url, "STRIPE_KPI_CURRENCY": "usd", "STRIPE_KPI_TIMEZONE": "UTC"}
    out = folder / "dashboard.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("stripe_kpi.cli._now", lambda: END)
        wrote = _cli(env, "dashboard", "--out", str(out))
        # The stored days run from the account's first to 10 Feb 2026 (END's day).
        html = out.read_text(encoding="utf-8")
        first = html.split('"from":"', 1)[1][:10]
        metrics = json.loads(_cli(env, "metrics", "--json", "--from", first, "--to", "2026-02-10"))
        january = json.loads(
            _cli(env, "metrics", "--json", "--from", "2026-01-01", "--to", "2026-01-31")
        )
        moves = json.loads(_cli(env, "movements", "--json", "--from", first, "--to", "2026-02-10"))
        plans = json.loads(
            _cli(
                env, "metrics", "--segment", "plan", "--json", "--from", first, "--to", "2026-02-10"
            )
        )
        cohorts = {
            metric: json.loads(_cli(env, "cohorts", "--json", "--metric", metric))
            for metric in ("customers", "mrr")
        }
    return {"out": out, "wrote": wrote, "metrics": metrics, "january": january, "moves": moves,
            "renamed": renamed, "url": url, "folder": folder, "cohorts": cohorts,
            "plans": plans}  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


class Watched:
    """A page whose every request but file:// (and the test's own server) is aborted and
    recorded, with its console errors and dialogs recorded too."""

    def __init__(self, browser: Browser, allow: str = "file://", **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.page: Page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith(allow):
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)

    def show(self, name: str) -> None:
        self.page.evaluate(f"location.hash = {name!r}")
        self.page.wait_for_function(f"document.body.dataset.page === {name!r}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def opened(browser: Browser, site: dict[str, Any]) -> Iterator[Watched]:
    """The file, opened once for the module (a 5 MB page takes seconds to parse)."""
    w = Watched(browser, viewport={"width": 1280, "height": 800})
    w.page.goto(site["out"].as_uri())
    yield w
    w.close()


@pytest.fixture
def watched(opened: Watched) -> Watched:
    """The opened file, its search cleared (each test starts from the whole list)."""
    opened.show("customers")
    opened.page.fill("#customer-search", "")
    return opened


#: Marks Plotly draws: a line's path, a bar's path, a heatmap's image.
_MARKS = """(el) => Array.from(el.querySelectorAll(
  '.scatterlayer path.js-line, .barlayer .point path, .heatmaplayer image'))
  .filter((m) => m.tagName === 'image' || ((m.getAttribute('d') || '').length > 2)).length"""


def test_the_file_opens_offline_with_no_request_no_error_and_every_chart_drawn(
    watched: Watched, site: dict[str, Any]
) -> None:
    assert f"wrote {site['out']}" in site["wrote"]
    drawn = {}
    for name in PAGES:
        watched.show(name)
        for chart in watched.page.query_selector_all(f"#page-{name} .chart"):
            drawn[chart.get_attribute("id")] = chart.evaluate(_MARKS)
    watched.show("customers")
    watched.page.click("#table-customers tbody tr")
    drawn["chart-customer"] = watched.page.eval_on_selector("#chart-customer", _MARKS)
    assert set(drawn) == {
        "chart-mrr", "chart-customers", "chart-movements", "chart-churn", "chart-churn-mrr",
        "chart-feedback", "chart-risk", "chart-customer", "chart-cohorts", "chart-segments",
    }  # fmt: skip
    assert all(n > 0 for n in drawn.values()), drawn
    assert watched.requests == []
    assert watched.errors == []
    assert watched.dialogs == []


def test_the_headline_is_what_metrics_json_says(watched: Watched, site: dict[str, Any]) -> None:
    totals = site["metrics"]["totals"]
    cards = {
        card.get_attribute("data-key"): (
            card.get_attribute("data-value"),
            card.query_selector(".value").inner_text(),
        )
        for card in watched.page.query_selector_all("#headline .card")
    }
    cents = round(totals["mrr_end"] * 100)
    assert cards["mrr"] == (str(totals["mrr_end"]), format_money(cents, "usd"))
    assert (
        cards["arr"][1]
        == format_money(12 * cents, "usd")
        == format_money(round(totals["arr"] * 100), "usd")
    )
    assert cards["customers"][0] == str(totals["customers_end"])
    assert cards["arpu"][1] == format_money(round(totals["arpu"] * 100), "usd")
    assert cards["mrr_at_risk"][1] == format_money(round(totals["mrr_at_risk"] * 100), "usd")
    assert totals["mrr_end"] > 0


def test_last_months_movements_are_what_metrics_json_says(
    watched: Watched, site: dict[str, Any]
) -> None:
    watched.show("movements")
    assert watched.page.inner_text("#last-month-label") == "Jan 2026"
    shown = {
        span.get_attribute("data-type"): span.query_selector("b").inner_text()
        for span in watched.page.query_selector_all("#last-month span")
    }
    expected = site["january"]["totals"]["movements"]
    assert shown == {k: format_signed_money(round(v * 100), "usd") for k, v in expected.items()}
    assert any(v != 0 for v in expected.values())
    # The month's row of the table says the same.
    row = watched.page.inner_text("#table-months tbody tr:nth-child(2)")
    assert row.split("\t")[0] == "2026-01"


def test_the_cohort_cells_are_what_cohorts_json_says(
    watched: Watched, site: dict[str, Any]
) -> None:
    watched.show("cohorts")
    for metric, button in (("customers", "customers"), ("mrr", "MRR")):
        watched.page.click(f"#cohorts-body button[data-kind={metric!r}]")
        assert watched.page.inner_text("#cohorts-body button.active") == button
        shown = watched.page.eval_on_selector_all(
            "#table-cohorts tbody tr",
            "(rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent))",
        )
        expected = [
            [
                row["cohort"],
                f"{row['customers']:,}",
                format_money(round(row["starting_mrr"] * 100), "usd"),
                *(
                    f"{m['customers']:,}"
                    if metric == "customers"
                    else format_money(round(m["mrr"] * 100), "usd")
                    for m in row["months"]
                ),
            ]
            for row in site["cohorts"][metric]["cohorts"]
        ]
        assert len(expected) > 3
        assert [[cell for cell in row if cell] for row in shown] == expected


def _embedded(html: str) -> dict[str, Any]:
    """The document the page carries (its ``<script type="application/json">``)."""
    text = html.split('<script type="application/json" id="dashboard-data">', 1)[1]
    return json.loads(text.split("</script>", 1)[0])


def test_segments_are_what_metrics_segment_says_and_add_up_to_mrr(
    watched: Watched, site: dict[str, Any]
) -> None:
    doc = _embedded(site["out"].read_text(encoding="utf-8"))
    segments = doc["segments"]
    assert set(segments["kinds"]) == {"plan", "country", "currency"}
    # Each day, each kind's segments add up to the day's MRR (METRICS.md §8), in cents.
    for kind, series in segments["kinds"].items():
        for i, day in enumerate(segments["dates"]):
            total = sum(round(s["mrr"][i] * 100) for s in series)
            assert total == round(doc["days"]["mrr"][i] * 100), (kind, day)
    # The last day's plans are `metrics --segment plan --json`'s MRR at the period's end.
    # The 8 largest drawn, the rest summed as "other".
    last = {s["name"]: round(s["mrr"][-1] * 100) for s in segments["kinds"]["plan"]}
    ranked = sorted(
        ((round(s["totals"]["mrr_end"] * 100), s["segment"]) for s in site["plans"]["segments"]),
        key=lambda pair: (-pair[0], pair[1]),
    )
    expected = {name: cents for cents, name in ranked[:8]}
    if ranked[8:]:
        expected["other"] = sum(cents for cents, _ in ranked[8:])
    assert last == {name: cents for name, cents in expected.items() if cents}
    assert len(last) > 1
    watched.show("segments")
    for kind in ("plan", "country", "currency"):
        watched.page.click(f"#segments-body button[data-kind={kind!r}]")
        assert watched.page.eval_on_selector("#chart-segments", _MARKS) > 0, kind


def test_a_customer_named_like_an_attack_is_text(watched: Watched, site: dict[str, Any]) -> None:
    watched.show("customers")
    names = watched.page.eval_on_selector_all(
        "#table-customers tbody tr td:first-child", "(cells) => cells.map((c) => c.textContent)"
    )
    assert XSS_NAME in names
    assert SCRIPT_NAME in names
    assert watched.page.query_selector("img") is None  # no element made of the name
    watched.page.fill("#customer-search", "onerror")
    assert watched.page.inner_text("#table-customers tbody").startswith(XSS_NAME)
    watched.page.click("#table-customers tbody tr")
    assert watched.page.inner_text("#customer-name") == XSS_NAME
    assert watched.page.query_selector("img") is None
    assert watched.dialogs == []
    assert watched.errors == []


def test_a_click_on_a_customer_opens_their_history(watched: Watched, site: dict[str, Any]) -> None:
    customer_id = site["renamed"][1]
    watched.show("customers")
    watched.page.click(f"#table-customers tbody tr[data-id={customer_id!r}]")
    assert watched.page.inner_text("#customer-name") == SCRIPT_NAME
    rows = watched.page.eval_on_selector_all(
        "#table-customer-movements tbody tr",
        "(rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent))",
    )
    # Exactly their rows of `movements --json`, newest first, amounts as the report writes them.
    theirs = [m for m in site["moves"] if m["customer_id"] == customer_id]
    assert theirs
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (m["date"], m["type"], format_signed_money(round(m["amount"] * 100), "usd"))
        for m in reversed(theirs)
    ]


def test_screenshots_of_every_page_at_desktop_and_phone_width(
    browser: Browser, site: dict[str, Any], tmp_path: Path
) -> None:
    folders = screenshot_dirs(tmp_path)
    for width, height in ((1280, 800), (390, 844)):
        w = Watched(browser, viewport={"width": width, "height": height})
        try:
            w.page.goto(site["out"].as_uri())
            for name in PAGES:
                w.show(name)
                if name == "customers":
                    w.page.click("#table-customers tbody tr")
                    w.page.evaluate("window.scrollTo(0, 0)")
                target = folders[0] / f"dashboard-{name}-{width}x{height}.png"
                w.page.screenshot(path=str(target))
                for other in folders[1:]:
                    shutil.copy(target, other / target.name)
            assert w.requests == []
            assert w.errors == []
            # Nothing wider than the phone's screen but the tables' own scrolling boxes.
            assert w.page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            w.close()
    shots = sorted(p.name for p in folders[0].glob("dashboard-*.png"))
    assert len(shots) == 2 * len(PAGES)
    assert all((folders[0] / s).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in shots)


def test_the_served_page_searches_and_opens_every_customer(
    browser: Browser, site: dict[str, Any]
) -> None:
    settings = Settings(_env_file=None, database_url=site["url"], dashboard_token=TOKEN)  # type: ignore[call-arg]
    with dashboard_server(settings, lambda: END, host="127.0.0.1", port=0) as server:
        w = Watched(browser, allow=server.url, viewport={"width": 1280, "height": 800})
        try:
            w.page.goto(f"{server.url}?token={TOKEN}")  # sets the cookie, then the bare page
            assert w.page.url == server.url
            w.show("customers")
            w.page.fill("#customer-search", "script")
            w.page.wait_for_function(
                "document.querySelectorAll('#table-customers tbody tr').length === 1"
            )
            w.page.click("#table-customers tbody tr")
            w.page.wait_for_function("document.getElementById('customer-name').textContent")
            assert w.page.inner_text("#customer-name") == SCRIPT_NAME
            assert w.page.eval_on_selector("#chart-customer", _MARKS) > 0
            assert w.requests == []
            assert w.errors == []
            assert w.dialogs == []
        finally:
            w.close()
