"""The command line, end to end on a real database (SQLite; PostgreSQL for init)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flocon.cli import app

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    return sqlite_url


def write_jsonl(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


def test_init_creates_then_is_up_to_date(database_url: str) -> None:
    code, out, _ = run("init", "--database-url", database_url)
    assert code == 0 and "created" in out
    code, out, _ = run("init", "--database-url", database_url)
    assert code == 0 and "up to date" in out


def test_default_database_lives_in_the_user_data_directory(tmp_path: Path) -> None:
    code, _, _ = run("init")
    assert code == 0
    assert (tmp_path / "xdg-data" / "flocon" / "flocon.db").is_file()


def test_password_never_printed() -> None:
    code, _, err = run("init", "--database-url", "mysql://bob:s3cret@db/x")
    assert code != 0
    assert "s3cret" not in err


def test_query_check_prints_normalised_query() -> None:
    code, out, _ = run("query", "check", "orange   -spam")
    assert code == 0 and "orange" in out


def test_query_check_reports_position_and_reason() -> None:
    code, _, err = run("query", "check", "(orange OR sosh")
    assert code == 2
    assert err.startswith("position ")


def test_query_test_prints_matching_ids(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": "Je suis client d'Orange depuis 10 ans"},
            {"id": "b", "text": "Une orangeade bien fraîche"},
            {"id": "c", "text": "#Orange en panne", "lang": "fr"},
        ],
    )
    code, out, _ = run("query", "test", "orange", "--input", str(path))
    assert code == 0
    assert out.split() == ["a", "c"]


def test_query_test_reads_stdin() -> None:
    lines = json.dumps({"id": "x1", "text": "SNCF en retard"}) + "\n"
    code, out, _ = run("query", "test", "sncf", "--input", "-", input=lines)
    assert (code, out.split()) == (0, ["x1"])


def test_workspace_commands(db: str) -> None:
    assert run("workspace", "add", "client-a")[0] == 0
    _, out, _ = run("workspace", "list", "--json")
    assert [w["name"] for w in json.loads(out)] == ["client-a", "default"]
    assert run("workspace", "remove", "client-a")[0] == 1  # no --yes without a terminal
    assert run("workspace", "remove", "client-a", "--yes")[0] == 0
    assert run("workspace", "remove", "default", "--yes")[0] == 1


def test_watch_commands_with_json(db: str) -> None:
    code, out, _ = run(
        "watch", "add", "SNCF", "--query", "sncf OR ouigo", "--kind", "brand",
        "--group", "trains", "--lang", "fr,en", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert (data["name"], data["kind"], data["group"], data["langs"]) == (
        "SNCF", "brand", "trains", ["fr", "en"],
    )  # fmt: skip
    code, out, _ = run("watch", "edit", "SNCF", "--query", "sncf", "--json")
    assert json.loads(out)["query"] == "sncf"
    code, out, _ = run("watch", "show", "SNCF", "--json")
    assert json.loads(out)["query"] == "sncf"
    code, out, _ = run("watch", "list", "--json")
    assert [w["name"] for w in json.loads(out)] == ["SNCF"]
    assert run("watch", "remove", "SNCF")[0] == 0
    assert json.loads(run("watch", "list", "--json")[1]) == []


def test_watch_add_refuses_invalid_query_like_query_check(db: str) -> None:
    check = run("query", "check", "orange NEAR/3")
    add = run("watch", "add", "X", "--query", "orange NEAR/3")
    assert check[0] == add[0] == 2
    assert check[2] == add[2]


def test_every_command_takes_workspace(db: str) -> None:
    run("workspace", "add", "b")
    assert run("watch", "add", "W", "-q", "acme", "--workspace", "b")[0] == 0
    assert json.loads(run("watch", "list", "--json")[1]) == []
    assert len(json.loads(run("watch", "list", "--json", "-w", "b")[1])) == 1
    assert run("mentions", "--workspace", "b", "--json")[0] == 0
    assert run("mentions", "--workspace", "nope")[0] == 1


def test_import_reports_counts_and_rejected_lines(db: str, tmp_path: Path) -> None:
    run("watch", "add", "Acme", "-q", "acme")
    path = tmp_path / "mix.jsonl"
    path.write_text(
        json.dumps({"id": "1", "text": "Acme rocks"}) + "\n"
        + "{broken json\n"
        + json.dumps({"id": "3", "text": "nothing to see"}) + "\n"
        + json.dumps({"id": "4", "title": "no text"}) + "\n",
        "utf-8",
    )  # fmt: skip
    code, out, _ = run("import", str(path))
    assert code == 0
    assert "new: 1" in out and "unmatched: 1" in out and "rejected: 2" in out
    assert "line 2:" in out and "line 4:" in out
    code, out, _ = run("import", str(path), "--json")
    data = json.loads(out)
    assert (data["new"], data["duplicate"], data["rejected"]) == (0, 2, 2)
    assert [r["line"] for r in data["rejections"]] == [2, 4]
    assert run("import", str(path), "--fail-on-reject")[0] == 3


def test_import_csv_with_mapping_then_list_and_search(db: str, tmp_path: Path) -> None:
    run("watch", "add", "SNCF", "-q", "sncf")
    path = tmp_path / "avis.csv"
    path.write_text(
        "tweet_id,body,published_at\n"
        "10,SNCF : mon TGV a deux heures de retard,2026-11-20T08:00:00+01:00\n"
        "11,Merci la SNCF pour l'accueil à Lyon,2026-11-21T08:00:00Z\n",
        "utf-8",
    )
    code, out, _ = run("import", str(path), "--map", "id=tweet_id", "--map", "text=body")
    assert code == 0 and "new: 2" in out
    code, out, _ = run("mentions", "--json")
    items = json.loads(out)
    assert [m["external_id"] for m in items] == ["11", "10"]
    assert items[1]["published_at"] == "2026-11-20T07:00:00Z"
    code, out, _ = run("mentions", "--search", "retard", "--json")
    assert [m["external_id"] for m in json.loads(out)] == ["10"]
    code, out, _ = run("mentions", "--since", "2026-11-21", "--json")
    assert [m["external_id"] for m in json.loads(out)] == ["11"]
    code, out, _ = run("mentions", "--since", "yesterday")
    assert code == 2


def test_watch_add_backfill(db: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": "Zorg arrive en France"}])
    run("import", str(path))
    code, out, _ = run("watch", "add", "Zorg", "-q", "zorg", "--backfill", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["mentions"] == 1 and data["backfill"]["linked"] == 1
    code, out, _ = run("watch", "backfill", "Zorg")
    assert code == 0 and "0 linked" in out


def test_mentions_output_is_safe_for_terminals(db: str, tmp_path: Path) -> None:
    run("watch", "add", "Acme", "-q", "acme")
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"id": "1", "text": "Acme [bold red]pwned[/] \u001b[2J done"}]
    )
    run("import", str(path))
    code, out, _ = run("mentions")
    assert code == 0
    assert "\u001b[2J" not in out
    assert "[bold red]pwned" in out


def test_quickstart_runs_the_bundled_example(db: str) -> None:
    code, out, _ = run("quickstart")
    assert code == 0, out
    assert "Apple" in out and "mentions" in out
    code, out, _ = run(
        "mentions", "-w", "quickstart", "--watch", "Apple", "--json", "--limit", "500"
    )
    apple = json.loads(out)
    assert len(apple) > 50
    assert all("Apple" in m["watches"] for m in apple)
    # Running it again adds nothing.
    code, out, _ = run("quickstart")
    assert "new 0" in out


def test_hostile_file_reports_each_bad_line_and_keeps_every_good_one(
    db: str, tmp_path: Path
) -> None:
    run("watch", "add", "Acme", "-q", "acme")
    good = [json.dumps({"id": f"g{i}", "text": f"Acme avis numéro {i}"}).encode() for i in range(4)]
    lines = [
        good[0],
        b"{not json",
        json.dumps({"id": "x1", "title": "no text"}).encode(),
        good[1],
        json.dumps({"id": "x2", "text": "Acme", "published_at": "2023-02-30T10:00:00Z"}).encode(),
        b'{"id": "x3", "text": "Acme \xff\xfe caf\xe9"}',
        good[2],
        json.dumps({"id": "x4", "text": "Acme " + "a" * (10 * 1024 * 1024)}).encode(),
        good[3],
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, _ = run("import", str(path), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["new"] == 4
    assert [r["line"] for r in report["rejections"]] == [2, 3, 5, 6, 8]
    reasons = " | ".join(r["reason"] for r in report["rejections"])
    assert "JSON" in reasons
    assert "UTF-8" in reasons
    assert "published_at" in reasons
    stored = json.loads(run("mentions", "--json")[1])
    assert sorted(m["external_id"] for m in stored) == ["g0", "g1", "g2", "g3"]


def test_csv_missing_text_column_is_refused_before_any_line(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,commentaire\n2026-11-01,Acme\n", "utf-8")
    code, _, err = run("import", str(path))
    assert code == 1
    assert "--map text=COLUMN" in err
    assert json.loads(run("mentions", "--all", "--json")[1]) == []


def test_csv_short_row_is_rejected_with_its_line(db: str, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,text,lang\n1,Acme super,fr\n2,Acme\n3,Acme top,fr\n", "utf-8")
    _, out, _ = run("import", str(path), "--json")
    report = json.loads(out)
    assert report["unmatched"] + report["new"] == 2
    assert [r["line"] for r in report["rejections"]] == [3]
