"""Import file parsing: JSONL and CSV records to drafts, hostile lines rejected one by one."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flocon.connectors import fileimport
from flocon.connectors.fileimport import (
    MAX_FIELD_CHARS,
    ParsedLine,
    RejectedLine,
    detect_format,
    parse_mapping,
    read_records,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ImportFormatError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
BIG = 10 * 1024 * 1024


def _read(
    data: bytes,
    fmt: Literal["jsonl", "csv"] = "jsonl",
    mapping: dict[str, str] | None = None,
) -> list[ParsedLine | RejectedLine]:
    return list(read_records(io.BytesIO(data), fmt=fmt, mapping=mapping))


def _jsonl(*records: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _one_draft(record: dict[str, object]) -> Draft:
    [result] = _read(_jsonl(record))
    assert isinstance(result, ParsedLine), result
    return result.draft


def _one_reason(data: bytes, fmt: Literal["jsonl", "csv"] = "jsonl") -> str:
    results = _read(data, fmt)
    rejected = [r for r in results if isinstance(r, RejectedLine)]
    assert len(rejected) == 1, results
    return rejected[0].reason


def _summary(results: list[ParsedLine | RejectedLine]) -> list[tuple[int, str]]:
    return [
        (r.line, r.draft.text if isinstance(r, ParsedLine) else "REJECTED: " + r.reason)
        for r in results
    ]


# --------------------------------------------------------------------------- detect_format


@pytest.mark.parametrize("name", ["a.jsonl", "b.ndjson", "c.json", "D.JSONL", "dir.v2/e.jsonl"])
def test_json_extensions_are_jsonl(name: str) -> None:
    assert detect_format(name) == "jsonl"


@pytest.mark.parametrize("name", ["a.csv", "b.tsv", "C.CSV"])
def test_csv_extensions_are_csv(name: str) -> None:
    assert detect_format(name) == "csv"


@pytest.mark.parametrize("name", ["export.xlsx", "export", "export.csv.gz"])
def test_unknown_extension_is_refused(name: str) -> None:
    with pytest.raises(ImportFormatError, match="--format"):
        detect_format(name)


# --------------------------------------------------------------------------- parse_mapping


def test_mapping_items_become_a_dict() -> None:
    assert parse_mapping(["text=body", "id = tweet_id"]) == {"text": "body", "id": "tweet_id"}


def test_mapping_column_may_contain_equals_sign() -> None:
    assert parse_mapping(["text=a=b"]) == {"text": "a=b"}


def test_mapping_without_equals_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="expected FIELD=COLUMN"):
        parse_mapping(["textbody"])


def test_mapping_with_empty_column_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="expected FIELD=COLUMN"):
        parse_mapping(["text="])


def test_mapping_of_unknown_field_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="unknown field 'txt'"):
        parse_mapping(["txt=body"])


def test_field_mapped_twice_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="mapped twice"):
        parse_mapping(["text=a", "text=b"])


def test_read_records_refuses_unknown_mapping_field() -> None:
    with pytest.raises(ImportFormatError, match="unknown field"):
        read_records(io.BytesIO(b""), fmt="jsonl", mapping={"body": "text"})


# --------------------------------------------------------------------------- JSONL: fixture


def test_jsonl_fixture_parses_every_record() -> None:
    with (FIXTURES / "mentions.jsonl").open("rb") as stream:
        results = list(read_records(stream, fmt="jsonl"))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("ParsedLine", 1),
        ("ParsedLine", 3),
        ("ParsedLine", 4),
    ]


def test_jsonl_fixture_first_record_has_every_field() -> None:
    with (FIXTURES / "mentions.jsonl").open("rb") as stream:
        first = next(read_records(stream, fmt="jsonl"))
    assert isinstance(first, ParsedLine)
    assert first.draft == Draft(
        source_kind="twitter",
        source_name="import-mars",
        text="Le nouveau forfait de @Orange est une arnaque, 3 jours sans réseau à Lyon 😡",
        external_id="1001",
        url="https://twitter.com/claire_l/status/1001?s=20",
        author=AuthorRef(handle="claire_l", name="Claire L.", followers=1520),
        published_at=datetime(2024, 3, 12, 7, 15, tzinfo=UTC),
        lang="fr",
        country="FR",
        likes=12,
        shares=3,
        replies=0,
    )


# --------------------------------------------------------------------------- JSONL: lines


def test_blank_and_whitespace_lines_are_skipped_silently() -> None:
    data = b'{"text": "a"}\n\n   \t \r\n{"text": "b"}\n'
    assert _summary(_read(data)) == [(1, "a"), (4, "b")]


def test_crlf_line_endings_are_accepted() -> None:
    assert _summary(_read(b'{"text": "a"}\r\n{"text": "b"}\r\n')) == [(1, "a"), (2, "b")]


def test_last_line_without_newline_is_read() -> None:
    assert _summary(_read(b'{"text": "a"}\n{"text": "b"}')) == [(1, "a"), (2, "b")]


def test_utf8_bom_is_ignored() -> None:
    assert _summary(_read(b'\xef\xbb\xbf{"text": "a"}\n')) == [(1, "a")]


def test_utf16_file_is_refused_as_a_whole() -> None:
    data = '{"text": "a"}\n'.encode("utf-16")
    with pytest.raises(ImportFormatError, match="UTF-16"):
        _read(data)


def test_broken_json_is_rejected_and_reading_goes_on() -> None:
    data = b'{"text": "a"}\n{"text": "b",\n{"text": "c"}\n'
    assert _summary(_read(data)) == [
        (1, "a"),
        (
            2,
            "REJECTED: invalid JSON: Expecting property name enclosed in double quotes at column 14",
        ),
        (3, "c"),
    ]


def test_json_that_is_not_an_object_is_rejected() -> None:
    assert _one_reason(b'["text", "a"]\n') == "expected a JSON object, got array"


def test_json_nested_too_deeply_is_rejected() -> None:
    assert _one_reason(b"[" * 100_000 + b"]" * 100_000 + b"\n") == "invalid JSON: nested too deeply"


def test_invalid_utf8_rejects_only_its_line() -> None:
    data = b'{"text": "a"}\n{"text": "caf\xe9"}\n{"text": "c"}\n'
    assert _summary(_read(data)) == [
        (1, "a"),
        (2, "REJECTED: invalid UTF-8 at byte 14"),
        (3, "c"),
    ]


def test_huge_field_is_rejected_and_reading_goes_on() -> None:
    data = _jsonl({"text": "x" * BIG}, {"text": "next"})
    assert _summary(_read(data)) == [
        (1, "REJECTED: field text is 10485760 characters, more than the 1000000 allowed"),
        (2, "next"),
    ]


def test_field_of_exactly_max_chars_is_accepted() -> None:
    assert len(_one_draft({"text": "x" * MAX_FIELD_CHARS}).text) == MAX_FIELD_CHARS


def test_line_over_record_limit_is_skipped_without_reading_it_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fileimport, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(fileimport, "_DRAIN_CHUNK", 100)
    data = _jsonl({"text": "y" * 5000}, {"text": "next"})
    assert _summary(_read(data)) == [
        (1, "REJECTED: record is larger than 1000 bytes"),
        (2, "next"),
    ]


def test_reading_is_streamed() -> None:
    class CountingStream(io.BytesIO):
        consumed = 0

        def readline(self, size: int | None = -1) -> bytes:
            line = super().readline(size)
            self.consumed += len(line)
            return line

    data = _jsonl(*({"text": f"mention {i}"} for i in range(10_000)))
    stream = CountingStream(data)
    records = read_records(stream, fmt="jsonl")
    next(records)
    assert stream.consumed < 100


# --------------------------------------------------------------------------- JSONL: fields


def test_missing_text_is_rejected() -> None:
    assert _one_reason(_jsonl({"title": "t"})) == "missing field text"


def test_null_text_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": None})) == "missing field text"


def test_empty_text_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": "  \n "})) == "field text is empty"


def test_text_that_is_not_a_string_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": 42})) == "field text must be a string, got number"


def test_text_with_nul_character_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": "a\x00b"})) == "field text contains a NUL character"


def test_text_with_unpaired_surrogate_is_rejected() -> None:
    reason = _one_reason(b'{"text": "a\\ud800b"}\n')
    assert reason == "field text contains an unpaired UTF-16 surrogate"


def test_paired_surrogate_escape_is_an_emoji() -> None:
    [result] = _read(b'{"text": "ok \\ud83d\\ude00"}\n')
    assert isinstance(result, ParsedLine)
    assert result.draft.text == "ok \U0001f600"


def test_text_is_kept_as_given() -> None:
    assert _one_draft({"text": "  <b>brut</b>  "}).text == "  <b>brut</b>  "


def test_unknown_keys_are_ignored() -> None:
    assert _one_draft({"text": "a", "retweeted_status": {"x": 1}}).text == "a"


def test_integer_id_becomes_a_string() -> None:
    assert _one_draft({"text": "a", "id": 1318974805}).external_id == "1318974805"


def test_float_id_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "id": 1.5}))
    assert reason == "field id must be a string or an integer, got number"


def test_empty_optional_string_is_absent() -> None:
    assert _one_draft({"text": "a", "title": "  "}).title is None


def test_title_of_wrong_type_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": "a", "title": ["x"]})) == (
        "field title must be a string, got array"
    )


def test_author_string_is_a_handle_without_at_sign() -> None:
    assert _one_draft({"text": "a", "author": "@marie"}).author == AuthorRef(handle="marie")


def test_author_object_gives_handle_name_followers() -> None:
    author = {"handle": "marie", "name": "Marie D.", "followers": "1200"}
    assert _one_draft({"text": "a", "author": author}).author == AuthorRef(
        handle="marie", name="Marie D.", followers=1200
    )


def test_flat_author_name_and_followers_are_read() -> None:
    draft = _one_draft({"text": "a", "author": "m", "author_name": "M", "author_followers": 5})
    assert draft.author == AuthorRef(handle="m", name="M", followers=5)


def test_author_of_wrong_type_is_rejected() -> None:
    assert _one_reason(_jsonl({"text": "a", "author": 7})) == (
        "field author must be a string or an object, got number"
    )


def test_negative_followers_are_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "author": {"handle": "m", "followers": -1}}))
    assert reason == "field author.followers must be a non-negative integer, got -1"


def test_count_string_is_accepted() -> None:
    assert _one_draft({"text": "a", "likes": "12"}).likes == 12


def test_integral_float_count_is_accepted() -> None:
    assert _one_draft({"text": "a", "shares": 12.0}).shares == 12


def test_negative_count_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "likes": -3}))
    assert reason == "field likes must be a non-negative integer, got -3"


def test_fractional_count_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "replies": "2.5"}))
    assert reason == "field replies must be a non-negative integer, got 2.5"


def test_boolean_count_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "likes": True}))
    assert reason == "field likes must be a non-negative integer, got True"


def test_count_larger_than_bigint_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "likes": 2**63}))
    assert reason == "field likes is too large: 9223372036854775808"


def test_source_kind_and_name_string() -> None:
    draft = _one_draft({"text": "a", "source": "twitter:compte-fr"})
    assert (draft.source_kind, draft.source_name) == ("twitter", "compte-fr")


def test_source_kind_alone_names_the_source_after_the_kind() -> None:
    draft = _one_draft({"text": "a", "source": "RSS"})
    assert (draft.source_kind, draft.source_name) == ("rss", "rss")


def test_source_object() -> None:
    draft = _one_draft({"text": "a", "source": {"kind": "forum", "name": "doctissimo"}})
    assert (draft.source_kind, draft.source_name) == ("forum", "doctissimo")


def test_source_object_without_kind_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "source": {"name": "x"}}))
    assert reason == "field source must have a non-empty kind"


def test_missing_source_uses_the_default() -> None:
    [result] = read_records(
        io.BytesIO(_jsonl({"text": "a"})), fmt="jsonl", default_source=("file", "mars.jsonl")
    )
    assert isinstance(result, ParsedLine)
    assert (result.draft.source_kind, result.draft.source_name) == ("file", "mars.jsonl")


def test_jsonl_mapping_reads_other_keys() -> None:
    data = _jsonl({"body": "bonjour", "tweet_id": 7})
    [result] = _read(data, mapping={"text": "body", "id": "tweet_id"})
    assert isinstance(result, ParsedLine)
    assert (result.draft.text, result.draft.external_id) == ("bonjour", "7")


def test_mapped_field_is_named_with_its_column_in_reasons() -> None:
    [result] = _read(_jsonl({"body": 3}), mapping={"text": "body"})
    assert result == RejectedLine(1, "field text (column 'body') must be a string, got number")


# --------------------------------------------------------------------------- dates


def _date(value: object) -> datetime | None:
    return _one_draft({"text": "a", "published_at": value}).published_at


def test_iso_date_with_z_is_utc() -> None:
    assert _date("2024-03-12T08:15:00Z") == datetime(2024, 3, 12, 8, 15, tzinfo=UTC)


def test_iso_date_with_offset_is_converted_to_utc() -> None:
    assert _date("2024-03-12T08:15:00+01:00") == datetime(2024, 3, 12, 7, 15, tzinfo=UTC)


def test_naive_iso_date_is_taken_as_utc() -> None:
    assert _date("2024-03-12 08:15:00") == datetime(2024, 3, 12, 8, 15, tzinfo=UTC)


def test_date_only_is_midnight_utc() -> None:
    assert _date("2024-03-12") == datetime(2024, 3, 12, tzinfo=UTC)


def test_twitter_date_format() -> None:
    assert _date("Tue Oct 18 21:53:25 +0000 2011") == datetime(2011, 10, 18, 21, 53, 25, tzinfo=UTC)


def test_rfc2822_date_format() -> None:
    assert _date("Tue, 18 Oct 2011 23:53:25 +0200") == datetime(
        2011, 10, 18, 21, 53, 25, tzinfo=UTC
    )


def test_epoch_seconds_number() -> None:
    assert _date(1318974805) == datetime(2011, 10, 18, 21, 53, 25, tzinfo=UTC)


def test_epoch_milliseconds_string_is_rejected_as_out_of_range() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": "1318974805000000"}))
    assert reason == (
        "invalid published_at '1318974805000000': out of range (epoch seconds expected)"
    )


def test_epoch_seconds_string() -> None:
    assert _date("1318974805") == datetime(2011, 10, 18, 21, 53, 25, tzinfo=UTC)


def test_date_is_timezone_aware() -> None:
    value = _date("2024-03-12T08:15:00-05:00")
    assert value is not None
    assert value.utcoffset() is not None
    assert value.utcoffset() == UTC.utcoffset(None)


def test_impossible_date_is_rejected_with_the_reason() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": "2023-02-30T10:00:00Z"}))
    assert reason == "invalid published_at '2023-02-30T10:00:00Z': day is out of range for month"


def test_impossible_twitter_date_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": "Thu Feb 30 10:00:00 +0000 2023"}))
    assert reason == (
        "invalid published_at 'Thu Feb 30 10:00:00 +0000 2023': day is out of range for month"
    )


def test_unreadable_date_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": "hier soir"}))
    assert reason.startswith("invalid published_at 'hier soir': not a date")


def test_epoch_milliseconds_are_rejected_as_out_of_range() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": 1318974805000000}))
    assert reason == "invalid published_at 1318974805000000: out of range (epoch seconds expected)"


def test_date_of_wrong_type_is_rejected() -> None:
    reason = _one_reason(_jsonl({"text": "a", "published_at": {"y": 2024}}))
    assert reason == "field published_at must be a string or a number, got object"


# --------------------------------------------------------------------------- CSV


def test_csv_fixture_with_bom_and_multiline_field() -> None:
    with (FIXTURES / "mentions.csv").open("rb") as stream:
        results = list(read_records(stream, fmt="csv"))
    assert [(r.line, type(r).__name__) for r in results] == [
        (2, "ParsedLine"),
        (4, "ParsedLine"),
        (6, "ParsedLine"),
    ]


def test_csv_multiline_quoted_field_keeps_its_newline() -> None:
    with (FIXTURES / "mentions.csv").open("rb") as stream:
        first = next(read_records(stream, fmt="csv"))
    assert isinstance(first, ParsedLine)
    assert first.draft.text == (
        "Service client @SNCF injoignable, train annulé, aucune info.\nMerci pour rien !"
    )


def test_csv_fixture_first_record_has_every_field() -> None:
    with (FIXTURES / "mentions.csv").open("rb") as stream:
        first = next(read_records(stream, fmt="csv"))
    assert isinstance(first, ParsedLine)
    draft = first.draft
    assert (draft.external_id, draft.source_kind, draft.source_name, draft.lang) == (
        "2001",
        "twitter",
        "csv",
        "fr",
    )
    assert draft.author == AuthorRef(handle="voyageur75", name="Paul", followers=88)
    assert draft.published_at == datetime(2024, 3, 12, 18, 2, tzinfo=UTC)


def test_csv_doubled_quotes_are_unescaped() -> None:
    with (FIXTURES / "mentions.csv").open("rb") as stream:
        second = list(read_records(stream, fmt="csv"))[1]
    assert isinstance(second, ParsedLine)
    assert '"no problem"' in second.draft.text


def test_csv_empty_cells_are_absent() -> None:
    with (FIXTURES / "mentions.csv").open("rb") as stream:
        third = list(read_records(stream, fmt="csv"))[2]
    assert isinstance(third, ParsedLine)
    assert (third.draft.author, third.draft.published_at, third.draft.source_name) == (
        None,
        None,
        "forum",
    )


def test_csv_without_text_column_is_refused_before_any_record() -> None:
    with pytest.raises(ImportFormatError) as raised:
        read_records(io.BytesIO(b"a,b,c\n1,2,3\n"), fmt="csv")
    assert str(raised.value) == (
        "CSV header has no 'text' column (columns: a, b, c); use --map text=COLUMN"
    )


def test_csv_mapped_column_missing_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="no 'body' column for --map text=body"):
        read_records(io.BytesIO(b"a,b\n1,2\n"), fmt="csv", mapping={"text": "body"})


def test_csv_mapping_reads_other_columns() -> None:
    data = b"tweet id, tweet, label\n'1',Bonjour,on-topic\n"
    [result] = _read(data, "csv", mapping={"text": "tweet", "id": "tweet id"})
    assert isinstance(result, ParsedLine)
    assert (result.draft.text, result.draft.external_id) == ("Bonjour", "'1'")


def test_csv_header_names_are_matched_without_case() -> None:
    assert _summary(_read(b"ID,Text\n1,a\n", "csv")) == [(2, "a")]


def test_csv_empty_file_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="empty"):
        read_records(io.BytesIO(b""), fmt="csv")


def test_csv_header_with_invalid_utf8_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="not valid UTF-8"):
        read_records(io.BytesIO(b"text,caf\xe9\na,b\n"), fmt="csv")


def test_csv_row_with_too_few_cells_is_rejected() -> None:
    data = b"id,text,author,lang,country\n1,a,b\n2,ok,c,fr,FR\n"
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: row has 3 columns, header has 5"),
        (3, "ok"),
    ]


def test_csv_row_with_too_many_cells_is_rejected() -> None:
    assert _one_reason(b"id,text\n1,a,extra\n", "csv") == "row has 3 columns, header has 2"


def test_csv_invalid_utf8_rejects_only_its_record() -> None:
    data = b"id,text\n1,a\n2,caf\xe9\n3,c\n"
    assert _summary(_read(data, "csv")) == [
        (2, "a"),
        (3, "REJECTED: invalid UTF-8 at byte 6"),
        (4, "c"),
    ]


def test_csv_invalid_utf8_on_a_continuation_line_names_that_line() -> None:
    data = b'id,text\n1,"first\ncaf\xe9"\n2,b\n'
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: invalid UTF-8 at byte 4 of line 3"),
        (4, "b"),
    ]


def test_csv_huge_field_is_rejected_and_reading_goes_on() -> None:
    data = b"id,text\n1," + b"x" * BIG + b"\n2,next\n"
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: field text is 10485760 characters, more than the 1000000 allowed"),
        (3, "next"),
    ]


def test_csv_huge_field_survives_a_low_csv_field_size_limit() -> None:
    previous = csv.field_size_limit(131072)  # the csv module's default
    try:
        data = b"id,text\n1," + b"x" * 200_000 + b"\n2,next\n"
        assert _summary(_read(data, "csv"))[1] == (3, "next")
    finally:
        csv.field_size_limit(previous)


def test_csv_record_over_limit_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileimport, "MAX_RECORD_BYTES", 1000)
    data = b'id,text\n1,"' + b"y\n" * 1000 + b'"\n'
    assert _summary(_read(data, "csv"))[0] == (2, "REJECTED: record is larger than 1000 bytes")


def test_csv_unclosed_quote_is_rejected() -> None:
    data = b'id,text\n1,"never closed\n2,b\n'
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: malformed CSV: unexpected end of data (unclosed quote?)")
    ]


def test_csv_text_after_closing_quote_is_rejected_alone() -> None:
    data = b'id,text\n1,"a"b\n2,c\n'
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: malformed CSV: ',' expected after '\"'"),
        (3, "c"),
    ]


def test_csv_blank_lines_are_skipped() -> None:
    assert _summary(_read(b"id,text\n\n1,a\n,\n\n2,b\n", "csv")) == [(3, "a"), (6, "b")]


def test_csv_semicolon_delimiter_is_detected() -> None:
    data = "id;text;lang\n1;Très bien, merci;fr\n".encode()
    assert _summary(_read(data, "csv")) == [(2, "Très bien, merci")]


def test_tsv_delimiter_is_detected() -> None:
    assert _summary(_read(b"id\ttext\n1\thello, world\n", "csv")) == [(2, "hello, world")]


def test_csv_source_kind_and_name_columns() -> None:
    [result] = _read(b"text,source_kind,source_name\na,Forum,doctissimo\n", "csv")
    assert isinstance(result, ParsedLine)
    assert (result.draft.source_kind, result.draft.source_name) == ("forum", "doctissimo")


def test_csv_epoch_seconds_column() -> None:
    [result] = _read(b"text,published_at\na,1318974805\n", "csv")
    assert isinstance(result, ParsedLine)
    assert result.draft.published_at == datetime(2011, 10, 18, 21, 53, 25, tzinfo=UTC)


def test_csv_negative_count_is_rejected() -> None:
    reason = _one_reason(b"text,likes\na,-2\n", "csv")
    assert reason == "field likes must be a non-negative integer, got -2"


def test_csv_empty_text_is_rejected() -> None:
    assert _one_reason(b"id,text\n1,\n", "csv") == "field text is empty"


def test_csv_nul_byte_rejects_the_row() -> None:
    data = b"id,text\n1,a\x00b\n2,c\n"
    assert _summary(_read(data, "csv")) == [
        (2, "REJECTED: field text contains a NUL character"),
        (3, "c"),
    ]


# --------------------------------------------------------------------------- any bytes


@given(st.binary(max_size=400))
def test_any_jsonl_bytes_give_records_or_rejections(data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = b"\n" + data  # a UTF-16 BOM refuses the whole file (tested above)
    for result in _read(data):
        assert isinstance(result, ParsedLine | RejectedLine)


@given(st.binary(max_size=400))
def test_any_csv_bytes_give_records_or_rejections(data: bytes) -> None:
    for result in _read(b"id,text,likes,published_at,author\n" + data, "csv"):
        assert isinstance(result, ParsedLine | RejectedLine)
