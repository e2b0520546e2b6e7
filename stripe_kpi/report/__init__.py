"""The daily summary: rows → :mod:`summary` → :mod:`render` (text, HTML) and :mod:`chart` →
:mod:`deliver` (SMTP, the ``report_delivery`` record). :mod:`job` holds the bodies that the CLI
and the worker call; :mod:`load` reads the rows from the database.

Nothing is imported here: matplotlib is slow to import, and a CLI command that does not report
should not pay for it.
"""
