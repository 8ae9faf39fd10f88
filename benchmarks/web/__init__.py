"""Speed benchmarks of the web app (issue 6): a generated database of real texts
(:mod:`benchmarks.web.generate`), request latency of the dashboard and mentions pages and API
(:mod:`benchmarks.web.run`), and many users browsing while an import runs
(:mod:`benchmarks.web.load`). ``python -m benchmarks.web`` runs the three on SQLite and, when
``FLOCON_TEST_POSTGRES_URL`` is set (``scripts/with-postgres.sh``), on PostgreSQL."""
