"""The ``flocon`` command line: Typer commands over the services."""

from flocon.cli.app import app, main

__all__ = ["app", "main"]
