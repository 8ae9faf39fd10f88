"""Parsing of import files (JSON Lines and CSV) into drafts, one record at a time.

Pure over a binary stream: no database, no file opening. :func:`read_records`
yields a :class:`ParsedLine` or a :class:`RejectedLine` (line number + reason) for
every record and never stops at a bad one. Only a problem with the whole file (a
CSV header without a text column, a UTF-16 file, an unknown mapping field) raises
:class:`~flocon.errors.ImportFormatError`, before anything is yielded.

Memory stays bounded: the stream is read line by line and each line is decoded on
its own, so invalid UTF-8 only rejects the record it is in; a record larger than
:data:`MAX_RECORD_BYTES` is skipped without being held in memory.
The field contract is documented in ``docs/import.md``.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import PurePath
from typing import BinaryIO, Final, Literal

from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ImportFormatError

__all__ = [
    "FIELDS",
    "MAX_FIELD_CHARS",
    "MAX_RECORD_BYTES",
    "ParsedLine",
    "RejectedLine",
    "detect_format",
    "parse_mapping",
    "read_records",
]

#: The longest value accepted in any field, in characters.
MAX_FIELD_CHARS: Final = 1_000_000
#: The largest record (a JSONL line, the lines of a CSV record), in bytes.
MAX_RECORD_BYTES: Final = 32 * 1024 * 1024

#: Field names a mapping may use (``--map FIELD=COLUMN``).
FIELDS: Final[tuple[str, ...]] = (
    "id",
    "text",
    "title",
    "url",
    "author",
    "author_name",
    "author_followers",
    "published_at",
    "source",
    "source_kind",
    "source_name",
    "lang",
    "country",
    "parent_id",
    "likes",
    "shares",
    "replies",
)

_FORMATS: Final[dict[str, Literal["jsonl", "csv"]]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
}
_CSV_DELIMITERS: Final = (",", ";", "\t")
_MAX_COUNT: Final = 2**63 - 1  # a SQL BIGINT
_DRAIN_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A record read successfully; ``line`` is the 1-based line where it starts."""

    line: int
    draft: Draft


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A record that could not be read, and why (a sentence for the user)."""

    line: int
    reason: str


# --------------------------------------------------------------------------- entry points


def detect_format(filename: str) -> Literal["jsonl", "csv"]:
    """The format implied by the file name's extension (case-insensitive).

    ``.jsonl``, ``.ndjson``, ``.json`` → ``"jsonl"``; ``.csv``, ``.tsv`` → ``"csv"``;
    anything else raises :class:`ImportFormatError`.
    """
    suffix = PurePath(filename).suffix.lower()
    try:
        return _FORMATS[suffix]
    except KeyError:
        known = ", ".join(_FORMATS)
        raise ImportFormatError(
            f"cannot tell the format of '{filename}' from its extension (known: {known}); "
            "use --format jsonl or --format csv"
        ) from None


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """``["text=body", "id=tweet_id"]`` → ``{"text": "body", "id": "tweet_id"}``.

    Raises :class:`ImportFormatError` for an item without ``=``, an empty side, a
    field that is not in :data:`FIELDS`, or a field mapped twice.
    """
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise ImportFormatError(
                f"invalid --map '{item}': expected FIELD=COLUMN, e.g. text=body"
            )
        if field not in FIELDS:
            raise ImportFormatError(
                f"invalid --map '{item}': unknown field '{field}' (fields: {', '.join(FIELDS)})"
            )
        if field in mapping:
            raise ImportFormatError(f"invalid --map '{item}': field '{field}' is mapped twice")
        mapping[field] = column
    return mapping


def read_records(
    stream: BinaryIO,
    *,
    fmt: Literal["jsonl", "csv"],
    mapping: Mapping[str, str] | None = None,
    default_source: tuple[str, str] = ("import", "import"),
) -> Iterator[ParsedLine | RejectedLine]:
    """Read ``stream`` record by record.

    ``mapping`` maps a field name to the key (JSONL, top-level) or column (CSV)
    holding it; unmapped fields are read from the key or column of the same name.
    ``default_source`` is the (kind, name) of records that name no source.
    """
    columns = _columns(mapping or {})
    if fmt == "jsonl":
        return _read_jsonl(stream, columns, default_source)
    if fmt == "csv":
        return _read_csv(stream, columns, mapping or {}, default_source)
    raise ImportFormatError(f"unknown format '{fmt}': use jsonl or csv")


def _columns(mapping: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ImportFormatError(
            f"unknown field(s) in mapping: {', '.join(unknown)} (fields: {', '.join(FIELDS)})"
        )
    return {field: mapping.get(field, field) for field in FIELDS}


# --------------------------------------------------------------------------- lines


class _LineTooLong(Exception):
    """A physical line longer than :data:`MAX_RECORD_BYTES` (already skipped)."""


class _PhysicalLines:
    """Physical lines of a binary stream (split at ``\\n``), counted from 1.

    A UTF-8 BOM at the start is dropped; a UTF-16 BOM is refused. A line longer
    than :data:`MAX_RECORD_BYTES` is read past in chunks and reported by
    :class:`_LineTooLong`, never held in memory whole.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.line_no = 0

    def read(self) -> bytes | None:
        """The next line with its terminator; None at the end of the stream."""
        raw = self._stream.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return None
        self.line_no += 1
        if self.line_no == 1:
            if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise ImportFormatError("the file is UTF-16 encoded; save it as UTF-8")
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            while True:
                chunk = self._stream.readline(_DRAIN_CHUNK)
                if not chunk or chunk.endswith(b"\n"):
                    break
            raise _LineTooLong
        return raw


def _too_long_reason() -> str:
    return f"record is larger than {MAX_RECORD_BYTES} bytes"


def _utf8_reason(error: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 at byte {error.start + 1}"


# --------------------------------------------------------------------------- JSON Lines

_JSON_TYPES: Final[dict[type, str]] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _type_name(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _read_jsonl(
    stream: BinaryIO, columns: dict[str, str], default_source: tuple[str, str]
) -> Iterator[ParsedLine | RejectedLine]:
    lines = _PhysicalLines(stream)
    while True:
        try:
            raw = lines.read()
        except _LineTooLong:
            yield RejectedLine(lines.line_no, _too_long_reason())
            continue
        if raw is None:
            return
        line_no = lines.line_no
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            yield RejectedLine(line_no, _utf8_reason(error))
            continue
        if not text or text.isspace():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as error:
            yield RejectedLine(line_no, f"invalid JSON: {error.msg} at column {error.colno}")
            continue
        except RecursionError:
            yield RejectedLine(line_no, "invalid JSON: nested too deeply")
            continue
        except ValueError as error:  # e.g. an integer with more than 4,300 digits
            yield RejectedLine(line_no, f"invalid JSON: {error}")
            continue
        if not isinstance(obj, dict):
            yield RejectedLine(line_no, f"expected a JSON object, got {_type_name(obj)}")
            continue
        record = _Record({field: obj.get(key) for field, key in columns.items()}, columns)
        try:
            draft = _build_draft(record, default_source)
        except _Reject as reject:
            yield RejectedLine(line_no, reject.reason)
            continue
        yield ParsedLine(line_no, draft)


# --------------------------------------------------------------------------- CSV


class _RecordTooLarge(Exception):
    """The lines of one CSV record add up to more than :data:`MAX_RECORD_BYTES`."""


class _CsvLines:
    """Decoded lines fed to :func:`csv.reader`, one UTF-8 decode per line.

    An undecodable line is passed on with replacement characters (so the CSV
    structure is kept) and remembered in ``decode_error`` to reject its record.
    ``begin_record`` is called before each record; the csv reader consumes the
    lines of exactly one record per ``next()``.
    """

    def __init__(self, lines: _PhysicalLines) -> None:
        self._lines = lines
        self._pushed: str | None = None
        self._record_bytes = 0
        self.decode_error: tuple[int, UnicodeDecodeError] | None = None

    @property
    def line_no(self) -> int:
        return self._lines.line_no

    def begin_record(self) -> None:
        self._record_bytes = 0
        self.decode_error = None

    def push_back(self, line: str) -> None:
        self._pushed = line

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self._pushed is not None:
            line, self._pushed = self._pushed, None
            return line
        try:
            raw = self._lines.read()
        except _LineTooLong:
            raise _RecordTooLarge from None
        if raw is None:
            raise StopIteration
        self._record_bytes += len(raw)
        if self._record_bytes > MAX_RECORD_BYTES:
            raise _RecordTooLarge
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if self.decode_error is None:
                self.decode_error = (self._lines.line_no, error)
            return raw.decode("utf-8", "replace")


def _pick_delimiter(header_line: str) -> str:
    """The most frequent of ``,``, ``;`` and tab in the header line (``,`` on a tie)."""
    counts = [(header_line.count(d), -i, d) for i, d in enumerate(_CSV_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def _resolve_columns(
    header: list[str], columns: dict[str, str], mapping: Mapping[str, str]
) -> dict[str, int]:
    """Column index of each field present in the header (names compared trimmed, case-insensitively)."""
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.strip().casefold(), i)
    listed = ", ".join(name.strip() for name in header)
    found: dict[str, int] = {}
    for field, column in columns.items():
        index = positions.get(column.strip().casefold())
        if index is not None:
            found[field] = index
        elif field == "text" and "text" not in mapping:
            raise ImportFormatError(
                f"CSV header has no 'text' column (columns: {listed}); use --map text=COLUMN"
            )
        elif field in mapping:
            raise ImportFormatError(
                f"CSV header has no '{column}' column for --map {field}={column} (columns: {listed})"
            )
    return found


def _read_csv(
    stream: BinaryIO,
    columns: dict[str, str],
    mapping: Mapping[str, str],
    default_source: tuple[str, str],
) -> Iterator[ParsedLine | RejectedLine]:
    """Read the header now (errors raise at once), return the records' iterator."""
    # The csv module's field limit is process-wide: raise it (never lower it) to the
    # record limit; MAX_FIELD_CHARS is enforced below with a precise reason.
    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)
    lines = _CsvLines(_PhysicalLines(stream))
    try:
        first = next(lines)
    except StopIteration:
        raise ImportFormatError("the CSV file is empty: no header line") from None
    except _RecordTooLarge:
        raise ImportFormatError(f"the CSV header is larger than {MAX_RECORD_BYTES} bytes") from None
    if lines.decode_error is not None:
        raise ImportFormatError(
            f"the CSV header (line 1) is not valid UTF-8: {_utf8_reason(lines.decode_error[1])}"
        )
    lines.push_back(first)
    reader = csv.reader(lines, delimiter=_pick_delimiter(first), quotechar='"', strict=True)
    try:
        header = next(reader)
    except (csv.Error, _RecordTooLarge) as error:
        raise ImportFormatError(f"the CSV header cannot be read: {error}") from None
    found = _resolve_columns(header, columns, mapping)
    return _csv_records(reader, lines, found, len(header), columns, default_source)


def _csv_records(
    reader: Iterator[list[str]],
    lines: _CsvLines,
    found: dict[str, int],
    width: int,
    columns: dict[str, str],
    default_source: tuple[str, str],
) -> Iterator[ParsedLine | RejectedLine]:
    while True:
        start = lines.line_no + 1
        lines.begin_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordTooLarge:
            yield RejectedLine(start, _too_long_reason())
            continue
        except csv.Error as error:
            hint = " (unclosed quote?)" if "unexpected end of data" in str(error) else ""
            yield RejectedLine(start, f"malformed CSV: {error}{hint}")
            continue
        if lines.decode_error is not None:
            bad_line, decode_error = lines.decode_error
            where = "" if bad_line == start else f" of line {bad_line}"
            yield RejectedLine(start, _utf8_reason(decode_error) + where)
            continue
        if not any(cell.strip() for cell in row):  # blank line or only delimiters
            continue
        if len(row) != width:
            yield RejectedLine(start, f"row has {len(row)} columns, header has {width}")
            continue
        record = _Record({field: row[index] for field, index in found.items()}, columns)
        try:
            draft = _build_draft(record, default_source)
        except _Reject as reject:
            yield RejectedLine(start, reject.reason)
            continue
        yield ParsedLine(start, draft)


# --------------------------------------------------------------------------- records → drafts


class _Reject(Exception):
    """The record is invalid; ``reason`` tells the user why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Record:
    """Raw values of one record by field name, and where each field is read from."""

    values: dict[str, object]
    columns: dict[str, str]

    def get(self, field: str) -> object:
        """The raw value of ``field``; None when absent or null."""
        return self.values.get(field)

    def label(self, field: str) -> str:
        column = self.columns.get(field, field)
        return f"field {field}" if column == field else f"field {field} (column '{column}')"


_BAD_CHAR_RE: Final = re.compile("[\x00\ud800-\udfff]")


def _check_string(label: str, value: str) -> str:
    if len(value) > MAX_FIELD_CHARS:
        raise _Reject(
            f"{label} is {len(value)} characters, more than the {MAX_FIELD_CHARS} allowed"
        )
    bad = _BAD_CHAR_RE.search(value)
    if bad is not None:
        what = "a NUL character" if bad.group() == "\x00" else "an unpaired UTF-16 surrogate"
        raise _Reject(f"{label} contains {what}")
    return value


def _show(value: object, limit: int = 60) -> str:
    """``value`` for a message, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(value: object) -> str:
    """Strings in quotes (``'2023-02-30'``), other values as they are (``-3``)."""
    return repr(_show(value)) if isinstance(value, str) else _show(value)


def _opt_str(label: str, value: object, *, allow_int: bool = False) -> str | None:
    """An optional string: trimmed, empty → None. Integers allowed for ids."""
    if value is None:
        return None
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        kind = "a string or an integer" if allow_int else "a string"
        raise _Reject(f"{label} must be {kind}, got {_type_name(value)}")
    value = _check_string(label, value).strip()
    return value or None


_COUNT_RE: Final = re.compile(r"[0-9]+(?:\.0*)?")


def _count(label: str, value: object) -> int | None:
    """A non-negative integer: int, integral float, or a string of digits (``"12"``, ``"12.0"``)."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = _check_string(label, value).strip()
        if not text:
            return None
        if _COUNT_RE.fullmatch(text):
            digits = text.split(".", 1)[0].lstrip("0") or "0"
            number = int(digits) if len(digits) <= 19 else _MAX_COUNT + 1
    if number is None or number < 0:
        raise _Reject(f"{label} must be a non-negative integer, got {_show(value)}")
    if number > _MAX_COUNT:
        raise _Reject(f"{label} is too large: {_show(value)}")
    return number


_TWITTER_DATE_RE: Final = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})"
)
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC2822_RE: Final = re.compile(
    r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}"
)
_EPOCH_RE: Final = re.compile(r"-?[0-9]{9,}(?:\.[0-9]+)?")


def _from_epoch(value: object, seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _Reject(
            f"invalid published_at {_quoted(value)}: out of range (epoch seconds expected)"
        ) from None


def _parse_date_string(text: str) -> datetime:
    if _EPOCH_RE.fullmatch(text):
        return _from_epoch(text, float(text))
    twitter = _TWITTER_DATE_RE.fullmatch(text)
    if twitter is not None:
        month, day, hh, mm, ss, sign, oh, om, year = twitter.groups()
        offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
        tz = timezone(offset)
        return datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=tz)
    if _RFC2822_RE.match(text):
        return parsedate_to_datetime(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        if str(error).startswith("Invalid isoformat string"):
            raise ValueError(
                "not a date in ISO 8601, RFC 2822 or Twitter format, nor epoch seconds"
            ) from None
        raise


def _published_at(label: str, value: object) -> datetime | None:
    """A timezone-aware UTC datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Reject(f"{label} must be a string or a number, got {_type_name(value)}")
    if isinstance(value, int | float):
        parsed = _from_epoch(value, value)
    else:
        text = _check_string(label, value).strip()
        if not text:
            return None
        try:
            parsed = _parse_date_string(text)
        except (ValueError, TypeError, OverflowError) as error:
            raise _Reject(f"invalid published_at {_quoted(text)}: {error}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _Reject(f"invalid published_at {_quoted(value)}: out of range") from None


def _author(record: _Record) -> AuthorRef | None:
    raw = record.get("author")
    handle = name = None
    followers = None
    if isinstance(raw, dict):
        handle = _opt_str("field author.handle", raw.get("handle"))
        name = _opt_str("field author.name", raw.get("name"))
        followers = _count("field author.followers", raw.get("followers"))
    elif raw is None or isinstance(raw, str):
        handle = _opt_str(record.label("author"), raw)
    else:
        raise _Reject(
            f"{record.label('author')} must be a string or an object, got {_type_name(raw)}"
        )
    if name is None:
        name = _opt_str(record.label("author_name"), record.get("author_name"))
    if followers is None:
        followers = _count(record.label("author_followers"), record.get("author_followers"))
    if handle is not None:
        handle = handle.removeprefix("@").strip() or None
    if handle is None and name is None and followers is None:
        return None
    return AuthorRef(handle=handle, name=name, followers=followers)


def _source(record: _Record, default_source: tuple[str, str]) -> tuple[str, str]:
    raw = record.get("source")
    kind: str | None
    name: str | None
    if isinstance(raw, dict):
        kind = _opt_str("field source.kind", raw.get("kind"))
        name = _opt_str("field source.name", raw.get("name"))
        if kind is None:
            raise _Reject("field source must have a non-empty kind")
    elif raw is not None and not isinstance(raw, str):
        raise _Reject(
            f"{record.label('source')} must be a string or an object, got {_type_name(raw)}"
        )
    else:
        spec = _opt_str(record.label("source"), raw)
        if spec is not None:
            kind, _, name = (part.strip() for part in spec.partition(":"))
            if not kind:
                raise _Reject(f"{record.label('source')} has no kind: {_quoted(spec)}")
        else:
            kind = _opt_str(record.label("source_kind"), record.get("source_kind"))
            name = _opt_str(record.label("source_name"), record.get("source_name"))
            if kind is None and name is None:
                return default_source
            if kind is None:
                kind = default_source[0]
    kind = kind.lower()
    return kind, name or kind


def _build_draft(record: _Record, default_source: tuple[str, str]) -> Draft:
    text = record.get("text")
    label = record.label("text")
    if text is None:
        raise _Reject(f"missing {label}")
    if not isinstance(text, str):
        raise _Reject(f"{label} must be a string, got {_type_name(text)}")
    _check_string(label, text)
    if not text.strip():
        raise _Reject(f"{label} is empty")
    kind, name = _source(record, default_source)
    return Draft(
        source_kind=kind,
        source_name=name,
        text=text,
        external_id=_opt_str(record.label("id"), record.get("id"), allow_int=True),
        title=_opt_str(record.label("title"), record.get("title")),
        url=_opt_str(record.label("url"), record.get("url")),
        author=_author(record),
        published_at=_published_at(record.label("published_at"), record.get("published_at")),
        lang=_opt_str(record.label("lang"), record.get("lang")),
        country=_opt_str(record.label("country"), record.get("country")),
        parent_external_id=_opt_str(
            record.label("parent_id"), record.get("parent_id"), allow_int=True
        ),
        likes=_count(record.label("likes"), record.get("likes")),
        shares=_count(record.label("shares"), record.get("shares")),
        replies=_count(record.label("replies"), record.get("replies")),
    )
