"""Language identification (flocon.analysis.language)."""

from __future__ import annotations

import pytest

from flocon.analysis.language import UNDETERMINED, LanguageDetector, letters


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Le service client ne répond jamais, c'est vraiment décevant", "fr"),
        ("The customer service never answers, really disappointing", "en"),
        ("El servicio al cliente nunca responde, muy decepcionante", "es"),
        ("Der Kundendienst antwortet nie, wirklich enttäuschend", "de"),
        ("Il servizio clienti non risponde mai, davvero deludente", "it"),
        ("O atendimento ao cliente nunca responde, muito decepcionante", "pt"),
        ("De klantenservice antwoordt nooit, echt teleurstellend", "nl"),
    ],
)
def test_detects_common_languages(detector: LanguageDetector, text: str, code: str) -> None:
    assert detector.detect(text)[0] == code


def test_too_short_is_undetermined(detector: LanguageDetector) -> None:
    assert detector.detect("ok 👍")[0] == UNDETERMINED
    assert detector.detect("@user @other #tag http://t.co/x")[0] == UNDETERMINED


def test_handles_links_and_hashtags_do_not_count_as_letters() -> None:
    assert letters("@someone #hashtag https://example.org/abc") == 0
    assert letters("bonjour à tous") == 12


def test_unknown_language_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="xx"):
        LanguageDetector(("fr", "xx")).detect("bonjour tout le monde, comment allez-vous")


def test_restricting_languages_restricts_the_answers() -> None:
    only = LanguageDetector(("fr", "en"))
    assert only.detect("El servicio al cliente nunca responde, muy decepcionante")[0] in {
        "fr",
        "en",
        UNDETERMINED,
    }
