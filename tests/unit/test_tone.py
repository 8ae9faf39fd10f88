"""Tone check of reply drafts (flocon.analysis.tone): labelled set with pinned floors, then rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from flocon.analysis.tone import (
    CODES,
    DESCRIPTIONS,
    LONG_DRAFT_CHARS,
    SEVERITY,
    ToneIssue,
    ToneReport,
    check_tone,
)

DRAFTS = Path(__file__).parents[1] / "fixtures" / "tone" / "drafts.jsonl"


def _drafts() -> list[dict[str, object]]:
    with DRAFTS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def codes(draft: str, *, lang: str | None = "en", complaint: bool = True) -> set[str]:
    return set(check_tone(draft, lang=lang, complaint=complaint).codes)


def evidence(draft: str, code: str, *, lang: str = "en") -> list[str | None]:
    return [i.evidence for i in check_tone(draft, lang=lang).issues if i.code == code]


# --------------------------------------------------------------------------- labelled set

# Per-code floors on tests/fixtures/tone/drafts.jsonl. Lowering one is a deliberate,
# explained change (docs/inbox-replies.md).
PRECISION_FLOOR = dict.fromkeys(CODES, 0.95)
RECALL_FLOOR = dict.fromkeys(CODES, 0.95)
MIN_POSITIVES = 1


def test_labelled_set_is_large_balanced_and_valid() -> None:
    rows = _drafts()
    assert len(rows) >= 60
    langs = Counter(row["lang"] for row in rows)
    assert langs["fr"] >= 30
    assert langs["en"] >= 30
    assert sum(1 for row in rows if not row["expected"]) >= 20  # good drafts too
    for row in rows:
        assert set(row) == {"text", "lang", "complaint", "expected"}
        assert set(row["expected"]) <= set(CODES), row  # type: ignore[arg-type]


def test_every_code_has_positives_in_the_labelled_set() -> None:
    seen = Counter(code for row in _drafts() for code in row["expected"])  # type: ignore[attr-defined]
    assert {code for code in CODES if seen[code] < MIN_POSITIVES} == set()


def test_precision_and_recall_per_code_meet_the_floors() -> None:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in _drafts():
        got = set(
            check_tone(
                str(row["text"]), lang=str(row["lang"]), complaint=bool(row["complaint"])
            ).codes
        )
        expected = set(row["expected"])  # type: ignore[call-overload]
        tp.update(got & expected)
        fp.update(got - expected)
        fn.update(expected - got)
    below = {}
    for code in CODES:
        precision = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else 1.0
        recall = tp[code] / (tp[code] + fn[code]) if tp[code] + fn[code] else 1.0
        if precision < PRECISION_FLOOR[code] or recall < RECALL_FLOOR[code]:
            below[code] = (round(precision, 2), round(recall, 2))
    assert below == {}


def test_language_is_detected_on_the_labelled_set() -> None:
    rows = [row for row in _drafts() if len(str(row["text"])) >= 40]
    wrong = [row["text"] for row in rows if check_tone(str(row["text"])).lang != row["lang"]]
    assert wrong == []


# --------------------------------------------------------------------------- report API


def test_report_ok_only_without_warnings() -> None:
    info = ToneIssue("overpromise", "info", 0, 3, "abc")
    warning = ToneIssue("defensive", "warning", 0, 3, "abc")
    assert ToneReport("en", (info,)).ok
    assert not ToneReport("en", (info, warning)).ok


def test_every_code_has_a_severity_and_a_description() -> None:
    assert set(SEVERITY) == set(DESCRIPTIONS) == set(CODES)
    assert set(SEVERITY.values()) == {"warning", "info"}


def test_good_reply_is_ok() -> None:
    report = check_tone("So sorry about this! Please DM us your order number.", lang="en")
    assert report.ok
    assert report.issues == ()


def test_span_points_at_the_words_in_the_original_draft() -> None:
    draft = "Bonjour. Comme indiqué dans nos CGV, c'est non."
    [issue] = [i for i in check_tone(draft, lang="fr").issues if i.code == "defensive"]
    assert issue.start is not None
    assert issue.end is not None
    assert draft[issue.start : issue.end] == issue.evidence == "Comme indiqué"


def test_span_survives_letters_that_fold_to_two() -> None:
    draft = "Œuvre d'art. Calm down."
    [issue] = [i for i in check_tone(draft, lang="en").issues if i.code == "dismissive"]
    assert issue.evidence == "Calm down"
    assert (issue.start, issue.end) == (13, 22)


def test_missing_elements_have_no_span() -> None:
    [issue] = [i for i in check_tone("Noted.", lang="en").issues if i.code == "no_apology"]
    assert (issue.start, issue.end, issue.evidence) == (None, None, None)


def test_issues_are_in_text_order() -> None:
    report = check_tone("Calm down. You should have read it. Per our policy, no.", lang="en")
    starts = [i.start for i in report.issues if i.start is not None]
    assert starts == sorted(starts)
    assert report.codes[:3] == ("dismissive", "blames_customer", "defensive")


# --------------------------------------------------------------------------- language


def test_regional_language_codes_are_accepted() -> None:
    assert check_tone("Désolé !", lang="fr-CA").lang == "fr"
    assert check_tone("Sorry!", lang="EN_gb").lang == "en"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="not 'de'"):
        check_tone("Entschuldigung", lang="de")


def test_short_draft_language_falls_back_on_function_words() -> None:
    assert check_tone("Merci !", complaint=False).lang == "fr"
    assert check_tone("Thanks!", complaint=False).lang == "en"


def test_both_lexicons_apply_whatever_the_language() -> None:
    assert "no_apology" not in codes("Sorry pour l'attente, je vous envoie un DM.", lang="fr")


def test_mixed_register_is_french_only() -> None:
    assert "mixed_register" in codes("Désolé, tu peux nous écrire à votre agence ?", lang="fr")
    assert "mixed_register" not in codes("Tu peux nous écrire ? Désolé.", lang="fr")


# --------------------------------------------------------------------------- folding


@pytest.mark.parametrize(
    "draft", ["DÉSOLÉE, je vous envoie un DM", "desolee, je vous envoie un DM"]
)
def test_accents_and_case_are_folded(draft: str) -> None:
    assert "no_apology" not in codes(draft, lang="fr")


def test_typographic_apostrophes_are_folded() -> None:
    assert "defensive" in codes("Ce n’est pas de notre faute.", lang="fr")


def test_elided_and_casual_negations() -> None:
    assert "defensive" in codes("Nous n'avons commis aucune erreur.", lang="fr")
    assert "defensive" in codes("C'est pas notre faute.", lang="fr")
    assert "dismissive" in codes("On peut rien y faire.", lang="fr")


def test_hyphen_or_space_both_match() -> None:
    assert "dismissive" in codes("Calmez-vous.", lang="fr")
    assert "dismissive" in codes("Calmez vous.", lang="fr")


# --------------------------------------------------------------------------- negation


def test_negated_blame_is_empathy() -> None:
    found = codes("Ce n'est absolument pas de votre faute. Je vous envoie un DM.", lang="fr")
    assert "blames_customer" not in found
    assert "no_apology" not in found


def test_blame_without_negation_is_flagged() -> None:
    assert evidence("C'est de votre faute.", "blames_customer", lang="fr") == ["de votre faute"]


def test_our_fault_is_an_apology_and_not_our_fault_is_defensive() -> None:
    assert codes("It's our fault, we'll refund you today.") == set()
    assert "defensive" in codes("It's not our fault, we'll refund you today.")


def test_not_our_problem_is_dismissive() -> None:
    assert "dismissive" in codes("Ce n'est pas notre problème.", lang="fr")
    assert "dismissive" not in codes("Our problem was the courier; sorry, we'll resend it.")


def test_negated_next_step_does_not_count() -> None:
    assert "no_next_step" in codes("Sorry, we will not refund you.")


def test_negated_apology_does_not_count() -> None:
    assert "no_apology" in codes("We're not sorry. Please DM us.")


def test_negation_stops_at_the_clause() -> None:
    assert "no_next_step" not in codes("Sorry, we can't refund that. But we'll send a voucher.")


@pytest.mark.parametrize(
    ("draft", "lang"),
    [
        ("Désolé ! N'hésitez pas à nous écrire en privé.", "fr"),
        ("Désolé, pas de souci on vous rappelle demain.", "fr"),
        ("Sorry! Don't hesitate to email us.", "en"),
        ("Sorry! No worries we'll fix it.", "en"),
    ],
)
def test_set_phrases_with_a_negation_do_not_negate(draft: str, lang: str) -> None:
    assert "no_next_step" not in codes(draft, lang=lang)


# --------------------------------------------------------------------------- next steps


@pytest.mark.parametrize(
    "contact",
    [
        "https://help.example.com/refund",
        "www.example.com/aide",
        "support@example.com",
        "01 23 45 67 89",
        "+44 20 7946 0958",
    ],
)
def test_urls_emails_and_phone_numbers_are_next_steps(contact: str) -> None:
    assert "no_next_step" not in codes(f"Sorry about this. {contact}")


def test_a_date_is_not_a_phone_number() -> None:
    assert "no_next_step" in codes("Sorry, the sale ended on 2026-03-01.")


def test_next_step_only_expected_for_complaints() -> None:
    assert codes("Thanks for the kind words!", complaint=False) == set()


# --------------------------------------------------------------------------- apologies


def test_non_apology_is_not_an_apology_and_not_a_missing_one() -> None:
    found = codes("We're sorry you feel that way. DM us.")
    assert "non_apology" in found
    assert "no_apology" not in found


def test_sorry_you_were_charged_is_a_real_apology() -> None:
    assert codes("Sorry you were charged twice, we've refunded you.") == set()


def test_no_apology_only_for_complaints() -> None:
    assert "no_apology" in codes("Please DM us.")
    assert "no_apology" not in codes("Please DM us.", complaint=False)


# --------------------------------------------------------------------------- dismissive


def test_eye_roll_emoji_is_dismissive() -> None:
    assert evidence("Sorry 🙄 DM us.", "dismissive") == ["🙄"]


def test_shrug_with_skin_tone_is_dismissive() -> None:
    assert "dismissive" in codes("Sorry 🤷🏽‍♀️ DM us.")


def test_friendly_emoji_do_not_break_phrases() -> None:
    assert codes("So sorry 😔🙏 please DM us 📩") == set()


def test_laughter_is_dismissive_only_in_a_complaint() -> None:
    assert "dismissive" in codes("lol sorry, DM us")
    assert "dismissive" not in codes("lol thanks!", complaint=False)


# --------------------------------------------------------------------------- form


def test_three_words_in_capitals_are_shouting() -> None:
    assert evidence("Sorry. PLEASE READ THE FAQ. DM us.", "shouting") == ["PLEASE READ THE FAQ"]


def test_acronyms_are_not_shouting() -> None:
    assert "shouting" not in codes("Désolé, voyez la FAQ ou écrivez au SAV.", lang="fr")


@pytest.mark.parametrize("gap", ["{author}", "{{ brand }}", "[Prénom]", "<name>", "XXX", "TODO"])
def test_unfilled_placeholders_are_flagged(gap: str) -> None:
    assert evidence(f"Hi {gap}, sorry! DM us.", "placeholder") == [gap]


def test_markdown_link_is_not_a_placeholder() -> None:
    assert "placeholder" not in codes("Sorry! Details [here](https://example.com).")


def test_long_draft_gets_an_info_hint() -> None:
    draft = "Sorry, DM us. " + "word " * (LONG_DRAFT_CHARS // 5)
    report = check_tone(draft, lang="en")
    assert report.codes == ("too_long",)
    assert report.ok


def test_overpromise_is_only_a_hint() -> None:
    report = check_tone("Sorry! This will never happen again. DM us.", lang="en")
    assert report.codes == ("overpromise",)
    assert report.ok


def test_url_ending_in_digits_is_a_next_step() -> None:
    assert "no_next_step" not in codes("Sorry! https://example.com/case/12")


def test_french_imperative_opening_a_clause_is_a_next_step() -> None:
    assert "no_next_step" not in codes("Désolé ! Imprimez l'étiquette retour.", lang="fr")
    assert "no_next_step" not in codes("Désolé, connectez-vous à votre espace.", lang="fr")


def test_imperatives_asking_for_patience_are_not_next_steps() -> None:
    assert "no_next_step" in codes("Excusez-nous. Patientez encore un peu.", lang="fr")
    assert "no_next_step" in codes("Désolé. Voyez avec votre banque.", lang="fr")
