"""Training the shipped models from public data: ``flocon train sentiment|needs-answer``.

Anyone can retrain what flocon ships: the data folder is an argument
(``../shared/datasets`` in this repository's layout), the recipe is here, and the
model file records what it was trained on and its validation scores.

Sentiment (both profiles) learns from the UMSAB training tweets of all eight
languages (``xlm-t-umsab/all/train``) and from the *train* part of the labelled brand
mentions (:mod:`flocon.analysis.brandsets`: sentiment toward the brand a tweet names,
which is what flocon reports). The regularisation strength and the brand mentions'
weight are chosen on the French and English UMSAB validation splits and the brand
sets' *dev* part, which are also the scores stored in the model file. Test splits and
the brand sets' *test* part are never read here. A workspace's corrections, when
given, are added with a higher weight.

Needs-answer learns "is this a complaint" from ``complaints-twitter`` (3,449
tweets to brands); with no official split, its figure is a 10-fold
cross-validated macro-F1 (the protocol of the paper it is compared with), and the
decision threshold is chosen inside the training folds only.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from flocon.analysis.brandsets import brand_examples
from flocon.analysis.datasets import LABELS, DatasetError, Example, read_split
from flocon.analysis.features import E5Embeddings, HashedNgrams, extractor_from_meta
from flocon.analysis.linear import LinearModel, fit
from flocon.analysis.metrics import macro_f1

__all__ = [
    "NEEDS_ANSWER_SET",
    "SENTIMENT_SET",
    "TrainReport",
    "embed_cached",
    "train_needs_answer",
    "train_sentiment",
]

SENTIMENT_SET: Final = "xlm-t-umsab"
NEEDS_ANSWER_SET: Final = "complaints-twitter"
VALIDATION_LANGUAGES: Final = {"french": "fr", "english": "en"}
UMSAB_LANGUAGES: Final = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}
FAST_FEATURES: Final = HashedNgrams(char=(2, 5), word=(1, 2), bits=20)
C_GRID: Final = {"fast": (1.0, 3.0, 10.0), "accurate": (0.3, 1.0, 3.0, 10.0)}
CORRECTION_WEIGHT: Final = 3.0
#: Weights tried for the brand mentions' train part (chosen with C, on the dev scores).
BRAND_WEIGHTS: Final = (1.0, 2.0)
#: Weights tried for averaging the accurate head with the shipped fast model (0: alone).
BLEND_WEIGHTS: Final = (0.0, 0.1, 0.2, 0.3)
#: Short names of the brand sets in the scores stored in a model file.
BRAND_SHORT: Final = {"sanders-brand-tweets": "sanders", "brand-product-emotions-sxsw": "sxsw"}

Progress = Callable[[str], None]


@dataclass
class TrainReport:
    path: Path
    scores: dict[str, float] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=dict)
    examples: int = 0


def distillation_texts(data_dir: Path) -> list[str]:
    """Unlabelled real texts the fast models learn the accurate models' answers on.

    Customer-support tweets, complaints to brands, French reviews (AlloCiné *train*
    only: its dev split is an evaluation set), McDonald's reviews, brands' own tweets and
    crisis tweets; none of the sets used to report a figure. Fixed sample, fixed order.
    """
    import io
    import random

    def take(texts: list[str], cap: int) -> list[str]:
        kept = [t for t in texts if t.strip()]
        random.Random(1).shuffle(kept)
        return kept[:cap]

    needed = [
        data_dir / "twcs-customer-support-sample" / "twcs.csv",
        data_dir / NEEDS_ANSWER_SET / "complaints-data.csv",
        data_dir / "allocine-tvseries-fr" / "fr" / "train.tsv",
        data_dir / "dfe-mcdonalds-yelp" / "McDonalds-Yelp-Sentiment-DFE.csv",
        data_dir / "dfe-corporate-messaging" / "Corporate-messaging-DFE.csv",
    ]
    for path in needed:
        if not path.is_file():
            raise DatasetError(
                f"{path} is missing: distillation reads it (or train with --no-distill)"
            )
    out: list[str] = []
    twcs = needed[0]
    with twcs.open(encoding="utf-8", newline="") as fh:  # one row holds bare carriage returns
        raw = fh.read().replace("\r\n", "\n").replace("\r", " ")
    out += take([r["text"] for r in csv.DictReader(io.StringIO(raw))], 5000)
    complaints, _, _ = read_complaints(data_dir)
    out += take(complaints, 3449)
    allocine = data_dir / "allocine-tvseries-fr" / "fr" / "train.tsv"
    with allocine.open(encoding="utf-8") as fh:
        out += take([line.rstrip("\n").partition("\t")[2] for line in fh], 1500)
    yelp = data_dir / "dfe-mcdonalds-yelp" / "McDonalds-Yelp-Sentiment-DFE.csv"
    with yelp.open(encoding="utf-8", newline="") as fh:
        out += take([r["review"] for r in csv.DictReader(fh, delimiter="\t")], 1525)
    corporate = data_dir / "dfe-corporate-messaging" / "Corporate-messaging-DFE.csv"
    with corporate.open(encoding="cp1252", errors="replace", newline="") as fh:
        out += take([r["text"] for r in csv.DictReader(fh)], 3200)
    crisis: list[str] = []
    for path in sorted(data_dir.glob("crisislex-t26/*/*-tweets_labeled.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = csv.reader(fh)
            next(rows)
            crisis += [row[1] for row in rows]
    out += take(crisis, 4000)
    return out


def _encoder_of(model: LinearModel) -> E5Embeddings:
    encoder = extractor_from_meta(model.features)
    if not isinstance(encoder, E5Embeddings):
        raise ValueError("a teacher must be an accurate (embedding) model")
    return encoder


def teacher_labels(
    teacher: LinearModel, x: Any, *, min_confidence: float
) -> tuple[list[str], np.ndarray]:
    """The teacher's labels and a mask of the confident ones."""
    probs = teacher.probabilities(x)
    labels = [teacher.classes[i] for i in probs.argmax(axis=1)]
    return labels, probs.max(axis=1) >= min_confidence


def _set_folder(data_dir: Path, name: str) -> Path:
    folder = data_dir / name
    if not folder.is_dir():
        raise DatasetError(
            f"{data_dir}: no {name}/ folder here (give the folder that holds the public data sets, "
            "for example ../shared/datasets)"
        )
    return folder


def embedding_key(texts: Sequence[str], extractor: E5Embeddings) -> str:
    """Cache key of a list's embeddings: the encoder (with its patch) and every text."""
    head = json.dumps(extractor.meta(), sort_keys=True)
    return hashlib.sha256((head + "\x00" + "\x00".join(texts)).encode("utf-8")).hexdigest()[:32]


def embed_cached(
    texts: Sequence[str],
    cache_dir: Path | None,
    progress: Progress | None,
    extractor: E5Embeddings | None = None,
) -> Any:
    """E5 embeddings of ``texts``, cached on disk by encoder and the hash of the whole list."""
    extractor = extractor or E5Embeddings()
    digest = embedding_key(texts, extractor)
    path = cache_dir / f"e5-small-{digest}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        return np.load(path, allow_pickle=False)
    parts = []
    step = 512
    for start in range(0, len(texts), step):
        parts.append(extractor.transform(texts[start : start + step]))
        if progress is not None:
            progress(f"embedded {min(start + step, len(texts))}/{len(texts)} texts")
    out = np.concatenate(parts) if parts else np.zeros((0, extractor.width), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out, allow_pickle=False)
    return out


def accurate_encoder() -> E5Embeddings:
    """The encoder of the accurate profile: the fine-tuned one when its patch is installed."""
    from flocon.analysis.models import accurate_encoder_patch

    return E5Embeddings(accurate_encoder_patch())


def _features(
    profile: str, texts: Sequence[str], cache_dir: Path | None, progress: Progress | None
) -> Any:
    if profile == "fast":
        return FAST_FEATURES.transform(texts)
    return embed_cached(texts, cache_dir, progress, accurate_encoder())


def _feature_meta(profile: str) -> dict[str, Any]:
    return FAST_FEATURES.meta() if profile == "fast" else accurate_encoder().meta()


def train_sentiment(
    data_dir: Path,
    *,
    profile: str,
    out: Path,
    corrections: Sequence[Example] = (),
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    teacher: Path | None = None,
    brand: bool = True,
    partner: Path | None = None,
) -> TrainReport:
    """Train a sentiment model for ``profile`` and write it to ``out``.

    With a ``teacher`` (the accurate model file) a fast model also learns the teacher's
    confident answers on :func:`distillation_texts` (knowledge distillation). With
    ``brand`` (the default) the brand sets found in ``data_dir`` add their train part,
    and their dev part joins the selection. With a ``partner`` (the shipped fast model
    file) an accurate model also chooses, on the same scores, the weight its answers are
    averaged with the partner's (:func:`flocon.analysis.models.blended`; 0 keeps it alone).
    """
    folder = _set_folder(data_dir, SENTIMENT_SET)
    train = read_split(folder / "all", "train")
    vals = {code: read_split(folder / lang, "val") for lang, code in VALIDATION_LANGUAGES.items()}
    brand_train = brand_examples(data_dir, ["train"]) if brand else {}
    if brand:
        vals.update({BRAND_SHORT[name]: v for name, v in brand_examples(data_dir, ["dev"]).items()})
        if progress is not None:
            missing = sorted(set(BRAND_SHORT) - set(brand_train))
            if missing:
                progress(f"brand sets not found in {data_dir}: {', '.join(missing)}")
    brand_items = [e for examples in brand_train.values() for e in examples]
    texts = [e.text for e in train] + [e.text for e in corrections]
    labels = [e.label for e in train] + [e.label for e in corrections]
    weights = np.array([1.0] * len(train) + [CORRECTION_WEIGHT] * len(corrections))
    distilled = 0
    if teacher is not None and profile == "fast":
        extra = distillation_texts(data_dir)
        if progress is not None:
            progress(f"teacher labels for {len(extra)} unlabelled texts")
        teacher_model = LinearModel.load(teacher)
        extra_labels, keep = teacher_labels(
            teacher_model,
            embed_cached(extra, cache_dir, progress, _encoder_of(teacher_model)),
            min_confidence=0.5,
        )
        confident = [i for i in range(len(extra)) if keep[i]]
        texts += [extra[i] for i in confident]
        labels += [extra_labels[i] for i in confident]
        weights = np.concatenate([weights, np.full(len(confident), 1.0)])
        distilled = len(confident)
    texts += [e.text for e in brand_items]
    labels += [e.label for e in brand_items]
    if progress is not None:
        progress(
            f"{len(train)} training tweets, {len(brand_items)} brand mentions, "
            f"{len(corrections)} corrections; extracting features"
        )
    x = _features(profile, texts, cache_dir, progress)
    x_val = {
        code: _features(profile, [e.text for e in v], cache_dir, progress)
        for code, v in vals.items()
    }
    best: tuple[float, dict[str, float], LinearModel | None, dict[str, float]] = (
        -1.0,
        {},
        None,
        {},
    )
    for brand_weight in BRAND_WEIGHTS if brand_items else (0.0,):
        sample_weight = np.concatenate([weights, np.full(len(brand_items), brand_weight)])
        for c in C_GRID[profile]:
            model = fit(
                x,
                labels,
                classes=LABELS,
                features=_feature_meta(profile),
                c=c,
                sample_weight=sample_weight,
            )
            probs = {code: model.probabilities(x_val[code]) for code in vals}
            mean, scores = _selection_scores(
                vals, probs, f"C={c}, brand weight {brand_weight:g}", progress
            )
            if mean > best[0]:
                best = (mean, {"C": c, "brand_weight": brand_weight}, model, scores)
    _, chosen_settings, chosen, scores = best
    assert chosen is not None
    model = chosen
    blend: dict[str, Any] = {}
    if partner is not None and profile == "accurate":
        blend, scores = _choose_blend(model, partner, vals, x_val, progress)
        chosen_settings = {**chosen_settings, "blend_weight": blend["blend_weight"]}
    brand_note = ", ".join(f"{name} train part ({len(v)})" for name, v in brand_train.items())
    meta = {
        "name": f"sentiment-{profile}" + ("+corrections" if corrections else ""),
        "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
        "data": f"{SENTIMENT_SET}/all/train ({len(train)} tweets, 8 languages)"
        + (f"; {brand_note}" if brand_note else ""),
        "corrections": len(corrections),
        "distilled": distilled,
        "brand_mentions": len(brand_items),
        **chosen_settings,
        **blend,
        **scores,
    }
    final = LinearModel(
        classes=model.classes,
        weights=model.weights,
        bias=model.bias,
        features=model.features,
        meta=meta,
    )
    final.save(out)
    return TrainReport(path=out, scores=scores, chosen=chosen_settings, examples=len(texts))


def _selection_scores(
    vals: dict[str, list[Example]],
    probs: dict[str, np.ndarray],
    label: str,
    progress: Progress | None,
) -> tuple[float, dict[str, float]]:
    """Macro-F1 on each selection set (UMSAB validation, brand dev) and their mean."""
    scores = {}
    for code, v in vals.items():
        split = "val" if code in VALIDATION_LANGUAGES.values() else "dev"
        predicted = [LABELS[i] for i in probs[code].argmax(axis=1)]
        scores[f"{split}_macro_f1_{code}"] = macro_f1([e.label for e in v], predicted, LABELS)
    if progress is not None:
        progress(f"{label}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    return float(np.mean(list(scores.values()))), scores


def _choose_blend(
    model: LinearModel,
    partner_path: Path,
    vals: dict[str, list[Example]],
    x_val: dict[str, Any],
    progress: Progress | None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The weight of the partner model that scores best on the selection sets."""
    from flocon.analysis.models import blended

    partner = LinearModel.load(partner_path)
    extractor = extractor_from_meta(partner.features)
    theirs = {
        code: partner.probabilities(extractor.transform([e.text for e in v]))
        for code, v in vals.items()
    }
    ours = {code: model.probabilities(x_val[code]) for code in vals}
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.0, {})
    for weight in BLEND_WEIGHTS:
        probs = {c: blended(ours[c], theirs[c], weight) if weight else ours[c] for c in vals}
        mean, scores = _selection_scores(
            vals, probs, f"averaged with {partner_path.stem} at weight {weight:g}", progress
        )
        if mean > best[0]:
            best = (mean, weight, scores)
    _, weight, scores = best
    meta: dict[str, Any] = {
        "blend_with": partner_path.stem if weight else "",
        "blend_weight": weight,
    }
    return meta, scores


NEEDS_FEATURES: Final = FAST_FEATURES  # the same columns as sentiment: one extraction per text


def read_complaints(data_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """Texts, labels (``complaint``/``other``) and domains of ``complaints-twitter``."""
    path = _set_folder(data_dir, NEEDS_ANSWER_SET) / "complaints-data.csv"
    texts, labels, domains = [], [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for number, row in enumerate(csv.reader(fh), start=1):
            if len(row) != 4:
                raise DatasetError(f"{path}:{number}: expected 4 columns, found {len(row)}")
            texts.append(row[1])
            labels.append("complaint" if row[2].strip() == "1" else "other")
            domains.append(row[3])
    return texts, labels, domains


def _best_threshold(probs: np.ndarray, labels: Sequence[str]) -> float:
    best = (-1.0, 0.5)
    for t in np.arange(0.2, 0.81, 0.05):
        predicted = ["complaint" if p >= t else "other" for p in probs]
        score = macro_f1(labels, predicted, ("complaint", "other"))
        if score > best[0]:
            best = (score, float(t))
    return best[1]


NEEDS_C: Final = {"fast": 3.0, "accurate": 1.0}


def train_needs_answer(
    data_dir: Path,
    *,
    out: Path,
    profile: str = "fast",
    folds: int = 10,
    c: float | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> TrainReport:
    """Train the complaint model of ``profile``; report its cross-validated macro-F1.

    The data is English: the accurate profile's multilingual encoder carries what it
    learns to other languages; the fast profile's n-grams do not (distilling the
    accurate model's answers on UMSAB tweets taught it that French is never a
    complaint: those tweets are not addressed to brands, so it is not done).
    """
    from sklearn.model_selection import StratifiedKFold

    texts, labels, _ = read_complaints(data_dir)
    classes = ("other", "complaint")
    c = NEEDS_C[profile] if c is None else c
    if profile == "fast":
        x = NEEDS_FEATURES.transform(texts)
        feature_meta = NEEDS_FEATURES.meta()
    else:
        encoder = accurate_encoder()
        x = embed_cached(texts, cache_dir, progress, encoder)
        feature_meta = encoder.meta()
    y = np.array(labels)
    predicted: list[str] = [""] * len(texts)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=2019)
    for number, (train_idx, test_idx) in enumerate(splitter.split(texts, y), start=1):
        inner = fit(x[train_idx], list(y[train_idx]), classes=classes, features=feature_meta, c=c)
        train_probs = inner.probabilities(x[train_idx])[:, 1]
        threshold = _best_threshold(train_probs, list(y[train_idx]))
        for i, p in zip(test_idx, inner.probabilities(x[test_idx])[:, 1], strict=True):
            predicted[i] = "complaint" if p >= threshold else "other"
        if progress is not None:
            progress(f"fold {number}/{folds}")
    cv = macro_f1(labels, predicted, ("complaint", "other"))
    model = fit(x, labels, classes=classes, features=feature_meta, c=c)
    threshold = _best_threshold(model.probabilities(x)[:, 1], labels)
    meta = {
        "name": f"needs-answer-{profile}",
        "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
        "data": f"{NEEDS_ANSWER_SET} ({len(texts)} tweets)",
        "threshold": threshold,
        "cv_macro_f1": cv,
        "C": c,
    }
    LinearModel(
        classes=model.classes,
        weights=model.weights,
        bias=model.bias,
        features=model.features,
        meta=meta,
    ).save(out)
    return TrainReport(
        path=out, scores={"cv_macro_f1": cv}, chosen={"threshold": threshold}, examples=len(texts)
    )
