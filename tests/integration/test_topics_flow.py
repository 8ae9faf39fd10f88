"""``flocon topics`` and the topics service on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from flocon.cli.app import FloconGroup
from flocon.cli.topics import topics
from flocon.domain.models import Draft
from flocon.services import topics as topics_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SINCE, UNTIL = "2026-11-01", "2026-11-25"
runner = CliRunner()

NEGATIVE = [
    "Acme livraison en retard, colis toujours pas arrivé",
    "Trois jours de retard pour ma livraison Acme",
    "Colis Acme en retard et livreur introuvable",
    "Encore une livraison Acme en retard, c'est la dernière fois",
    "Retard de livraison chez Acme, personne ne répond",
    "My Acme delivery is late again, the parcel never came",
    "Late delivery from Acme, third time this month",
    "Acme delivery late by two days and no answer",
    "Acme : livraison en retard \x1b[2J [red]alerte[/red]",
]
OTHER = [
    "L'application Acme est pratique pour suivre les prix",
    "Les prix Acme sont corrects, application claire",
    "Nouvelle application Acme, des prix bas cette semaine",
    "The Acme app is great and the prices are low",
    "Prices at Acme went down, the app shows them",
    "Application Acme mise à jour, les prix restent bas",
    "Livraison Acme rapide, merci",
    "Acme delivery on time, nice",
]


def _draft(ext_id: str, text: str, when: datetime) -> Draft:
    return Draft(
        external_id=ext_id,
        text=text,
        published_at=when,
        source_kind="forum",
        source_name="forum.example",
    )


def _ingest(engine: Engine, drafts: Sequence[Draft]) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id))
    with write(engine) as conn:
        counts = ingestor.ingest_batch(conn, drafts)
    assert counts.new == len(drafts), counts


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """A watch 'Acme' whose late deliveries drive the negative mentions."""
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    drafts = [_draft(f"n{i}", t, T0 + timedelta(hours=i)) for i, t in enumerate(NEGATIVE)]
    drafts += [_draft(f"o{i}", t, T0 + timedelta(hours=i)) for i, t in enumerate(OTHER)]
    old = "Acme livraison en retard il y a longtemps, un vieux souvenir de colis perdu"
    drafts.append(_draft("old", old, T0 - timedelta(days=90)))
    _ingest(engine, drafts)
    with write(engine) as conn:
        conn.execute(
            update(mentions)
            .where(mentions.c.external_id.like("n%") | (mentions.c.external_id == "old"))
            .values(sentiment="negative")
        )
        conn.execute(
            update(mentions).where(mentions.c.external_id.like("o%")).values(sentiment="positive")
        )
    return engine


def _period() -> dict[str, datetime]:
    return {
        "since": datetime(2026, 11, 1, tzinfo=UTC),
        "until": datetime(2026, 11, 25, tzinfo=UTC),
    }


def test_service_finds_the_driver_of_negativity_in_the_period(seeded: Engine) -> None:
    result = topics_svc.watch_topics(seeded, "default", "Acme", **_period())
    report = result.report
    assert (report.mentions, report.negative, report.other) == (17, 9, 8)
    assert result.excluded == ("acme",)
    assert report.drivers
    top = {p.text for p in report.drivers[0].phrases}
    assert top & {"retard", "livraison en retard", "late", "delivery"}
    every = {p.text for t in report.themes for p in t.phrases}
    assert "acme" not in every
    with read(seeded) as conn:
        old_id = conn.execute(select(mentions.c.id).where(mentions.c.external_id == "old")).scalar()
    assert all(old_id not in t.mention_ids for t in report.themes)


def test_service_refuses_an_empty_period(seeded: Engine) -> None:
    from flocon.errors import ConfigError

    with pytest.raises(ConfigError, match="period"):
        topics_svc.watch_topics(seeded, "default", "Acme", since=T0, until=T0 - timedelta(days=1))


def _cli(engine: Engine, *args: str) -> tuple[int, str, str]:
    app = typer.Typer(cls=FloconGroup)

    @app.callback()
    def _root() -> None:
        """Root of the test application."""

    app.command("topics")(topics)
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["topics", *args, "--database-url", url])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_prints_json(seeded: Engine) -> None:
    code, out, _ = _cli(
        seeded, "--watch", "Acme", "--since", SINCE, "--until", UNTIL, "--json", "--examples", "2"
    )
    assert code == 0
    data = json.loads(out)
    assert (data["watch"], data["mentions"], data["negative"]) == ("Acme", 17, 9)
    assert data["since"] == "2026-11-01T00:00:00Z"
    driver = data["drivers"][0]
    assert driver["z"] >= 1.96 and driver["negative"] <= driver["negative_total"] == 9
    assert 1 <= len(driver["examples"]) <= 2
    assert {"id", "snippet"} == set(driver["examples"][0])
    assert all(0 < t["share"] <= 1 for t in data["themes"])


def test_cli_prints_text_made_safe(seeded: Engine) -> None:
    code, out, _ = _cli(seeded, "--watch", "Acme", "--since", SINCE, "--until", UNTIL)
    assert code == 0
    assert "Themes" in out and "Drivers of negativity" in out
    assert "\x1b" not in out
    assert "z " in out


def test_cli_unknown_watch_fails_clearly(seeded: Engine) -> None:
    code, _, err = _cli(seeded, "--watch", "Nope")
    assert code == 1
    assert "Nope" in err


def test_cli_refuses_an_inverted_period(seeded: Engine) -> None:
    code, _, err = _cli(seeded, "--watch", "Acme", "--since", UNTIL, "--until", SINCE)
    assert code == 2
    assert "--since" in err
