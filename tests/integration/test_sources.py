"""Source configuration: add, list, edit, pause, remove, and credentials kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from flocon.credentials import CredentialBox
from flocon.errors import AlreadyExists, ConfigError, FloconError, NotFound
from flocon.services import sources as svc
from flocon.settings import Settings

SECRET = "tok-7f3a9c1e5b"


@pytest.fixture
def box(tmp_path: Path) -> CredentialBox:
    return CredentialBox(Settings(), key_file=tmp_path / "secret.key")


def test_add_list_show_and_health(engine: Engine, box: CredentialBox) -> None:
    source = svc.add_source(
        engine,
        box,
        "default",
        kind="feed",
        target="https://blog.example.fr/feed/",
        every_s=600,
        credentials={"token": SECRET},
    )
    assert (source.kind, source.every_s, source.has_credentials) == ("feed", 600, True)
    [health] = svc.list_sources(engine, "default")
    assert (health.state, health.items_24h, health.down) == ("new", 0, False)
    assert svc.credential_keys(engine, box, "default", str(source.id)) == ["token"]
    assert svc.get_source(engine, "default", "https://blog.example.fr/feed/").id == source.id


def test_credentials_are_encrypted_at_rest(engine: Engine, box: CredentialBox) -> None:
    svc.add_source(
        engine,
        box,
        "default",
        kind="feed",
        target="https://a.example/rss",
        credentials={"t": SECRET},
    )
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM sources")).scalar_one()
    assert SECRET not in stored
    assert box.open(stored) == {"t": SECRET}


def test_credentials_need_the_same_key(tmp_path: Path, box: CredentialBox) -> None:
    token = box.seal({"t": SECRET})
    other = CredentialBox(Settings(), key_file=tmp_path / "other.key")
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        other.open(token)


def test_invalid_target_and_kind_are_refused(engine: Engine, box: CredentialBox) -> None:
    with pytest.raises(FloconError, match="invalid feed target"):
        svc.add_source(engine, box, "default", kind="feed", target="not a url")
    with pytest.raises(FloconError, match="feed"):
        svc.add_source(engine, box, "default", kind="telepathy", target="x")


def test_same_name_twice_is_refused(engine: Engine, box: CredentialBox) -> None:
    svc.add_source(engine, box, "default", kind="feed", target="https://a.example/rss")
    with pytest.raises(AlreadyExists):
        svc.add_source(engine, box, "default", kind="feed", target="https://a.example/rss")


def test_edit_merges_options_and_credentials(engine: Engine, box: CredentialBox) -> None:
    s = svc.add_source(
        engine,
        box,
        "default",
        kind="hackernews",
        target="watches",
        options={"max_pages": "2", "lookback_hours": "12"},
        credentials={"a": "1", "b": "2"},
    )
    edited = svc.edit_source(
        engine,
        box,
        "default",
        str(s.id),
        every_s=3600,
        options={"max_pages": "", "lookback_hours": "48"},
        credentials={"a": ""},
    )
    assert edited.options == {"lookback_hours": "48"}
    assert edited.every_s == 3600
    assert svc.credential_keys(engine, box, "default", str(s.id)) == ["b"]


def test_pause_resume_remove(engine: Engine, box: CredentialBox) -> None:
    s = svc.add_source(engine, box, "default", kind="feed", target="https://a.example/rss")
    assert svc.set_paused(engine, "default", str(s.id), paused=True).paused is True
    assert svc.list_sources(engine, "default")[0].state == "paused"
    assert svc.set_paused(engine, "default", str(s.id), paused=False).paused is False
    svc.remove_source(engine, "default", str(s.id))
    with pytest.raises(NotFound):
        svc.get_source(engine, "default", str(s.id))


@pytest.mark.parametrize(
    ("value", "seconds"), [("10m", 600), ("90s", 90), ("2h", 7200), ("1d", 86400), ("5", 300)]
)
def test_intervals(value: str, seconds: int) -> None:
    assert svc.parse_every(value) == seconds


@pytest.mark.parametrize("value", ["10x", "", "30s", "soon"])
def test_bad_intervals(value: str) -> None:
    with pytest.raises(FloconError):
        svc.parse_every(value)
