"""Signals to alerts to deliveries, end to end: a burst of negative mentions over a quiet
background opens one spike episode, names its earliest mentions, and reaches a local signed
webhook receiver; failed deliveries are kept and replayed; `flocon replay` prints the contract."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from flocon.alerting.channels import verify
from flocon.cli import app
from flocon.domain.models import Draft
from flocon.services import alerting, signals
from flocon.services import analysis as analysis_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import workspaces as wsq

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday
SECRET = "s3cret-for-tests-0123456789"
BURST = T0 + timedelta(days=8, hours=14)
POSITIVE = ["Acme livraison rapide, merci", "J'adore mon Acme", "Acme works great for me"]
NEGATIVE = [
    "Acme service horrible, je ne recommande pas du tout",
    "Acme is the worst, terrible customer service, never again",
    "Acme arnaque totale, très déçu, remboursez-moi",
]


DETAILS = [
    "Commande payée il y a trois semaines, toujours rien.",
    "My order never arrived and support hung up on me.",
    "Le SAV ne répond plus depuis dix jours.",
    "They charged my card twice for one parcel.",
    "Produit cassé à la livraison, aucun remboursement.",
    "Waited two hours on the phone for nothing.",
]
ENDINGS = ["Honteux.", "Avoid them.", "Plus jamais.", "Furious.", "Je porte plainte.", "Shame."]


def stream(seed: int = 3) -> list[Draft]:
    rng = random.Random(seed)
    drafts: list[Draft] = []
    t = T0
    while t < BURST + timedelta(hours=3):
        t += timedelta(minutes=rng.expovariate(5 / 60))
        drafts.append(_draft(f"b{len(drafts)}", rng.choice(POSITIVE), t))
    t, n = BURST, 0
    while t < BURST + timedelta(hours=1):
        rate = min(10 * 2 ** ((t - BURST).total_seconds() / 600), 60)
        t += timedelta(minutes=rng.expovariate(rate / 60))
        n += 1
        text = f"{rng.choice(NEGATIVE)}. {rng.choice(DETAILS)} {rng.choice(ENDINGS)}"
        drafts.append(_draft(f"x{n}", text, t))
    return sorted(drafts, key=lambda d: d.published_at or T0)


def chatter(
    rng: random.Random,
    start: datetime,
    span: timedelta,
    per_hour: float,
    text: Callable[[int], str],
    handle: str,
    accounts: int,
) -> list[Draft]:
    """Background drafts at a Poisson rate over ``span``, the n-th written by ``text(n)``, each
    by one of ``accounts`` authors (``handle`` + a number)."""
    from flocon.domain.models import AuthorRef

    drafts: list[Draft] = []
    t = start
    while t < start + span:
        t += timedelta(minutes=rng.expovariate(per_hour / 60))
        author = AuthorRef(handle=f"{handle}{rng.randrange(accounts)}")
        n = len(drafts)
        drafts.append(replace(_draft(f"b{n}", text(n), t), author=author))
    return drafts


def _draft(ext_id: str, text: str, at: datetime) -> Draft:
    return Draft(
        external_id=ext_id,
        text=text,
        published_at=at,
        source_kind="forum",
        source_name="forum.example",
        url=f"https://forum.example/{ext_id}",
    )


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def settings_for(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=str(engine.url),
        sentiment_profile="fast",
        webhook_secret=SECRET,
        allow_private_addresses=True,
        secret_key="",
        model_dir=tmp_path / "models",
    )


#: A rule that sends every signal of every watch to one webhook.
ALL_TO_WEBHOOK = alerting.RuleSpec(name="all", channels=["webhook:https://hooks.example.com/x"])


def prepare(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: alerting.RuleSpec
) -> Settings:
    """A watch 'Acme' and one alert rule; the credential key lives in the test's folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings = settings_for(engine, tmp_path)
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    alerting.add_rule(engine, settings, "default", rule)
    return settings


def run(engine: Engine, settings: Settings, drafts: list[Draft]) -> list[signals.AlertEvent]:
    """Ingest with a simulated clock, evaluating every 5 minutes; return every event."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(
        ws.id, load_matcher(engine, ws.id), analyzer=analysis_svc.ingest_analyzer(settings, ws)
    )
    events: list[signals.AlertEvent] = []
    now, i = T0 + timedelta(minutes=5), 0
    end = (drafts[-1].published_at or T0) + timedelta(minutes=10)
    while now <= end:
        batch = []
        while i < len(drafts) and (drafts[i].published_at or T0) < now:
            batch.append(drafts[i])
            i += 1
        if batch:
            prepared = ingestor.prepare(batch)
            with write(engine) as conn:
                ingestor.ingest_batch(conn, batch, prepared)
        # The quiet days only need hourly checks; the burst day is checked every 5 minutes.
        if now >= BURST - timedelta(hours=2) or now.minute == 0:
            events += signals.evaluate(engine, settings, "default", now=now)
        now += timedelta(minutes=5)
    return events


def test_burst_opens_one_episode_and_reaches_the_signed_webhook(
    engine: Engine, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = prepare(
        engine,
        tmp_path,
        monkeypatch,
        alerting.RuleSpec(
            name="crisis",
            channels=[f"webhook:{receiver.url}"],
            signals=["spike", "negative_shift"],
            cooldown_s=0,
        ),
    )
    events = run(engine, settings, stream())
    opened = [e for e in events if e.action == "opened"]
    kinds = {e.kind for e in opened}
    assert "spike" in kinds or "negative_shift" in kinds
    # No alert on the quiet days before the burst.
    assert all(e.detected_at >= BURST for e in opened), [(e.kind, e.detected_at) for e in opened]
    first = min(opened, key=lambda e: e.detected_at)
    assert first.detected_at - BURST <= timedelta(minutes=45)
    # Origin tracing: the earliest mentions of the episode are named.
    assert first.evidence and first.details["earliest"]
    # What the episode is about: themes of its mentions absent from the week before.
    topics = first.details["topics"]
    assert topics and "about «" in first.explanation
    assert not any(t["label"] in {"acme", "livraison rapide", "works great"} for t in topics)
    # One alert per episode, updated while it grows.
    with read(engine) as conn:
        rows = aq.list_alerts(conn, 1, statuses=["open", "acked", "closed"])
    assert len([r for r in rows if r.kind == first.kind]) == 1
    routed = alerting.route(engine, "default", events, now=BURST + timedelta(hours=2))
    assert routed.deliveries >= 1
    report = alerting.deliver_due(engine, settings, now=BURST + timedelta(hours=2))
    assert report.sent == routed.deliveries and report.dead == 0
    headers, body = receiver.received[0]
    assert verify(
        SECRET.encode(),
        headers["X-Flocon-Timestamp"],
        headers["X-Flocon-Signature"],
        body,
        now=float(headers["X-Flocon-Timestamp"]),
    )
    payload = json.loads(body)
    assert payload["watch"] == "Acme" and payload["kind"] in kinds and payload["evidence"]


def test_a_failed_delivery_is_kept_retried_then_replayable(
    engine: Engine, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = prepare(
        engine,
        tmp_path,
        monkeypatch,
        alerting.RuleSpec(name="all", channels=[f"webhook:{receiver.url}"], cooldown_s=0),
    )
    now = BURST
    event = _event(engine, "k", now, severity="high")
    alerting.route(engine, "default", [event], now=now)
    receiver.fail = True
    first = alerting.deliver_due(engine, settings, now=now)
    assert (first.sent, first.failed) == (0, 1)
    # Not due again before its back-off; kept with its error.
    assert alerting.deliver_due(engine, settings, now=now).failed == 0
    with read(engine) as conn:
        (row,) = aq.list_deliveries(conn, 1)
    assert (
        row.status == "failed"
        and row.next_attempt_at is not None
        and "503" in (row.last_error or "")
    )
    later = row.next_attempt_at
    for _ in range(10):
        alerting.deliver_due(engine, settings, now=later)
        with read(engine) as conn:
            (row,) = aq.list_deliveries(conn, 1)
        if row.status == "dead":
            break
        assert row.next_attempt_at is not None
        later = row.next_attempt_at
    assert row.status == "dead"
    receiver.fail = False
    alerting.replay_delivery(engine, "default", row.id)
    assert alerting.deliver_due(engine, settings, now=later).sent == 1
    assert len(receiver.received) == 1


def test_cli_rules_alerts_and_replay(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FLOCON_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["watch", "add", "Acme", "--query", "acme"]).exit_code == 0
    token_url = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"
    added = runner.invoke(
        app,
        ["alert-rule", "add", "team", "--channel", f"webhook:{token_url}", "--watch", "Acme"],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["alert-rule", "list", "--json"])
    assert "XXXXSECRETXXXX" not in listed.stdout
    assert json.loads(listed.stdout)[0]["watch"] == "Acme"
    bad = runner.invoke(app, ["alert-rule", "add", "x", "--channel", "webhook:ftp://nope"])
    assert bad.exit_code != 0
    assert runner.invoke(app, ["alert-rule", "remove", "team"]).exit_code == 0
    # Replay: a week in one command, one JSON object per line, the contract's keys.
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(
            json.dumps(
                {
                    "id": d.external_id,
                    "text": d.text,
                    "published_at": (d.published_at or T0).isoformat(),
                }
            )
            + "\n"
            for d in stream()
            if (d.published_at or T0) >= BURST - timedelta(days=2)
        ),
        "utf-8",
    )
    result = runner.invoke(app, ["replay", str(items), "--watch", "Acme=acme", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, "the burst should produce at least one signal"
    for line in lines:
        assert {"watch", "kind", "episode_start", "detected_at", "severity", "evidence"} <= set(
            line
        )
        assert line["kind"] in signals.KINDS
    assert any(e.startswith("x") for line in lines for e in line["evidence"])
    refused = runner.invoke(app, ["replay", str(items), "--watch", "nameonly"])
    assert refused.exit_code == 2


def _event(engine: Engine, key: str, now: datetime, severity: str = "medium") -> signals.AlertEvent:
    with write(engine) as conn:
        alert_id = aq.open_alert(
            conn,
            1,
            watch_id=1,
            kind="spike",
            key=key,
            severity=severity,
            score=None,
            episode_start=now,
            detected_at=now,
            updated_at=now,
            explanation=f"spike {key}",
            evidence=[],
            details={},
        )
    return signals.AlertEvent(
        alert_id=alert_id,
        action="opened",
        watch="Acme",
        watch_id=1,
        group=None,
        kind="spike",
        episode_start=now,
        detected_at=now,
        severity=severity,
        score=None,
        evidence=[],
        explanation=f"spike {key}",
    )


def test_quiet_hours_cooldown_and_digest(
    engine: Engine, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings = settings_for(engine, tmp_path)
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    hook = [f"webhook:{receiver.url}"]
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(
            name="night",
            channels=hook,
            quiet_hours="22:00-07:00",
            timezone="Europe/Paris",
            cooldown_s=3600,
        ),
    )
    night = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    routed = alerting.route(engine, "default", [_event(engine, "a", night)], now=night)
    assert routed.deliveries == 1
    # Held (not lost) until 07:00 Paris = 06:00 UTC; a high-severity alert goes through.
    assert alerting.deliver_due(engine, settings, now=night).sent == 0
    # Within the cool-down, the same signal of the same watch is not sent again.
    again = alerting.route(engine, "default", [_event(engine, "b", night)], now=night)
    assert (again.deliveries, again.cooled_down) == (0, 1)
    morning = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert alerting.deliver_due(engine, settings, now=morning).sent == 1
    with write(engine) as conn:
        aq.remove_rule(conn, 1, "night")
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(name="digest", channels=hook, digest="hourly", cooldown_s=0),
    )
    t = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
    for key in ("c", "d", "e"):
        alerting.route(engine, "default", [_event(engine, key, t)], now=t)
    assert alerting.deliver_due(engine, settings, now=t).sent == 0
    before = len(receiver.received)
    report = alerting.deliver_due(engine, settings, now=datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    assert report.sent == 1 and len(receiver.received) == before + 1
    digest = json.loads(receiver.received[-1][1])
    assert [d["explanation"] for d in digest["digest"]] == ["spike c", "spike d", "spike e"]
    with read(engine) as conn:
        statuses = {d.status for d in aq.list_deliveries(conn, 1)}
    assert statuses == {"sent"}


def test_rule_checks(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flocon.errors import ConfigError

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings = settings_for(engine, tmp_path)
    ok = ["webhook:https://hooks.example.com/x"]
    for bad, message in [
        ({"signals": ["tsunami"]}, "signals"),
        ({"quiet_hours": "22h-7h"}, "quiet hours"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"digest": "weekly"}, "digest"),
        ({"channels": []}, "channel"),
    ]:
        spec = alerting.RuleSpec(name="r", **{"channels": ok, **bad})  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=message):
            alerting.add_rule(engine, settings, "default", spec)


def test_watch_loop_alerts_as_soon_as_a_mention_is_stored(
    engine: Engine, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `flocon fetch` runs: a stored batch wakes the loop, which alerts at once."""
    import asyncio

    from flocon.domain.models import AuthorRef

    settings = prepare(
        engine,
        tmp_path,
        monkeypatch,
        alerting.RuleSpec(name="vip", channels=[f"webhook:{receiver.url}"], signals=["influencer"]),
    )

    async def scenario() -> None:
        stop, wake = asyncio.Event(), asyncio.Event()
        loop_task = asyncio.create_task(
            alerting.watch_loop(engine, settings, stop, wake, every_s=3600)
        )
        await asyncio.sleep(0.5)
        star = Draft(
            external_id="star",
            text="Acme, vous avez perdu un client",
            published_at=datetime.now(UTC),
            source_kind="mastodon",
            source_name="mastodon.example",
            author=AuthorRef(handle="@star@mastodon.example", followers=120_000),
        )
        await asyncio.to_thread(run_once, engine, settings, star)
        wake.set()
        for _ in range(100):
            if receiver.received:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(loop_task, 10)

    asyncio.run(scenario())
    assert len(receiver.received) == 1
    payload = json.loads(receiver.received[0][1])
    assert payload["kind"] == "influencer" and "120,000 followers" in payload["explanation"]


def run_once(engine: Engine, settings: Settings, draft: Draft) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id))
    with write(engine) as conn:
        ingestor.ingest_batch(conn, [draft])


def test_an_author_with_a_high_influence_score_raises_an_influencer_alert(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flocon.domain.models import AuthorRef
    from flocon.storage.tables import author_scores, mentions

    settings = prepare(
        engine,
        tmp_path,
        monkeypatch,
        alerting.RuleSpec(name="vip", channels=["webhook:https://hooks.example.com/x"]),
    )
    t = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    first = _draft("a1", "Acme, premier message", t - timedelta(days=1))
    run_once(engine, settings, replace(first, author=AuthorRef(handle="@analyst", followers=300)))
    with read(engine) as conn:
        author_id = conn.execute(select(mentions.c.author_id)).scalar_one()
    with write(engine) as conn:
        conn.execute(
            insert(author_scores).values(
                workspace_id=1,
                watch_id=None,
                author_id=author_id,
                score=72.0,
                pagerank=0.01,
                lift=3.0,
                followers=300,
                mentions=40,
                engagement=900,
                replies_received=30,
                mentioned_by=12,
                shared_by=0,
                stance="detractor",
                computed_at=t,
                inputs="{}",
            )
        )
    signals.evaluate(engine, settings, "default", now=t - timedelta(minutes=1))
    second = _draft("a2", "Acme a encore raté ma commande", t)
    run_once(engine, settings, replace(second, author=AuthorRef(handle="@analyst", followers=300)))
    events = signals.evaluate(engine, settings, "default", now=t + timedelta(minutes=1))
    (vip,) = [e for e in events if e.kind == "influencer"]
    assert "influence score 72/100" in vip.explanation and vip.severity == "medium"


def test_cli_alerts_list_show_ack_resolve(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flocon.storage.engine import build_engine

    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["watch", "add", "Acme", "--query", "acme"]).exit_code == 0
    assert runner.invoke(app, ["workspace", "add", "other"]).exit_code == 0
    engine = build_engine(Settings(database_url=sqlite_url))
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    event = _event(engine, "k", now, severity="high")
    with write(engine) as conn:
        aq.update_alert(
            conn,
            event.alert_id,
            details={
                "factors": [
                    {
                        "label": "12 replies in 14 min",
                        "weight": 1.9,
                        "contribution": 4.9,
                        "name": "early_count",
                        "value": 2.5,
                    }
                ]
            },
        )
    engine.dispose()
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert [a["id"] for a in json.loads(listed.stdout)] == [event.alert_id]
    shown = runner.invoke(app, ["alerts", "show", str(event.alert_id)])
    assert "12 replies in 14 min" in shown.stdout and "weight +1.90" in shown.stdout
    # Another workspace cannot see or touch it.
    hidden = runner.invoke(app, ["alerts", "ack", str(event.alert_id), "-w", "other"])
    assert hidden.exit_code == 1
    acked = runner.invoke(app, ["alerts", "ack", str(event.alert_id), "--by", "lea"])
    assert acked.exit_code == 0 and "acked" in acked.stdout
    assert runner.invoke(app, ["alerts", "resolve", str(event.alert_id)]).exit_code == 0
    assert json.loads(runner.invoke(app, ["alerts", "list", "--json"]).stdout) == []
    resolved = runner.invoke(app, ["alerts", "list", "--status", "resolved", "--json"])
    assert json.loads(resolved.stdout)[0]["acked_by"] == "lea"
    again = runner.invoke(app, ["alerts", "ack", str(event.alert_id)])
    assert again.exit_code == 1 and "already resolved" in again.output
    checked = runner.invoke(app, ["alerts", "check", "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)["sent"] == 0


def test_late_items_new_sites_and_no_repeats(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New since the last check means newly stored: a feed that delivers an hour late is still
    seen, once; the first mention on a site the watch never had opens a new_site alert."""
    from flocon.domain.models import AuthorRef

    settings = prepare(engine, tmp_path, monkeypatch, ALL_TO_WEBHOOK)
    t = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    run_once(engine, settings, _draft("old", "Acme, un avis parmi d'autres", t - timedelta(days=2)))
    assert signals.evaluate(engine, settings, "default", now=t) == []
    late = replace(
        _draft("late", "Acme m'a déçu", t - timedelta(hours=1)),
        author=AuthorRef(handle="@star", followers=500_000),
    )
    run_once(engine, settings, late)
    other_site = replace(
        _draft("blog", "Un billet sur Acme", t),
        source_kind="web",
        source_name="blog.example",
        url="https://blog.example/acme",
    )
    run_once(engine, settings, other_site)
    events = signals.evaluate(engine, settings, "default", now=t + timedelta(minutes=1))
    kinds = sorted(e.kind for e in events)
    assert kinds == ["influencer", "new_site"], [(e.kind, e.explanation) for e in events]
    (site,) = [e for e in events if e.kind == "new_site"]
    assert "blog.example" in site.explanation
    again = signals.evaluate(engine, settings, "default", now=t + timedelta(minutes=2))
    assert [e.kind for e in again if e.kind in ("influencer", "new_site")] == []


def test_a_topic_surging_inside_ordinary_volume_gets_its_own_spike_alert(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flocon.domain.models import AuthorRef

    settings = prepare(engine, tmp_path, monkeypatch, ALL_TO_WEBHOOK)
    rng = random.Random(5)
    subjects = ["ma commande", "le magasin", "la livraison", "mon colis", "le service client"]
    verbs = ["était rapide", "est arrivé hier", "m'a bien aidé", "reste correct", "a pris du temps"]
    ends = ["merci", "bonne journée", "à suivre", "rien à dire", "voilà", "ok"]
    t0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    drafts = chatter(
        rng,
        t0,
        timedelta(days=3),
        4,
        lambda n: f"Acme {rng.choice(subjects)} {rng.choice(verbs)}, {rng.choice(ends)} {n}",
        "@user",
        200,
    )
    surge_at = t0 + timedelta(days=3, hours=1)
    recall = [
        "Acme rappel produit : intoxication alimentaire chez ma fille",
        "Rappel produit Acme, on parle d'intoxication alimentaire",
        "Intoxication alimentaire après un plat Acme, rappel produit en cours ?",
        "Acme annonce un rappel produit après des cas d'intoxication alimentaire",
        "J'ai vu le rappel produit Acme, intoxication alimentaire confirmée",
        "Rappel produit chez Acme : intoxication alimentaire, ne mangez pas ça",
    ]
    for i, text in enumerate(recall):
        at = surge_at + timedelta(minutes=7 * i)
        drafts.append(replace(_draft(f"r{i}", text, at), author=AuthorRef(handle=f"@parent{i}")))
    drafts.sort(key=lambda d: d.published_at or t0)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id))
    with write(engine) as conn:
        ingestor.ingest_batch(conn, [d for d in drafts if (d.published_at or t0) < surge_at])
    later = [d for d in drafts if (d.published_at or t0) >= surge_at]
    now = surge_at
    events: list[signals.AlertEvent] = []
    while now <= surge_at + timedelta(hours=1):
        batch = [d for d in later if now - timedelta(minutes=10) <= (d.published_at or t0) < now]
        if batch:
            with write(engine) as conn:
                ingestor.ingest_batch(conn, batch)
        events += signals.evaluate(engine, settings, "default", now=now)
        now += timedelta(minutes=10)
    topical = [e for e in events if e.kind == "spike" and e.details.get("topic")]
    assert topical, [(e.kind, e.explanation) for e in events]
    first = topical[0]
    assert "intoxication" in first.details["topic"] or "rappel" in first.details["topic"]
    assert first.action == "opened" and len(first.evidence) >= 3
    # The watch's volume itself stayed ordinary: no volume spike.
    assert not [e for e in events if e.kind == "spike" and not e.details.get("topic")]


def test_three_authors_with_one_negative_story_open_one_negative_shift_within_minutes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A negative theme (3 authors, a rare shared phrase, minutes apart) opens the watch's
    negative_shift episode long before its counts could; later evidence updates that one alert
    instead of opening others, and the topic surge check does not tell the story again."""
    from flocon.domain.models import AuthorRef

    settings = prepare(engine, tmp_path, monkeypatch, ALL_TO_WEBHOOK)
    rng = random.Random(9)
    drafts = chatter(
        rng, T0, timedelta(days=8), 5, lambda n: f"{rng.choice(POSITIVE)} {n}", "@fan", 300
    )
    story = T0 + timedelta(days=8, hours=1)
    texts = [
        "Acme : salmonelle dans les steaks hachés, ma fille est malade, honteux",
        "Salmonelle dans les steaks hachés Acme ?? scandale, remboursez-nous",
        "Steaks hachés Acme contaminés à la salmonelle, c'est dégoûtant",
        "Encore des cas de salmonelle avec les steaks hachés Acme, horrible",
        "Salmonelle : Acme rappelle ses steaks hachés, on est furieux",
        "Mon fils malade après les steaks hachés Acme, salmonelle confirmée",
    ]
    late = [
        replace(_draft(f"s{i}", text, story + timedelta(minutes=4 * i)), author=author)
        for i, (text, author) in enumerate(
            zip(texts, [AuthorRef(handle=f"@parent{i}") for i in range(6)], strict=True)
        )
    ]
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(
        ws.id, load_matcher(engine, ws.id), analyzer=analysis_svc.ingest_analyzer(settings, ws)
    )
    with write(engine) as conn:
        ingestor.ingest_batch(conn, drafts, ingestor.prepare(drafts))
    events: list[signals.AlertEvent] = []
    now = story
    while now <= story + timedelta(minutes=30):
        batch = [d for d in late if now - timedelta(minutes=1) <= (d.published_at or T0) < now]
        if batch:
            prepared = ingestor.prepare(batch)
            with write(engine) as conn:
                ingestor.ingest_batch(conn, batch, prepared)
        events += signals.evaluate(engine, settings, "default", now=now)
        now += timedelta(minutes=1)
    negative = [e for e in events if e.kind == "negative_shift"]
    with read(engine) as conn:
        got = aq.watch_mentions(conn, ws.id, since=story, until=now)
    assert negative, [(m.sentiment, m.author, m.text) for m in got]
    first = negative[0]
    assert first.action == "opened"
    # three negative mentions by three authors: the 3rd arrives 8 minutes in
    assert first.detected_at - story <= timedelta(minutes=10)
    assert "Negative theme" in first.explanation and "salmonelle" in first.explanation
    assert first.episode_start == story
    # origin tracing: the story's first negative mentions, in order
    story_ids = [m.id for m in got if (m.author or "").startswith("@parent")]
    assert first.evidence[:3] == story_ids[:3]
    with read(engine) as conn:
        rows = aq.list_alerts(conn, ws.id, statuses=["open", "acked", "closed"])
    assert len([r for r in rows if r.kind == "negative_shift"]) == 1
    # the story is not told again as a topic surge (kind spike, details.topic)
    assert not [e for e in events if e.kind == "spike"], [e.explanation for e in events]
