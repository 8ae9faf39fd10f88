"""The ``web`` connector: a web page (article, forum thread, review page) and its comments.

Pure parsers (``page``, ``article``, ``engines``, ``structured``, ``apis``) turn HTML
or JSON into drafts; ``connector`` only fetches and keeps the cursor.
"""

from __future__ import annotations

from flocon.connectors.web.apis import discourse_posts, wordpress_api_comments
from flocon.connectors.web.connector import SEEN_LIMIT, WebConnector, max_pages
from flocon.connectors.web.page import ParsedPage, parse_page

__all__ = [
    "SEEN_LIMIT",
    "ParsedPage",
    "WebConnector",
    "discourse_posts",
    "max_pages",
    "parse_page",
    "wordpress_api_comments",
]
