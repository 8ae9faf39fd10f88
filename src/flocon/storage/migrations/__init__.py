"""Alembic migrations of the flocon schema."""
