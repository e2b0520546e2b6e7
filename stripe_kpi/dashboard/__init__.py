"""The dashboard: one self-contained HTML file (``stripe-kpi dashboard``) or the same pages from a
small local server (``stripe-kpi serve``), drawn from the derived tables only.

- :mod:`.data` reads ``daily_metrics``, ``mrr_movement`` and ``customer_result`` (and the few
  joins of ``store.details``) into one JSON-ready document;
- :mod:`.page` renders that document into the page (Jinja2, the chart library inlined);
- :mod:`.server` serves it read-only, with a token when it listens beyond 127.0.0.1.
"""
