"""The web app: pages for people (``ui/``, Jinja2 + htmx) and the REST API (``api/``), both
over the same services. ``create_app(settings)`` builds it; ``flocon run`` serves it."""

from flocon.web.app import create_app

__all__ = ["create_app"]
