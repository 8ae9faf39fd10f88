"""Which connector reads which source kind: the built-in mapping plus third-party plugins.

A plugin package declares an entry point in the group ``flocon.connectors`` whose
name is the kind and whose object is a connector instance or class (instantiated
without arguments). Plugins are loaded on first need, once; a built-in kind
cannot be replaced by a plugin.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Final

from flocon.connectors.base import Connector
from flocon.connectors.bluesky import BlueskyConnector
from flocon.connectors.feeds import FeedConnector
from flocon.connectors.hackernews import HackerNewsConnector
from flocon.connectors.mastodon import MastodonConnector
from flocon.connectors.reddit import RedditConnector
from flocon.connectors.site import SiteConnector
from flocon.connectors.web import WebConnector
from flocon.connectors.youtube import YouTubeConnector
from flocon.errors import FloconError

__all__ = ["CONNECTORS", "ENTRY_POINT_GROUP", "all_connectors", "get_connector"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final = "flocon.connectors"

#: The built-in connectors, by kind.
CONNECTORS: Final[dict[str, Connector]] = {
    FeedConnector.kind: FeedConnector(),
    HackerNewsConnector.kind: HackerNewsConnector(),
    MastodonConnector.kind: MastodonConnector(),
    BlueskyConnector.kind: BlueskyConnector(),
    RedditConnector.kind: RedditConnector(),
    YouTubeConnector.kind: YouTubeConnector(),
    WebConnector.kind: WebConnector(),
    SiteConnector.kind: SiteConnector(),
}

_plugins: dict[str, Connector] | None = None


def _load_plugins() -> dict[str, Connector]:
    global _plugins
    if _plugins is not None:
        return _plugins
    found: dict[str, Connector] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in CONNECTORS:
            logger.warning(
                "plugin %s cannot replace the built-in %r connector", entry.value, entry.name
            )
            continue
        try:
            loaded = entry.load()
            connector = loaded() if isinstance(loaded, type) else loaded
        except Exception as exc:  # a plugin's import can fail in any way
            raise FloconError(
                f"connector plugin {entry.name!r} ({entry.value}) failed to load: {exc}"
            ) from exc
        if getattr(connector, "kind", None) != entry.name:
            raise FloconError(
                f"connector plugin {entry.name!r} ({entry.value}) declares kind "
                f"{getattr(connector, 'kind', None)!r}"
            )
        found[entry.name] = connector
    _plugins = found
    return found


def all_connectors() -> dict[str, Connector]:
    """Every known connector by kind: built-ins first, then plugins."""
    return {**CONNECTORS, **_load_plugins()}


def get_connector(kind: str) -> Connector:
    """The connector of ``kind``; raises :class:`FloconError` listing the known kinds."""
    connector = CONNECTORS.get(kind)
    if connector is not None:
        return connector
    connectors = all_connectors()
    if kind in connectors:
        return connectors[kind]
    raise FloconError(f"unknown source kind {kind!r} (known: {', '.join(sorted(connectors))})")
