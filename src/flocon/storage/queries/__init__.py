"""Queries: all SQL of flocon, one module per kind of record."""
