#!/usr/bin/env bash
# Render the report's HTML and screenshot it with headless Chromium, to look at it as a reader
# would. Usage:
#   scripts/screenshot_report.sh [OUT.png] [REPORT.html]
# Without REPORT.html it renders the built-in sample summary (every section filled, a hostile
# customer name, HTML in a comment); pass the file `stripe-kpi demo` or `stripe-kpi report --html`
# wrote to look at real figures. Needs chromium (Debian: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-report.png}"
html="${2:-}"
width="${SCREENSHOT_WIDTH:-800}"
height="${SCREENSHOT_HEIGHT:-1400}"

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
    echo "error: chromium not found: install it (Debian: apt-get install -y chromium)" >&2
    exit 2
fi

python="${PYTHON:-.venv/bin/python}"
[[ -x "$python" ]] || python=python3

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

if [[ -z "$html" ]]; then
    html="$workdir/report.html"
    "$python" - "$html" <<'PY'
import sys
from pathlib import Path

from stripe_kpi.report.chart import render_chart
from stripe_kpi.report.render import render_html_file
from stripe_kpi.report.sample import sample_summary

summary = sample_summary()
page = render_html_file(summary, render_chart(summary.series, summary.currency))
Path(sys.argv[1]).write_text(page, encoding="utf-8")
PY
fi

# No network, no profile, no first-run UI: the page must render from the file alone, as it must
# in a mail client that blocks remote content.
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$workdir/profile" --screenshot="$(realpath -m "$out")" \
    --window-size="$width,$height" "file://$(realpath "$html")" >/dev/null 2>&1
echo "$out"
