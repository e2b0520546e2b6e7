"""The database: engine, pragmas and migrations (:mod:`.engine`), the tables (:mod:`.models`),
and the derived tables the metrics fill.

``stripe_kpi.metrics`` is pure; this package is the one place that feeds it from SQL
(:mod:`.load`, by ranges of customers: :mod:`.partition`) and stores what it returns
(:mod:`.rows`). A full sync rebuilds every derived table (:mod:`.tables`); an incremental one
recomputes the customers it touched and updates the tables in place (:mod:`.update`), ending
exactly where a rebuild would. Both keep the cycle collector paused from the first row to the last
write: the heap holds millions of objects that cannot form cycles, and every collection would walk
them all.

:mod:`.details` joins what readers show beside the numbers (names, cancellation feedback, MRR
at risk); :mod:`.engine` opens the database, :mod:`.models` declares it.
"""
