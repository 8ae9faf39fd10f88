"""Author influence from stored mentions: compute, store, list, explain (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from flocon.cli.influence import authors as authors_command
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import NotFound
from flocon.services import influence as svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.storage import migrate
from flocon.storage.engine import write
from flocon.storage.tables import author_scores, mentions

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
runner = CliRunner(env={"COLUMNS": "160"})


def post(
    ext_id: str,
    who: str,
    text: str,
    *,
    followers: int | None = None,
    parent: str | None = None,
    at: datetime = T0,
    likes: int | None = None,
) -> Draft:
    return Draft(
        source_kind="mastodon",
        source_name="mastodon.social",
        external_id=ext_id,
        text=text,
        author=AuthorRef(handle=who, followers=followers),
        parent_external_id=parent,
        published_at=at,
        likes=likes,
    )


def ingest(engine: Engine, drafts: Sequence[Draft]) -> None:
    ingestor = Ingestor(1, load_matcher(engine, 1))
    with write(engine) as conn:
        ingestor.ingest_batch(conn, drafts)


def set_sentiment(engine: Engine, scores: dict[str, float]) -> None:
    with write(engine) as conn:
        for ext_id, score in scores.items():
            label = "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"
            conn.execute(
                update(mentions)
                .where(mentions.c.external_id == ext_id)
                .values(sentiment=label, sentiment_score=score)
            )


@pytest.fixture
def conversation(engine: Engine) -> Engine:
    """alice praises Acme and is answered; carol complains; frank talks about Zorg."""
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    watches_svc.add_watch(engine, "default", name="Zorg", query="zorg")
    ingest(
        engine,
        [
            post("1", "alice", "Acme est génial, bravo à l'équipe", followers=50_000, likes=120),
            post("2", "alice", "Encore une super journée avec Acme", followers=50_000),
            post("3", "bob", "Je confirme pour Acme, demande à @carol", parent="1"),
            post("4", "dave", "Tout à fait d'accord avec toi", parent="1"),
            post("5", "carol", "Acme déçoit encore, livraison en retard", followers=300),
            post("6", "carol", "Acme ne répond jamais au service client"),
            post("7", "erin", "Sur Acme, lisez @alice et @Carol", followers=10),
            post("8", "frank", "Zorg sort un nouveau modèle", at=T0 - timedelta(days=30)),
        ],
    )
    set_sentiment(engine, {"1": 0.9, "2": 0.8, "3": 0.1, "5": -0.9, "6": -0.8, "7": 0.0})
    return engine


def test_scores_rank_the_author_the_conversation_turns_to(conversation: Engine) -> None:
    report = svc.compute_influence(conversation, "default", watch="Acme")
    # Reply 3→1 and reply 4→1 (4 names no brand: it is read from outside the scope);
    # mentions: bob → carol, erin → alice, erin → carol.
    assert report.interactions == {"reply": 2, "mention": 3, "share": 0}
    assert report.mentions == 6
    top = svc.top_authors(conversation, "default", watch="Acme")
    by_handle = {s.handle: s for s in top}
    assert top[0].handle == "alice"
    assert set(by_handle) == {"alice", "bob", "carol", "dave", "erin"}  # not frank
    alice, carol = by_handle["alice"], by_handle["carol"]
    assert (alice.replies_received, alice.mentioned_by, alice.followers) == (2, 1, 50_000)
    assert (alice.mentions, alice.engagement, alice.stance) == (2, 120, "advocate")
    assert (carol.mentioned_by, carol.stance) == (2, "detractor")
    assert by_handle["dave"].mentions == 0 and by_handle["dave"].stance == "unknown"
    assert by_handle["bob"].stance == "unknown"  # one analysed mention only
    assert alice.inputs["components"]["network"]["lift"] == pytest.approx(alice.lift)
    assert sum(alice.inputs["contributions"].values()) == pytest.approx(alice.score)


def test_each_watch_has_its_own_scores_and_recomputing_replaces_them(
    conversation: Engine,
) -> None:
    svc.compute_influence(conversation, "default", watch="Acme")
    svc.compute_influence(conversation, "default", watch="Acme")
    svc.compute_influence(conversation, "default", watch="Zorg")
    svc.compute_influence(conversation, "default")
    assert [s.handle for s in svc.top_authors(conversation, "default", watch="Zorg")] == ["frank"]
    everyone = svc.top_authors(conversation, "default", limit=100)
    assert len(everyone) == 6
    with conversation.connect() as conn:
        count = conn.execute(select(func.count()).select_from(author_scores)).scalar_one()
    assert count == 5 + 1 + 6
    detractors = svc.top_authors(conversation, "default", watch="Acme", stance="detractor")
    assert [s.handle for s in detractors] == ["carol"]


def test_since_keeps_only_recent_mentions(conversation: Engine) -> None:
    report = svc.compute_influence(conversation, "default", since=T0 - timedelta(days=1))
    assert report.mentions == 6
    state = svc.scores_state(conversation, "default")
    assert state is not None and state.since == T0 - timedelta(days=1)
    assert "frank" not in {s.handle for s in svc.top_authors(conversation, "default")}


def test_explain_finds_an_author_by_handle(conversation: Engine) -> None:
    svc.compute_influence(conversation, "default", watch="Acme")
    [alice] = svc.explain_author(conversation, "default", "@Alice", watch="Acme")
    assert alice.inputs["stance"]["analysed_mentions"] == 2
    with pytest.raises(NotFound):
        svc.explain_author(conversation, "default", "nobody", watch="Acme")


def test_removing_a_watch_removes_its_scores(conversation: Engine) -> None:
    svc.compute_influence(conversation, "default", watch="Acme")
    watches_svc.remove_watch(conversation, "default", "Acme")
    with conversation.connect() as conn:
        assert conn.execute(select(func.count()).select_from(author_scores)).scalar_one() == 0


def test_migration_downgrade_drops_the_table(engine: Engine) -> None:
    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        assert not engine.dialect.has_table(conn, "author_scores")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert engine.dialect.has_table(conn, "author_scores")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("authors")(authors_command)

    @app.command("other")
    def _other() -> None:  # two commands keep "authors" a sub-command
        pass

    return app


def test_cli_lists_explains_and_filters(conversation: Engine) -> None:
    url = conversation.url.render_as_string(hide_password=False)
    result = runner.invoke(cli(), ["authors", "--watch", "Acme", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "@alice" in result.output and "advocate" in result.output
    assert "PageRank" in result.output
    result = runner.invoke(
        cli(),
        [
            "authors",
            "--watch",
            "Acme",
            "--stance",
            "detractor",
            "--json",
            "-w",
            "default",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert [a["handle"] for a in json.loads(result.stdout)] == ["carol"]
    result = runner.invoke(
        cli(), ["authors", "--watch", "Acme", "--explain", "alice", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    assert "formula" in result.output and "log10" in result.output
    assert "followers 50000" in result.output
    result = runner.invoke(
        cli(), ["authors", "--watch", "Acme", "--explain", "nobody", "--database-url", url]
    )
    assert result.exit_code == 1


def test_cli_refuses_an_unknown_stance(conversation: Engine) -> None:
    url = conversation.url.render_as_string(hide_password=False)
    result = runner.invoke(cli(), ["authors", "--stance", "fan", "--database-url", url])
    assert result.exit_code == 2
