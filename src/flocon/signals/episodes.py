"""One alert per episode: turn a stream of detector readings into opened / updated / closed events.

A detector is called every few minutes and keeps saying "firing" for as long as an anomaly lasts.
Users want one notification when it starts, a follow-up only when it clearly gets worse, and a note
when it is over. :class:`EpisodeTracker` does that, per reading kind (``spike``,
``negative_shift``, or any other label such as a baseline's name):

* **opened**: the first firing reading of a kind that has no open episode;
* **updated**: while open, only when the severity rises (low < medium < high) or the observed value
  has grown by at least 50 % since the last event sent for this episode (not every 5 minutes);
* **closed**: once no firing reading of that kind has been seen for ``close_after``.

The tracker state is small and JSON-serialisable (:meth:`EpisodeTracker.to_dict`), so it can be
stored in the database between two runs of the periodic job and restored with
:meth:`EpisodeTracker.from_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flocon.signals.detectors import Reading

__all__ = ["GROWTH_FOR_UPDATE", "SEVERITY_RANK", "Episode", "EpisodeEvent", "EpisodeTracker"]

#: An open episode is re-announced when its observed value reaches this multiple of the last one.
GROWTH_FOR_UPDATE = 1.5

#: Severities in rising order (an unknown one ranks below ``low``).
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


@dataclass
class Episode:
    """One anomaly of one kind, from its opening to its closing."""

    kind: str
    opened_at: datetime
    onset: datetime
    updated_at: datetime
    closed_at: datetime | None
    severity: str
    peak_observed: float
    expected: float
    explanation: str
    #: Observed value carried by the last event sent (opened or updated); drives the 50 % rule.
    last_event_observed: float = 0.0
    #: Last time a firing reading of this kind was seen; drives the closing rule.
    last_firing_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (datetimes as ISO 8601 strings)."""
        return {
            "kind": self.kind,
            "opened_at": self.opened_at.isoformat(),
            "onset": self.onset.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "severity": self.severity,
            "peak_observed": self.peak_observed,
            "expected": self.expected,
            "explanation": self.explanation,
            "last_event_observed": self.last_event_observed,
            "last_firing_at": (
                None if self.last_firing_at is None else self.last_firing_at.isoformat()
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Episode:
        """Inverse of :meth:`to_dict`."""

        def _dt(value: Any) -> datetime | None:
            return None if value is None else datetime.fromisoformat(str(value))

        opened_at = datetime.fromisoformat(str(data["opened_at"]))
        return cls(
            kind=str(data["kind"]),
            opened_at=opened_at,
            onset=datetime.fromisoformat(str(data["onset"])),
            updated_at=datetime.fromisoformat(str(data["updated_at"])),
            closed_at=_dt(data.get("closed_at")),
            severity=str(data["severity"]),
            peak_observed=float(data["peak_observed"]),
            expected=float(data["expected"]),
            explanation=str(data["explanation"]),
            last_event_observed=float(data.get("last_event_observed", data["peak_observed"])),
            last_firing_at=_dt(data.get("last_firing_at")) or opened_at,
        )


@dataclass(frozen=True)
class EpisodeEvent:
    """Something to notify: an episode was opened, got clearly worse, or ended."""

    action: Literal["opened", "updated", "closed"]
    episode: Episode


class EpisodeTracker:
    """Deduplicates detector readings into episodes (one open episode per kind at most).

    Events carry a *copy* of the episode as it was at that moment, so callers may keep them.
    """

    def __init__(self, *, close_after: timedelta = timedelta(minutes=30)) -> None:
        if close_after <= timedelta(0):
            raise ValueError("close_after must be positive")
        self.close_after = close_after
        self._open: dict[str, Episode] = {}

    @property
    def open_episodes(self) -> dict[str, Episode]:
        """The episodes currently open, by kind (a copy)."""
        return {kind: replace(ep) for kind, ep in self._open.items()}

    def step(self, now: datetime, readings: Sequence[Reading]) -> list[EpisodeEvent]:
        """Feed the readings of one run; return the events to notify (possibly none)."""
        events: list[EpisodeEvent] = []
        seen: set[str] = set()
        for reading in readings:
            seen.add(reading.kind)
            episode = self._open.get(reading.kind)
            if reading.firing:
                if episode is None:
                    events.append(self._open_episode(now, reading))
                else:
                    event = self._maybe_update(now, episode, reading)
                    if event is not None:
                        events.append(event)
            elif episode is not None:
                closed = self._maybe_close(now, episode)
                if closed is not None:
                    events.append(closed)
        # Kinds that produced no reading this time count as "not firing".
        for kind in [k for k in self._open if k not in seen]:
            closed = self._maybe_close(now, self._open[kind])
            if closed is not None:
                events.append(closed)
        return events

    def _open_episode(self, now: datetime, reading: Reading) -> EpisodeEvent:
        severity = reading.severity or "low"
        episode = Episode(
            kind=reading.kind,
            opened_at=now,
            onset=reading.onset or now,
            updated_at=now,
            closed_at=None,
            severity=severity,
            peak_observed=reading.observed,
            expected=reading.expected,
            explanation=reading.explanation,
            last_event_observed=reading.observed,
            last_firing_at=now,
        )
        self._open[reading.kind] = episode
        return EpisodeEvent("opened", replace(episode))

    def _maybe_update(
        self, now: datetime, episode: Episode, reading: Reading
    ) -> EpisodeEvent | None:
        episode.last_firing_at = now
        episode.peak_observed = max(episode.peak_observed, reading.observed)
        if reading.onset is not None and reading.onset < episode.onset:
            episode.onset = reading.onset
        new_severity = reading.severity or episode.severity
        rises = SEVERITY_RANK.get(new_severity, 0) > SEVERITY_RANK.get(episode.severity, 0)
        grows = reading.observed >= GROWTH_FOR_UPDATE * episode.last_event_observed > 0
        if not (rises or grows):
            return None
        if rises:
            episode.severity = new_severity
        episode.updated_at = now
        episode.expected = reading.expected
        episode.explanation = reading.explanation
        episode.last_event_observed = reading.observed
        return EpisodeEvent("updated", replace(episode))

    def _maybe_close(self, now: datetime, episode: Episode) -> EpisodeEvent | None:
        last = episode.last_firing_at or episode.updated_at
        if now - last < self.close_after:
            return None
        episode.closed_at = now
        episode.updated_at = now
        del self._open[episode.kind]
        return EpisodeEvent("closed", replace(episode))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (datetimes as ISO strings)."""
        return {
            "version": 1,
            "close_after_seconds": self.close_after.total_seconds(),
            "open": [ep.to_dict() for ep in self._open.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeTracker:
        """Rebuild a tracker saved with :meth:`to_dict`."""
        tracker = cls(close_after=timedelta(seconds=float(data.get("close_after_seconds", 1800))))
        for raw in data.get("open", []):
            episode = Episode.from_dict(raw)
            tracker._open[episode.kind] = episode
        return tracker
