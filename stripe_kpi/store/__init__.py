"""The database: engine, pragmas and migrations (:mod:`.engine`), the tables (:mod:`.models`),
and the derived tables the metrics fill (:mod:`.derived`)."""
