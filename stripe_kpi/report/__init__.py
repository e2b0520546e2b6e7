"""The daily summary: the metrics' result → rows (:mod:`from_metrics`, the one source) →
:mod:`summary` → :mod:`render` (text, HTML) and :mod:`chart` → :mod:`deliver` (SMTP, the
``report_delivery`` record). :mod:`daily` puts one day's report together as values;
:mod:`movements` holds the rows of `stripe-kpi movements`.

Nothing is imported here: matplotlib is slow to import, and a CLI command that does not report
should not pay for it.
"""
