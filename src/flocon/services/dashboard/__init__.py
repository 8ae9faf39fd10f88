"""What a workspace's dashboard shows, for a period and filters: volume over time by sentiment,
share of voice, net sentiment trend, top source kinds, sites and authors, emerging themes,
open alerts, and the values its filter menus offer.

Scope. The watches named in :attr:`DashboardFilter.watches`; else the watches of
:attr:`DashboardFilter.group`; else every watch of the workspace.

Period. Rollups are hourly, so the period is widened to whole UTC hours (``since`` rounded
down, ``until`` up) for every figure, and the figures say which period they cover.

Where figures come from, and what they count (originals only: a duplicate never counts):

* **Volume per watch**, **share of voice**: the watches' hourly ``total`` facet rollups (or
  their rollups, split by language and source kind, when one of those is chosen), grouped
  per bucket by the database. A mention that matches two watches counts once under each, so
  per-watch lines may add up to more than the total. They include muted authors and sites
  (a mute hides mentions from lists, it does not rewrite history).
* **Volume total** and **net sentiment trend**: *distinct* mentions of the scope, counted
  once however many of its watches they match: from the facet rollups of the scope (the
  workspace, the group, or the one watch chosen), whatever the sentiment, language and
  source kind; counted on the mentions only when several watches are chosen. With a single
  watch in scope this equals its line. Muted authors and sites count, as above.
* **Top source kinds, sites, authors**: the mentions of the scope, each once, *without*
  muted authors and sites: the whole UTC days of the period from the scope's daily facet
  rollups, the partial days at its edges from the mentions; all from the mentions when
  several watches are chosen or something is muted.
* **Emerging themes** (:mod:`flocon.services.dashboard.themes`): from the newest mentions of
  the scope, without muted authors and sites; cached for 30 minutes per scope.
* **Filter menus**: languages and source kinds from the facet rollups.

Every row carries ``drill``: the :class:`~flocon.services.mentions.MentionQuery` of the
mentions behind it (same scope, period, filters, duplicates and mutes), so that
``page_mentions``/``count_mentions`` with it list and count exactly what the figure counts.
A bar's sentiment slice is ``dataclasses.replace(point.drill, sentiment=...)``.
"""

from __future__ import annotations

from flocon.services.dashboard.charts import (
    ShareRow,
    TrendPoint,
    VolumeLine,
    VolumePoint,
    VolumeSeries,
    net_sentiment_trend,
    share_of_voice,
    volume,
)
from flocon.services.dashboard.common import (
    AUTO_HOURLY,
    MAX_BUCKETS,
    Bucket,
    DashboardFilter,
    net_sentiment,
)
from flocon.services.dashboard.lists import (
    DashboardAlert,
    FilterOptions,
    TopRow,
    filter_options,
    groups,
    open_alerts,
    top_authors,
    top_sites,
    top_sources,
)
from flocon.services.dashboard.themes import THEMES_FRESH, EmergingTheme, emerging

__all__ = [
    "AUTO_HOURLY",
    "MAX_BUCKETS",
    "THEMES_FRESH",
    "Bucket",
    "DashboardAlert",
    "DashboardFilter",
    "EmergingTheme",
    "FilterOptions",
    "ShareRow",
    "TopRow",
    "TrendPoint",
    "VolumeLine",
    "VolumePoint",
    "VolumeSeries",
    "emerging",
    "filter_options",
    "groups",
    "net_sentiment",
    "net_sentiment_trend",
    "open_alerts",
    "share_of_voice",
    "top_authors",
    "top_sites",
    "top_sources",
    "volume",
]
