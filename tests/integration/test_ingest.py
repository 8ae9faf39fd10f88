"""The ingest service: normalise, deduplicate, match and store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from flocon.domain.models import AuthorRef, Draft
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import IngestCounts, Ingestor
from flocon.storage.engine import write
from flocon.storage.tables import authors, mention_watches, mentions

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draft(ext_id: str | None, text: str, **kw: object) -> Draft:
    values: dict[str, object] = {"source_kind": "forum", "source_name": "forum.example"}
    values.update(kw)
    return Draft(external_id=ext_id, text=text, **values)  # type: ignore[arg-type]


def ingest(engine: Engine, drafts: Sequence[Draft], workspace_id: int = 1) -> IngestCounts:
    ingestor = Ingestor(workspace_id, load_matcher(engine, workspace_id))
    with write(engine) as conn:
        return ingestor.ingest_batch(conn, drafts)


def test_items_are_matched_and_stored_once(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="SNCF", query="sncf OR ouigo")
    watches_svc.add_watch(engine, "default", name="Orange", query="orange")
    batch = [
        draft("1", "Encore un retard SNCF ce matin", published_at=T0),
        draft("2", "Ma box Orange et mon train OUIGO en panne", published_at=T0),
        draft("3", "Rien à voir avec les marques", published_at=T0),
    ]
    counts = ingest(engine, batch)
    assert (counts.new, counts.unmatched, counts.duplicate) == (2, 1, 0)
    again = ingest(engine, batch)
    assert (again.new, again.duplicate, again.already_stored) == (0, 3, 3)
    with engine.connect() as conn:
        assert len(conn.execute(select(mentions.c.id)).all()) == 3
        links = conn.execute(select(mention_watches.c.watch_id)).scalars().all()
    assert sorted(links) == [1, 1, 2]


def test_html_is_removed_and_empty_text_rejected(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    counts = ingest(
        engine,
        [
            draft("1", "<p>J&rsquo;adore <b>Acme</b></p><script>alert(1)</script>"),
            draft("2", "<p>   </p>"),
        ],
    )
    assert counts.new == 1
    assert counts.rejected == [(1, "text is empty once HTML and spaces are removed")]
    [stored] = mentions_svc.list_mentions(engine, "default")
    assert "alert" not in stored.text
    assert "Acme" in stored.text
    assert "<" not in stored.text


def test_same_canonical_url_is_kept_as_a_duplicate(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft("a", "Acme launches", url="https://news.example/acme?utm_source=x")])
    counts = ingest(
        engine,
        [draft("b", "Acme launches today", url="https://NEWS.example/acme#top", source_name="rss")],
    )
    assert (counts.new, counts.duplicate, counts.already_stored) == (0, 1, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                mentions.c.external_id, mentions.c.duplicate_of, mentions.c.duplicate_reason
            ).order_by(mentions.c.id)
        ).all()
    first_id = None
    for ext, dup_of, reason in rows:
        if ext == "a":
            assert dup_of is None
        else:
            assert dup_of is not None and reason == "url"
            first_id = dup_of
    assert first_id is not None


def test_near_duplicate_text_is_kept_with_a_link_to_the_original(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    original = (
        "La livraison Acme de ma commande a encore trois jours de retard et le service client "
        "ne répond pas à mes messages depuis lundi"
    )
    ingest(engine, [draft("1", original)])
    counts = ingest(
        engine,
        [
            draft("2", "RT @lucie: " + original + " !!", source_name="other"),
            draft("3", "Acme sort une nouvelle gamme de produits pour la maison cet hiver, enfin"),
        ],
    )
    assert (counts.new, counts.duplicate) == (1, 1)
    items = {m.external_id: m for m in mentions_svc.list_mentions(engine, "default")}
    assert items["2"].duplicate_of == items["1"].id
    assert items["3"].duplicate_of is None
    # Duplicates are still mentions of the watch; they can be hidden.
    assert len(mentions_svc.list_mentions(engine, "default", include_duplicates=False)) == 2


def test_near_duplicates_inside_one_batch(engine: Engine) -> None:
    text = (
        "Incroyable, le nouveau forfait Orange à dix euros inclut enfin la 5G et les appels "
        "illimités vers l'Europe"
    )
    counts = ingest(engine, [draft("1", text), draft("2", text + " #bonplan")])
    assert (counts.unmatched, counts.duplicate) == (1, 1)


def test_items_without_id_get_a_stable_one(engine: Engine) -> None:
    counts = ingest(engine, [draft(None, "Un avis sans identifiant", published_at=T0)])
    again = ingest(engine, [draft(None, "Un avis sans identifiant", published_at=T0)])
    assert (counts.unmatched, again.already_stored) == (1, 1)


def test_replies_are_linked_to_their_parent_in_any_order(engine: Engine) -> None:
    ingest(engine, [draft("c2", "Réponse à la réponse", parent_external_id="c1")])
    ingest(
        engine,
        [
            draft("post", "Le sujet principal"),
            draft("c1", "Une réponse", parent_external_id="post"),
        ],
    )
    with engine.connect() as conn:
        rows = dict(conn.execute(select(mentions.c.external_id, mentions.c.id)).all())
        parents = dict(conn.execute(select(mentions.c.external_id, mentions.c.parent_id)).all())
    assert parents == {"post": None, "c1": rows["post"], "c2": rows["c1"]}


def test_authors_are_stored_per_platform(engine: Engine) -> None:
    ingest(
        engine,
        [
            draft("1", "premier", author=AuthorRef(handle="@Lucie", name="Lucie", followers=10)),
            draft("2", "second", author=AuthorRef(handle="@lucie", followers=12)),
        ],
    )
    with engine.connect() as conn:
        rows = conn.execute(select(authors.c.key, authors.c.name, authors.c.followers)).all()
    assert [tuple(r) for r in rows] == [("lucie", "Lucie", 12)]


def test_watch_languages_filter_known_languages(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Orange FR", query="orange", langs=("fr",))
    counts = ingest(
        engine,
        [
            draft("1", "Orange est en panne", lang="fr"),
            draft("2", "The orange juice is great", lang="en"),
            draft("3", "Orange ?"),
        ],
    )
    assert (counts.new, counts.unmatched) == (2, 1)


def test_listing_filters_and_search(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    watches_svc.add_watch(engine, "default", name="Élan", query="elan")
    ingest(
        engine,
        [
            draft("1", "Acme: livraisons en retard", published_at=T0, lang="fr"),
            draft("2", "Acme delivered early", published_at=T0 + timedelta(days=1), lang="en"),
            draft("3", "L'équipe Élan est super", published_at=T0 + timedelta(days=2), lang="fr"),
        ],
    )
    ids = lambda items: [m.external_id for m in items]  # noqa: E731
    assert ids(mentions_svc.list_mentions(engine, "default")) == ["3", "2", "1"]
    assert ids(mentions_svc.list_mentions(engine, "default", watch="Acme")) == ["2", "1"]
    assert ids(mentions_svc.list_mentions(engine, "default", lang="fr")) == ["3", "1"]
    assert ids(
        mentions_svc.list_mentions(
            engine, "default", since=T0 + timedelta(hours=1), until=T0 + timedelta(days=2)
        )
    ) == ["2"]
    assert ids(mentions_svc.list_mentions(engine, "default", limit=1)) == ["3"]
    assert ids(mentions_svc.list_mentions(engine, "default", search="equipe ELAN")) == ["3"]
    assert ids(mentions_svc.list_mentions(engine, "default", search="livraison")) == ["1"]
    assert ids(mentions_svc.list_mentions(engine, "default", search="deliver")) == ["2"]
    assert ids(mentions_svc.list_mentions(engine, "default", search='"quote\'s" OR')) == []


def test_backfill_links_history_and_follows_edits(engine: Engine) -> None:
    ingest(
        engine,
        [draft("1", "Ma commande Acme est arrivée"), draft("2", "Acme et Zorg se battent")],
    )
    watches_svc.add_watch(engine, "default", name="Zorg", query="zorg")
    result = watches_svc.backfill_watch(engine, "default", "Zorg")
    assert (result.scanned, result.linked, result.total) == (2, 1, 1)
    watches_svc.edit_watch(engine, "default", "Zorg", query="commande")
    result = watches_svc.backfill_watch(engine, "default", "Zorg")
    assert (result.linked, result.unlinked, result.total) == (1, 1, 1)
    assert [m.external_id for m in mentions_svc.list_mentions(engine, "default", watch="Zorg")] == [
        "1"
    ]
