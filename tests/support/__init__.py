"""Helpers shared by the test folders (importable because ``tests/`` is on ``sys.path``)."""
