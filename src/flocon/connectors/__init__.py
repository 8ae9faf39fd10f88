"""Connectors: one module per source kind, each a thin fetcher plus a pure parser."""
