"""Storage: SQLAlchemy Core tables, engine factory, migrations and queries (the only place SQL lives)."""
