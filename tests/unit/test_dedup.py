"""Duplicate detection: content ids, MinHash signatures, LSH band keys."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flocon.domain.dedup import (
    BANDS,
    MIN_WORDS,
    NEAR_DUPLICATE_THRESHOLD,
    NUM_PERM,
    ROWS,
    Signature,
    band_keys,
    content_id,
    fold_words,
    is_near_duplicate,
    signature,
    similarity,
)

ORIGINAL = (
    "Hurricane Sandy: how you can help the victims of the storm tonight, "
    "donate to the Red Cross http://t.co/abc #Sandy"
)
RETWEET = (
    "RT @redcross: Hurricane Sandy: how you can help the victims of the storm tonight, "
    "donate to the Red Cross http://t.co/xyz #Sandy"
)
UNRELATED = (
    "Le service client de la SNCF ne répond plus depuis deux heures, "
    "aucune information sur le retard du train"
)


def _sig(text: str) -> Signature:
    sig = signature(text)
    assert sig is not None
    return sig


_NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _content_id(
    *,
    text: str = "Bonjour le monde",
    url: str | None = "https://exemple.fr/a",
    author: str | None = "marie",
    published_at: datetime | None = _NOON,
    title: str | None = None,
) -> str:
    return content_id(text=text, url=url, author=author, published_at=published_at, title=title)


# --------------------------------------------------------------------------- content_id


def test_content_id_is_prefixed_sha1() -> None:
    value = _content_id()
    assert value.startswith("sha1:")
    assert len(value) == len("sha1:") + 40


def test_content_id_is_pinned() -> None:
    # Ids are stored: changing the rule must be deliberate (it re-imports everything).
    assert _content_id() == "sha1:694dbc22ee5b55d521173b9c461ad8d341d5e15c"


def test_content_id_ignores_whitespace_differences() -> None:
    assert _content_id(text="  Bonjour \t le   monde \n") == _content_id()


def test_content_id_ignores_html_markup() -> None:
    assert _content_id(text="<p>Bonjour <b>le</b> monde</p>") == _content_id()


def test_content_id_ignores_tracking_parameters() -> None:
    assert _content_id(url="https://exemple.fr/a?utm_source=tw") == _content_id()


def test_content_id_ignores_author_case_and_at_sign() -> None:
    assert _content_id(author="@Marie") == _content_id()


def test_content_id_compares_dates_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    assert _content_id(published_at=datetime(2024, 5, 1, 14, 0, tzinfo=paris)) == _content_id()


def test_content_id_changes_with_the_text() -> None:
    assert _content_id(text="Bonsoir le monde") != _content_id()


def test_content_id_changes_with_the_date() -> None:
    assert _content_id(published_at=datetime(2024, 5, 2, 12, 0, tzinfo=UTC)) != _content_id()


def test_content_id_keeps_missing_and_empty_fields_apart_from_other_fields() -> None:
    # The text "a" with no title must differ from the title "a" with an empty text.
    assert _content_id(text="a", title=None) != _content_id(text="", title="a")


# --------------------------------------------------------------------------- folding


def test_fold_drops_rt_handles_urls_and_punctuation() -> None:
    assert fold_words("RT @a: RT @b: Voilà http://t.co/x #Crise, www.x.fr ok!") == [
        "voila",
        "crise",
        "ok",
    ]


def test_fold_strips_accents_and_case() -> None:
    assert fold_words("ÉTÉ Déçu") == ["ete", "decu"]


def test_fold_decodes_entities() -> None:
    assert fold_words("AT&amp;T") == ["at", "t"]


# --------------------------------------------------------------------------- signature


def test_short_text_has_no_signature() -> None:
    assert signature("RT @x: merci beaucoup pour tout http://t.co/x") is None


def test_text_of_min_words_has_a_signature() -> None:
    assert signature(" ".join(f"mot{i}" for i in range(MIN_WORDS))) is not None


def test_one_word_less_than_min_words_has_no_signature() -> None:
    assert signature(" ".join(f"mot{i}" for i in range(MIN_WORDS - 1))) is None


def test_signature_is_deterministic_within_a_process() -> None:
    assert _sig(ORIGINAL) == _sig(ORIGINAL)


def test_signature_is_identical_in_another_process() -> None:
    code = (
        "import sys; from flocon.domain.dedup import signature; "
        f"sys.stdout.write(signature({ORIGINAL!r}).to_bytes().hex())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": ":".join(sys.path)},
    )
    assert result.stdout == _sig(ORIGINAL).to_bytes().hex()


def test_signature_is_pinned() -> None:
    # Signatures are stored: a change of hashing must be deliberate (bump the version).
    assert _sig(ORIGINAL).to_bytes()[:9].hex() == "0151a29312f9664300"


def test_signature_has_num_perm_values() -> None:
    assert len(_sig(ORIGINAL).values) == NUM_PERM


def test_signature_round_trips_through_bytes() -> None:
    sig = _sig(ORIGINAL)
    assert Signature.from_bytes(sig.to_bytes()) == sig


def test_signature_bytes_have_a_version_byte() -> None:
    assert len(_sig(ORIGINAL).to_bytes()) == 1 + 4 * NUM_PERM


def test_from_bytes_refuses_a_wrong_length() -> None:
    with pytest.raises(ValueError, match="bytes"):
        Signature.from_bytes(b"\x01" + b"\x00" * 10)


def test_from_bytes_refuses_an_unknown_version() -> None:
    with pytest.raises(ValueError, match="version"):
        Signature.from_bytes(b"\x09" + b"\x00" * (4 * NUM_PERM))


def test_long_text_signature_uses_bounded_chunks() -> None:
    text = " ".join(f"w{i}" for i in range(20_000))
    assert len(_sig(text).values) == NUM_PERM


# --------------------------------------------------------------------------- similarity


def test_identical_texts_have_similarity_one() -> None:
    assert similarity(_sig(ORIGINAL), _sig(ORIGINAL)) == 1.0


def test_retweet_is_a_near_duplicate_of_the_original() -> None:
    assert is_near_duplicate(_sig(RETWEET), _sig(ORIGINAL))


def test_case_and_accents_do_not_matter() -> None:
    assert similarity(_sig(UNRELATED.upper()), _sig(UNRELATED)) == 1.0


def test_unrelated_texts_are_not_near_duplicates() -> None:
    assert similarity(_sig(ORIGINAL), _sig(UNRELATED)) < 0.2


def test_retweet_cut_at_the_end_is_still_a_near_duplicate() -> None:
    text = (
        "Les inondations dans le sud de la France ont coupé la route nationale, "
        "les secours demandent aux habitants de rester chez eux ce soir"
    )
    cut = "RT @prefet: " + text[:110] + "..."
    assert is_near_duplicate(_sig(cut), _sig(text))


def test_reworded_text_is_not_a_near_duplicate() -> None:
    a = "Queensland counts flood cost as New South Wales braces for river peaks tonight"
    b = "New South Wales braces for river peaks while Queensland counts the cost of floods"
    assert not is_near_duplicate(_sig(a), _sig(b))


def test_threshold_is_between_half_and_one() -> None:
    assert 0.5 < NEAR_DUPLICATE_THRESHOLD < 1.0


# --------------------------------------------------------------------------- band keys


def test_there_is_one_band_key_per_band() -> None:
    assert len(band_keys(_sig(ORIGINAL))) == BANDS == NUM_PERM // ROWS


def test_band_keys_fit_a_signed_bigint() -> None:
    assert all(-(2**63) <= key < 2**63 for key in band_keys(_sig(ORIGINAL)))


def test_band_keys_are_python_ints() -> None:
    assert all(type(key) is int for key in band_keys(_sig(ORIGINAL)))


def test_band_keys_encode_the_band_index() -> None:
    keys = band_keys(_sig(ORIGINAL))
    assert [(key % 2**64) >> 60 for key in keys] == list(range(BANDS))


def test_band_keys_are_pinned() -> None:
    assert band_keys(_sig(ORIGINAL))[:2] == [891687242228629857, 1913404954600722164]


def test_identical_texts_share_all_band_keys() -> None:
    assert band_keys(_sig(ORIGINAL)) == band_keys(_sig(ORIGINAL.upper()))


def test_near_duplicates_share_a_band_key() -> None:
    assert set(band_keys(_sig(RETWEET))) & set(band_keys(_sig(ORIGINAL)))


def test_unrelated_texts_share_no_band_key() -> None:
    assert not set(band_keys(_sig(UNRELATED))) & set(band_keys(_sig(ORIGINAL)))


def test_same_values_in_different_bands_give_different_keys() -> None:
    sig = Signature(bytes(4 * NUM_PERM))  # every value 0: all bands hold the same rows
    assert len(set(band_keys(sig))) == BANDS
