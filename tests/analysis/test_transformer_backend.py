"""The `transformers` profile: a local Hugging Face model directory, never a download.

The models here are tiny BERTs built and trained in the test (a few seconds on the CPU), saved
with ``save_pretrained`` the way a user's XLM-R sentiment model would be. The tests that load
one need the extra ``flocon[transformers]``; CI installs it and sets
FLOCON_REQUIRE_TRANSFORMERS=1 so that they run there rather than skip.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from flocon.analysis.analyzer import Analyzer
from flocon.analysis.transformer import TransformerSentimentStep, map_labels
from flocon.cli import app
from flocon.errors import ConfigError

REQUIRED = os.environ.get("FLOCON_REQUIRE_TRANSFORMERS") == "1"

POSITIVE = ["good phone", "great service", "love it", "super produit", "génial merci"]
NEGATIVE = ["bad phone", "awful service", "hate it", "produit nul", "service horrible"]
NEUTRAL = ["the phone", "a table", "it is tuesday", "le produit", "mardi matin"]


def _torch() -> Any:
    try:
        import torch
        import transformers
    except ImportError:
        if REQUIRED:
            pytest.fail("FLOCON_REQUIRE_TRANSFORMERS=1 but torch/transformers are not installed")
        pytest.skip("the transformers extra is not installed")
    return torch, transformers


def build_model(directory: Path, id2label: dict[int, str], targets: list[tuple[str, int]]) -> Path:
    """Train a one-layer BERT with a word-level vocabulary until it fits ``targets``; save it."""
    torch, transformers = _torch()
    torch.manual_seed(0)
    words = sorted({w for text, _ in targets for w in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    directory.mkdir(parents=True)
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", "utf-8")
    # The vocabulary file is passed by position: transformers 4 calls it vocab_file, 5 vocab.
    tokenizer = transformers.BertTokenizerFast(
        str(directory / "vocab.txt"), do_lower_case=True, strip_accents=False
    )
    assert all(tokenizer.unk_token_id not in ids for ids in tokenizer(words)["input_ids"])
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    model = transformers.BertForSequenceClassification(config)
    texts = [t for t, _ in targets]
    labels = torch.tensor([y for _, y in targets])
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(200):
        loss = model(**batch, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if loss.item() < 0.01:
            break
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def sentiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    targets = [(t, 0) for t in NEGATIVE] + [(t, 1) for t in NEUTRAL] + [(t, 2) for t in POSITIVE]
    return build_model(
        tmp_path_factory.mktemp("hf") / "tiny-sentiment",
        {0: "negative", 1: "neutral", 2: "positive"},
        targets,
    )


def test_labels_are_read_from_names_numbers_and_stars() -> None:
    assert map_labels({0: "NEG", 1: "NEU", 2: "POS"}) == ["negative", "neutral", "positive"]
    assert map_labels({0: "Positive", 1: "Negative"}) == ["positive", "negative"]
    assert map_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == [
        "negative",
        "neutral",
        "positive",
    ]
    assert map_labels({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}) == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]
    with pytest.raises(ConfigError, match="joy"):
        map_labels({0: "joy", 1: "anger"})
    with pytest.raises(ConfigError, match="negative and a positive"):
        map_labels({0: "neutral", 1: "positive"})


def test_a_directory_without_config_is_refused_before_anything_loads(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.json"):
        TransformerSentimentStep(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="FLOCON_TRANSFORMERS_MODEL"):
        Analyzer(profile="transformers")


def test_the_model_answers_like_the_model_itself_in_order_and_offline(
    sentiment_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch, transformers = _torch()

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the transformers profile tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    texts = POSITIVE + NEGATIVE + NEUTRAL
    analyzer = Analyzer(profile="transformers", transformers_model=sentiment_dir)
    results = analyzer.analyze(texts)
    assert [r.sentiment for r in results] == ["positive"] * 5 + ["negative"] * 5 + ["neutral"] * 5
    assert analyzer.model_name == "transformers:tiny-sentiment"
    # The same probabilities as the model run by hand, whatever the batch size.
    tokenizer = transformers.AutoTokenizer.from_pretrained(sentiment_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(sentiment_dir)
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    expected = torch.softmax(logits, dim=-1).numpy()
    step = TransformerSentimentStep(sentiment_dir, batch_size=4)
    _, probs = step.probabilities(texts)
    np.testing.assert_allclose(probs, expected, atol=1e-4)
    for r, p in zip(results, expected, strict=True):
        assert r.sentiment_score == pytest.approx(p[2] - p[0], abs=1e-4)
        assert r.sentiment_confidence == pytest.approx(p.max(), abs=1e-4)
    # Empty and very long texts do not break a batch.
    long = " ".join(["great"] * 2000)
    assert len(step.run(["", long, "bad phone"])) == 3


def test_star_ratings_are_summed_into_three_classes(tmp_path: Path) -> None:
    stars = {i: f"{i + 1} stars" for i in range(5)}
    directory = build_model(
        tmp_path / "stars",
        stars,
        [("awful", 0), ("bad", 1), ("okay", 2), ("good", 3), ("perfect", 4)],
    )
    step = TransformerSentimentStep(directory)
    classes, probs = step.probabilities(["awful", "bad", "okay", "good", "perfect"])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [classes[i] for i in probs.argmax(axis=1)] == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]


def test_cli_analyze_and_workspace_profile(
    sentiment_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    # Without a model directory, a clear refusal.
    monkeypatch.delenv("FLOCON_TRANSFORMERS_MODEL", raising=False)
    refused = runner.invoke(app, ["workspace", "set-profile", "default", "transformers"])
    assert refused.exit_code != 0 and "FLOCON_TRANSFORMERS_MODEL" in refused.output
    monkeypatch.setenv("FLOCON_TRANSFORMERS_MODEL", str(sentiment_dir))
    result = runner.invoke(
        app, ["analyze", "love it", "produit nul", "--profile", "transformers", "--json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["sentiment"] for o in lines] == ["positive", "negative"]
    assert (
        runner.invoke(app, ["workspace", "set-profile", "default", "transformers"]).exit_code == 0
    )
    result = runner.invoke(app, ["analyze", "hate it", "--json"])
    assert json.loads(result.stdout)["sentiment"] == "negative"
    # flocon trains only its own profiles.
    result = runner.invoke(app, ["train", "sentiment", "--data", "x", "--profile", "transformers"])
    assert result.exit_code == 2 and "runs a model you provide" in result.output
