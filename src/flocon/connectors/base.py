"""What every connector is: a thin async fetcher plus a pure parser.

The fetch runner (``services/fetching.py``) gives a connector a :class:`SourceSpec`
and the shared :class:`~flocon.connectors.http.HttpClient`; the connector returns a
:class:`FetchResult`: the drafts it found and the cursor to store *with* them, in the
same transaction, so a killed process resumes from the last committed cursor.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from flocon.domain.models import Draft

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A configured source as a connector sees it.

    ``cursor`` is the JSON object the connector returned last time (``{}`` at first);
    ``credentials`` are decrypted values (never log them); ``queries`` are the boolean
    queries of the workspace's watches, for platforms searched by keywords.
    """

    id: int
    kind: str
    name: str
    target: str
    options: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    cursor: Mapping[str, Any] = field(default_factory=dict)
    queries: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch found. ``cursor`` replaces the stored cursor once the drafts are stored.

    ``retry_after_s``, when set, asks the runner not to fetch this source again for at
    least that many seconds (e.g. a daily quota spent until its reset): the next run is
    then the later of this and the source's usual interval. ``None`` (the default) keeps
    the usual schedule.
    """

    drafts: list[Draft]
    cursor: dict[str, Any]
    not_modified: bool = False
    note: str = ""
    retry_after_s: float | None = None


class Connector(Protocol):
    """One source kind. Implementations are registered in ``connectors/registry.py``."""

    kind: ClassVar[str]
    #: Words for `flocon source add --help` and docs/sources.md.
    summary: ClassVar[str]

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """Check and normalise what the user typed (raise ``ValueError`` with a clear message)."""
        ...

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Fetch what is new since ``source.cursor``."""
        ...


@runtime_checkable
class StreamingConnector(Connector, Protocol):
    """A connector that can also follow its source in real time (Mastodon streaming,
    Bluesky Jetstream). Run by ``services/fetching.py``'s ``run_stream``."""

    def is_streamed(self, source: SourceSpec) -> bool:
        """Whether this source is read as a stream (its target or options say so)."""
        ...

    def stream(
        self,
        source: SourceSpec,
        http: HttpClient,
        *,
        max_seconds: float | None,
        max_items: int | None,
    ) -> AsyncGenerator[FetchResult, None]:
        """Batches from ``source.cursor`` on, until closed: a batch closes after
        ``max_seconds`` or ``max_items`` drafts, and its ``cursor`` is stored with it, so a
        restart resumes after the last stored batch. Dropped connections are reopened
        (a :class:`~flocon.errors.ConnectorError` ends the stream when they keep failing)."""
        ...


def supports_streaming(connector: object) -> bool:
    """Whether ``connector`` implements :class:`StreamingConnector`."""
    return isinstance(connector, StreamingConnector)
