"""Signals for one workspace at one moment: spikes, shifts to negative, snowball risks,
influential authors, new sites and sources down. Each becomes an *alert* row (one per
episode, mention, site or source failure), and each change of an alert an :class:`AlertEvent`
that the alerting service turns into deliveries.

:func:`evaluate` takes ``now`` as an argument: the scheduler passes the clock, ``flocon replay``
a simulated one. Detectors read rollups (flocon.storage.queries.rollups), never whole
mention tables; the per-watch state (open episodes) is saved between calls.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, Engine

from flocon.analysis.topics import TopicInput, emerging_themes
from flocon.domain.models import Watch
from flocon.domain.query.keywords import keywords_from_queries
from flocon.settings import Settings
from flocon.signals import KINDS as _KINDS
from flocon.signals import detectors
from flocon.signals.detectors import Counts, DetectorConfig, Sensitivity
from flocon.signals.episodes import EpisodeEvent, EpisodeTracker
from flocon.signals.snowball import Activity, SnowballInput, snowball
from flocon.signals.topic_surge import (
    PhraseCache,
    TopicConfig,
    TopicItem,
    TopicReading,
    negative_theme_config,
    shares_a_phrase,
    surging_topics,
    with_negative_theme,
)
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import rollups as rq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = ["KINDS", "AlertEvent", "evaluate"]

Kind = Literal["spike", "negative_shift", "snowball", "influencer", "new_site", "source_down"]
KINDS: Final[tuple[Kind, ...]] = _KINDS
HISTORY: Final = timedelta(days=28)
RECENT: Final = timedelta(hours=2)
#: Negative mentions this recent are scored for snowball risk at each evaluation.
SNOWBALL_HORIZON: Final = timedelta(hours=6)
#: A snowball alert is updated when its probability rises by this much.
SNOWBALL_STEP: Final = 0.1
EVIDENCE: Final = 10
#: On a watch's first check, mentions published before this long ago are history.
FIRST_CHECK: Final = timedelta(minutes=5)
_TICK: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class AlertEvent:
    """One alert opened, updated or closed."""

    alert_id: int
    action: Literal["opened", "updated", "closed"]
    watch: str | None
    watch_id: int | None
    group: str | None
    kind: str
    episode_start: datetime
    detected_at: datetime
    severity: str
    score: float | None
    evidence: list[int]
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)


def _severity_of(probability: float, threshold: float) -> str:
    if probability >= max(0.85, threshold + 0.3):
        return "high"
    if probability >= max(0.65, threshold + 0.15):
        return "medium"
    return "low"


def _counts(series: dict[datetime, rq.BucketCounts]) -> dict[datetime, Counts]:
    return {k: Counts(v.total, v.negative) for k, v in series.items()}


def _sensitivity(rules: Sequence[aq.RuleRow], watch: Watch) -> Sensitivity:
    """The most sensitive level among the rules that cover the watch (medium without rules)."""
    levels = [
        r.sensitivity
        for r in rules
        if (r.watch_id is None and r.group_name is None)
        or r.watch_id == watch.id
        or (r.group_name is not None and r.group_name == watch.group)
    ]
    best: Sensitivity = "medium"
    for level in detectors.SENSITIVITIES:
        if level in levels:
            best = level
    return best


def _spread(conn: Connection, first: Sequence[aq.EvidenceRow], until: datetime) -> list[str]:
    """How the first mentions spread: who replied to whom (as sentences)."""
    replies = aq.children(conn, [m.id for m in first], until)
    by_id = {m.id: m for m in first}
    lines: list[str] = []
    for reply in replies[:EVIDENCE]:
        parent = by_id.get(reply.parent_id or -1)
        if parent is None:
            continue
        lines.append(
            f"{reply.author or 'someone'} replied to {parent.author or 'someone'} "
            f"(mention {parent.id}) at {reply.occurred_at:%H:%M}"
        )
    return lines


def _episode_evidence(
    conn: Connection, watch_id: int, kind: str, onset: datetime, now: datetime
) -> tuple[list[int], dict[str, Any]]:
    # One read of the episode's mentions (oldest first) serves every part of the evidence.
    episode = aq.watch_mentions(conn, watch_id, since=onset, until=now, limit=TOPIC_FOCUS)
    focus = (
        [m for m in episode if m.sentiment == "negative"] if kind == "negative_shift" else episode
    )
    first = focus[:EVIDENCE]
    sites: dict[str, int] = {}
    for m in episode:
        sites[m.site or m.source_kind] = sites.get(m.site or m.source_kind, 0) + 1
    top_sites = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return [m.id for m in first], {
        "topics": _episode_topics(conn, watch_id, focus, onset),
        "earliest": [
            {"id": m.id, "at": m.occurred_at.isoformat(), "site": m.site, "author": m.author}
            for m in first
        ],
        "spread": _spread(conn, first, now),
        "sites": [{"site": s, "mentions": n} for s, n in top_sites],
    }


#: Mentions read to say what an episode is about: the episode's, and the week before.
TOPIC_FOCUS: Final = 2000
TOPIC_BACKGROUND: Final = 3000


def _episode_topics(
    conn: Connection, watch_id: int, focus: Sequence[aq.EvidenceRow], onset: datetime
) -> list[dict[str, Any]]:
    """What the episode is about: themes over-represented in its mentions (``focus``) against
    the watch's week before (weighted log-odds, the method of `flocon topics`)."""
    background = aq.watch_texts(
        conn, watch_id, since=onset - timedelta(days=7), until=onset - _TICK, limit=TOPIC_BACKGROUND
    )
    if len(focus) < 3 or len(background) < 10:
        return []
    query = wq.get_by_id(conn, watch_id).query
    drivers = emerging_themes(
        [TopicInput(m.id, m.text, m.lang) for m in focus],
        [TopicInput(m.id, m.text, m.lang) for m in background],
        exclude=keywords_from_queries([query]),
    )
    return [
        {
            "label": d.label,
            "phrases": [p.text for p in d.phrases],
            "mentions": d.negative,
            "of": d.negative_total,
            "z": round(d.z, 2),
        }
        for d in drivers
    ]


def _episode_events(
    conn: Connection,
    ws_id: int,
    watch: Watch,
    sensitivity: Sensitivity,
    state: dict[str, Any],
    now: datetime,
) -> list[AlertEvent]:
    hour = rq.bucket_start(now, 3600)
    hourly = rq.series(conn, watch.id, 3600, hour - HISTORY, hour)
    recent = rq.series(conn, watch.id, 300, rq.bucket_start(now - RECENT, 300), now)
    theme = _negative_theme(conn, watch, sensitivity, now)
    if theme is not None:  # the topic surge check leaves this story to the negative_shift
        state["negative_theme"] = {"phrases": [theme.topic, *theme.phrases], "at": now.isoformat()}
    readings = with_negative_theme(
        detectors.assess(
            now, _counts(hourly), _counts(recent), DetectorConfig(sensitivity=sensitivity)
        ),
        theme,
    )
    tracker = EpisodeTracker.from_dict(state["episodes"]) if "episodes" in state else None
    tracker = tracker or EpisodeTracker()
    events = [_store_episode(conn, ws_id, watch, e, now) for e in tracker.step(now, readings)]
    state["episodes"] = tracker.to_dict()
    return [e for e in events if e is not None]


def _store_episode(
    conn: Connection, ws_id: int, watch: Watch, event: EpisodeEvent, now: datetime
) -> AlertEvent | None:
    ep = event.episode
    key = ep.onset.astimezone(UTC).isoformat()
    found = aq.find_alert(conn, ws_id, watch.id, ep.kind, key)
    evidence, details = _episode_evidence(conn, watch.id, ep.kind, ep.onset, now)
    details.update(
        {"observed": ep.peak_observed, "expected": ep.expected, "opened_at": ep.opened_at}
    )
    explanation = ep.explanation
    if details["topics"]:
        about = ", ".join(f"« {t['label']} » ({t['mentions']})" for t in details["topics"])
        explanation = f"{explanation}; about {about}"
    if event.action == "opened" or found is None:
        if found is not None:
            return None
        alert_id = aq.open_alert(
            conn,
            ws_id,
            watch_id=watch.id,
            kind=ep.kind,
            key=key,
            severity=ep.severity,
            score=None,
            episode_start=ep.onset,
            detected_at=now,
            updated_at=now,
            explanation=explanation,
            evidence=evidence,
            details=details,
        )
        action: Literal["opened", "updated", "closed"] = "opened"
        detected = now
    elif event.action == "updated":
        alert_id, action, detected = found.id, "updated", found.detected_at
        aq.update_alert(
            conn,
            alert_id,
            severity=ep.severity,
            updated_at=now,
            explanation=explanation,
            evidence=evidence,
            details=details,
        )
    else:
        alert_id, action, detected = found.id, "closed", found.detected_at
        values: dict[str, Any] = {"updated_at": now, "closed_at": ep.closed_at or now}
        if found.status in ("open", "acked"):
            values["status"] = "closed"
        aq.update_alert(conn, alert_id, **values)
    return AlertEvent(
        alert_id=alert_id,
        action=action,
        watch=watch.name,
        watch_id=watch.id,
        group=watch.group,
        kind=ep.kind,
        episode_start=ep.onset,
        detected_at=detected,
        severity=ep.severity,
        score=None,
        evidence=evidence,
        explanation=explanation,
        details=details,
    )


def _mention_event(
    conn: Connection,
    ws_id: int,
    watch: Watch | None,
    kind: str,
    key: str,
    *,
    start: datetime,
    now: datetime,
    severity: str,
    score: float | None,
    evidence: list[int],
    explanation: str,
    details: dict[str, Any],
    min_step: float | None = None,
) -> AlertEvent | None:
    """Open an alert for one mention, site or source, or update it when its score rose."""
    watch_id = watch.id if watch is not None else None
    found = aq.find_alert(conn, ws_id, watch_id, kind, key)
    if found is None:
        alert_id = aq.open_alert(
            conn,
            ws_id,
            watch_id=watch_id,
            kind=kind,
            key=key,
            severity=severity,
            score=score,
            episode_start=start,
            detected_at=now,
            updated_at=now,
            explanation=explanation,
            evidence=evidence,
            details=details,
        )
        action: Literal["opened", "updated", "closed"] = "opened"
        detected = now
    else:
        if min_step is None or score is None or (found.score or 0.0) + min_step > score:
            return None
        if found.status not in ("open", "acked"):
            return None
        alert_id, action, detected = found.id, "updated", found.detected_at
        aq.update_alert(
            conn,
            alert_id,
            severity=severity,
            score=score,
            updated_at=now,
            explanation=explanation,
            details=details,
        )
    return AlertEvent(
        alert_id=alert_id,
        action=action,
        watch=watch.name if watch is not None else None,
        watch_id=watch_id,
        group=watch.group if watch is not None else None,
        kind=kind,
        episode_start=start,
        detected_at=detected,
        severity=severity,
        score=score,
        evidence=evidence,
        explanation=explanation,
        details=details,
    )


#: Topic surges are looked for at most this often per watch (they read up to 5,000 texts).
TOPIC_EVERY: Final = timedelta(minutes=10)
TOPIC_BACKGROUND_SPAN: Final = timedelta(days=14)
TOPIC_BACKGROUND_MAX: Final = 5000
#: A topic episode closes after this long without its topic surging.
TOPIC_CLOSE_AFTER: Final = timedelta(minutes=60)


@functools.cache
def _phrase_cache() -> PhraseCache:
    """Key phrases of mentions, kept between checks (one per process, by mention id: a mention
    in several watches is tokenised once)."""
    return PhraseCache()


def _topic_items(rows: Sequence[aq.EvidenceRow]) -> list[TopicItem]:
    return [TopicItem(m.id, m.occurred_at, m.text, m.lang, m.author) for m in rows]


def _topic_background(
    conn: Connection, watch: Watch, before: datetime
) -> tuple[list[TopicItem], timedelta]:
    """The watch's mentions of the :data:`TOPIC_BACKGROUND_SPAN` before ``before`` (the newest
    :data:`TOPIC_BACKGROUND_MAX`), and the span they cover."""
    rows = aq.watch_texts(
        conn,
        watch.id,
        since=before - TOPIC_BACKGROUND_SPAN,
        until=before - _TICK,
        limit=TOPIC_BACKGROUND_MAX,
    )
    span = TOPIC_BACKGROUND_SPAN
    if len(rows) == TOPIC_BACKGROUND_MAX:
        span = before - rows[-1].occurred_at
    return [TopicItem(r.id, r.occurred_at, r.text, r.lang, r.author) for r in rows], span


def _topic_events(
    conn: Connection,
    ws_id: int,
    watch: Watch,
    sensitivity: Sensitivity,
    state: dict[str, Any],
    now: datetime,
) -> list[AlertEvent]:
    """Per-topic spikes: a theme surging inside the watch's conversation while its total may
    stay ordinary. One alert (kind ``spike``, ``details.topic``) per topic episode."""
    last = state.get("topics_checked_at")
    if last is not None and now - datetime.fromisoformat(last) < TOPIC_EVERY:
        return []
    state["topics_checked_at"] = now.isoformat()
    config = TopicConfig(sensitivity=sensitivity)
    recent_rows = aq.watch_mentions(
        conn, watch.id, since=now - config.window, until=now, limit=2000
    )
    readings = []
    if len(recent_rows) >= config.min_mentions:
        background, span = _topic_background(conn, watch, now - config.window)
        readings = surging_topics(
            now,
            _topic_items(recent_rows),
            background,
            span,
            config,
            exclude=keywords_from_queries([watch.query]),
            cache=_phrase_cache(),
        )
    told = state.get("negative_theme")
    if told is not None and now - datetime.fromisoformat(told["at"]) < TOPIC_CLOSE_AFTER:
        # a story already told as a negative theme is one episode, not two alerts
        known = set(told["phrases"])
        readings = [r for r in readings if not known & {r.topic, *r.phrases}]
    return _theme_events(conn, ws_id, watch, state, now, readings)


def _negative_theme(
    conn: Connection, watch: Watch, sensitivity: Sensitivity, now: datetime
) -> TopicReading | None:
    """The best negative theme of the watch at ``now``, if one fires
    (:func:`~flocon.signals.topic_surge.negative_theme_config`): at least 3 authors writing
    negative mentions that share a phrase rare in the watch's past, within minutes. It reads the
    last 30 minutes' negative mentions, and the background only when 3 authors wrote them."""
    config = negative_theme_config(sensitivity)
    negatives = aq.watch_mentions(
        conn, watch.id, since=now - config.window, until=now, sentiment="negative", limit=1000
    )
    authors = {m.author or f"#{m.id}" for m in negatives}
    if len(negatives) < config.min_mentions or len(authors) < config.min_authors:
        return None
    items = _topic_items(negatives)
    keywords = keywords_from_queries([watch.query])
    if not shares_a_phrase(items, config.min_authors, keywords, _phrase_cache()):
        return None
    background, span = _topic_background(conn, watch, now - config.window)
    readings = surging_topics(
        now, items, background, span, config, exclude=keywords, cache=_phrase_cache()
    )
    return readings[0] if readings else None


def _theme_events(
    conn: Connection,
    ws_id: int,
    watch: Watch,
    state: dict[str, Any],
    now: datetime,
    readings: Sequence[TopicReading],
) -> list[AlertEvent]:
    """Open or update one ``spike`` alert per topic episode of ``readings``; close the episodes
    whose topic has not surged for :data:`TOPIC_CLOSE_AFTER`."""
    episodes: dict[str, dict[str, str]] = state.setdefault("topic_episodes", {})
    events: list[AlertEvent] = []
    for reading in readings:
        episode = episodes.get(reading.topic)
        details = {
            "topic": reading.topic,
            "phrases": list(reading.phrases),
            "observed": reading.observed,
            "expected": round(reading.expected, 3),
            "authors": reading.authors,
            "score": round(reading.score, 2),
        }
        if episode is None:
            key = f"topic:{reading.topic}:{reading.onset.astimezone(UTC).isoformat()}"
            episodes[reading.topic] = {"key": key, "last": now.isoformat()}
        else:
            episode["last"] = now.isoformat()
            key = episode["key"]
        event = _mention_event(
            conn,
            ws_id,
            watch,
            "spike",
            key[:300],
            start=reading.onset,
            now=now,
            severity=reading.severity,
            score=reading.score,
            evidence=list(reading.evidence),
            explanation=reading.explanation,
            details=details,
            min_step=max(3.0, 0.5 * reading.score),
        )
        if event is not None:
            events.append(event)
    for topic, episode in list(episodes.items()):
        if now - datetime.fromisoformat(episode["last"]) < TOPIC_CLOSE_AFTER:
            continue
        del episodes[topic]
        found = aq.find_alert(conn, ws_id, watch.id, "spike", episode["key"][:300])
        if found is not None and found.status in ("open", "acked"):
            aq.update_alert(conn, found.id, status="closed", closed_at=now, updated_at=now)
            events.append(
                AlertEvent(
                    alert_id=found.id,
                    action="closed",
                    watch=watch.name,
                    watch_id=watch.id,
                    group=watch.group,
                    kind="spike",
                    episode_start=found.episode_start,
                    detected_at=found.detected_at,
                    severity=found.severity,
                    score=found.score,
                    evidence=found.evidence,
                    explanation=found.explanation,
                    details=found.details,
                )
            )
    return events


def _snowball_events(
    conn: Connection, ws_id: int, watch: Watch, settings: Settings, now: datetime
) -> list[AlertEvent]:
    candidates = aq.watch_mentions(
        conn,
        watch.id,
        since=now - SNOWBALL_HORIZON,
        until=now,
        sentiment="negative",
        limit=500,
        newest_first=True,
    )
    if not candidates:
        return []
    influence = aq.influence_scores(
        conn, ws_id, watch.id, [m.author_id for m in candidates if m.author_id is not None]
    )
    replies: dict[int, list[aq.EvidenceRow]] = {}
    for reply in aq.children(conn, [m.id for m in candidates], now):
        replies.setdefault(reply.parent_id or -1, []).append(reply)
    events = []
    for m in candidates:
        activity = [
            Activity(at=r.occurred_at, author_key=r.author, kind="reply", parent_key=m.author)
            for r in replies.get(m.id, [])
        ]
        score = snowball(
            SnowballInput(
                published_at=m.occurred_at,
                now=now,
                text=m.text,
                sentiment_score=m.sentiment_score,
                platform=m.source_kind,
                author_followers=m.followers,
                author_network_score=(
                    influence[m.author_id] / 100 if m.author_id in influence else None
                ),
                is_reply=m.parent_id is not None,
                activity=activity,
                likes=m.likes,
                shares=m.shares,
                replies=m.replies,
            )
        )
        if score.probability < settings.snowball_threshold:
            continue
        event = _mention_event(
            conn,
            ws_id,
            watch,
            "snowball",
            str(m.id),
            start=m.occurred_at,
            now=now,
            severity=_severity_of(score.probability, settings.snowball_threshold),
            score=round(score.probability, 4),
            evidence=[m.id, *[r.id for r in replies.get(m.id, [])][: EVIDENCE - 1]],
            explanation=f"{score.probability:.0%} risk that this negative mention snowballs: "
            + score.explanation(),
            details={
                "factors": [
                    {
                        "name": f.name,
                        "value": round(f.value, 4),
                        "weight": round(f.weight, 4),
                        "contribution": round(f.contribution, 4),
                        "label": f.label,
                    }
                    for f in score.factors
                ]
            },
            min_step=SNOWBALL_STEP,
        )
        if event is not None:
            events.append(event)
    return events


def _new_mention_events(
    conn: Connection,
    ws_id: int,
    watch: Watch,
    settings: Settings,
    state: dict[str, Any],
    now: datetime,
) -> list[AlertEvent]:
    """Influential authors and new sites among the mentions stored since the last check.

    "Since the last check" follows mention ids (kept in the watch's state), not publication
    times, so an item a feed delivers an hour late is still seen once. On a watch's first check,
    what was published more than 5 minutes before is history, not news.
    """
    if "last_mention_id" not in state:
        state["last_mention_id"] = aq.last_mention_id(conn, watch.id, now - FIRST_CHECK)
    cursor = int(state["last_mention_id"])
    fresh = aq.watch_mentions_after(conn, watch.id, cursor, now)
    if fresh:
        state["last_mention_id"] = fresh[-1].id
    events: list[AlertEvent] = []
    scores = aq.influence_scores(
        conn, ws_id, watch.id, [m.author_id for m in fresh if m.author_id is not None]
    )
    for m in fresh:
        followers = m.followers or 0
        score = scores.get(m.author_id) if m.author_id is not None else None
        by_score = score is not None and score >= settings.influencer_score
        if followers < settings.influencer_followers and not by_score:
            continue
        reasons = []
        if followers:
            reasons.append(f"{followers:,} followers on {m.source_kind}")
        if score is not None:
            reasons.append(f"influence score {score:.0f}/100")
        high = followers >= 10 * settings.influencer_followers or (score or 0) >= 80
        event = _mention_event(
            conn,
            ws_id,
            watch,
            "influencer",
            str(m.id),
            start=m.occurred_at,
            now=now,
            severity="high" if high else "medium",
            score=score if score is not None else float(followers),
            evidence=[m.id],
            explanation=f"{m.author or 'an author'} ({', '.join(reasons)}) mentioned {watch.name}",
            details={"followers": m.followers, "influence": score, "author": m.author},
        )
        if event is not None:
            events.append(event)
    sites = sorted({m.site for m in fresh if m.site})
    known = aq.sites_seen_before(conn, watch.id, sites, cursor) if sites else set()
    first_by_site: dict[str, aq.EvidenceRow] = {}
    for m in fresh:
        if m.site and m.site not in known and m.site not in first_by_site:
            first_by_site[m.site] = m
    for site, m in first_by_site.items():
        if cursor == 0:
            break  # a watch's very first mentions are not "new sites"
        event = _mention_event(
            conn,
            ws_id,
            watch,
            "new_site",
            site,
            start=m.occurred_at,
            now=now,
            severity="low",
            score=None,
            evidence=[m.id],
            explanation=f"first mention of {watch.name} on {site}",
            details={"site": site},
        )
        if event is not None:
            events.append(event)
    return events


def _source_events(
    conn: Connection, ws_id: int, settings: Settings, now: datetime
) -> list[AlertEvent]:
    events = []
    down_before = now - timedelta(seconds=settings.source_down_after_s)
    for row in aq.failing_sources(conn, ws_id, down_before):
        event = _mention_event(
            conn,
            ws_id,
            None,  # a source belongs to the workspace, not to a watch
            "source_down",
            f"{row.id}@{row.failing_since.isoformat()}",
            start=row.failing_since,
            now=now,
            severity="medium",
            score=None,
            evidence=[],
            explanation=f"source {row.kind} {row.name!r} has been failing since "
            f"{row.failing_since:%Y-%m-%d %H:%M} UTC: {row.last_error or 'no detail'}",
            details={"source_id": row.id},
        )
        if event is not None:
            events.append(event)
    return events


def evaluate(
    engine: Engine,
    settings: Settings,
    workspace: str,
    *,
    now: datetime | None = None,
    watches: Sequence[str] | None = None,
) -> list[AlertEvent]:
    """Run every detector of the workspace at ``now``; store and return the alert changes."""
    now = now or datetime.now(UTC)
    events: list[AlertEvent] = []
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        all_watches = wq.list_all(conn, ws.id)
        rules = aq.list_rules(conn, ws.id)
    chosen = [w for w in all_watches if watches is None or w.name in watches]
    for watch in chosen:
        with write(engine) as conn:
            _, state = aq.load_state(conn, watch.id)
            events += _episode_events(conn, ws.id, watch, _sensitivity(rules, watch), state, now)
            events += _topic_events(conn, ws.id, watch, _sensitivity(rules, watch), state, now)
            events += _snowball_events(conn, ws.id, watch, settings, now)
            events += _new_mention_events(conn, ws.id, watch, settings, state, now)
            aq.save_state(conn, watch.id, now, state)
    with write(engine) as conn:
        events += _source_events(conn, ws.id, settings, now)
    return events
