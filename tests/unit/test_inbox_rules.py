"""Inbox rules as plain values: the spec refuses what it does not understand with a message that
names the bad part (a bad query with its position), round-trips through its stored form, and
one mention is judged by every condition, with the merged decision of several rules."""

from __future__ import annotations

from typing import Any

import pytest

from flocon.errors import ConfigError, QuerySyntaxError
from flocon.services.cases.rulespec import (
    MISSING_WATCH,
    MentionRecord,
    compile_rule,
    decide,
    evaluate,
    parse_actions,
    parse_conditions,
    parse_spec,
)

WATCHES = {"Acme": 1, "Rival": 2}


def rule(conditions: dict[str, Any], actions: dict[str, Any] | None = None, name: str = "r") -> Any:
    return compile_rule(
        parse_spec(name, conditions, actions or {"tag": ["t"]}), watch_ids=WATCHES, rule_id=7
    )


def mention(**values: Any) -> MentionRecord:
    base: dict[str, Any] = {
        "id": 1,
        "text": "Acme never refunded me",
        "author_handle": "bigvoice",
        "author_key": "bigvoice",
        "site": "social.example",
        "lang": "fr-CA",
        "source_kind": "mastodon",
        "sentiment": "negative",
        "needs_answer": True,
        "followers": 5000,
        "influence": 72.0,
        "watch_ids": frozenset({1}),
    }
    return MentionRecord(**(base | values))


# -- the spec ----------------------------------------------------------------------------------


def test_a_full_spec_round_trips_through_its_stored_form() -> None:
    conditions = {
        "watch": "Acme",
        "query": "refund OR remboursement",
        "sentiment": ["negative", "neutral"],
        "lang": ["FR", "en"],
        "min_influence": 60,
        "min_followers": 1000,
        "source_kind": ["mastodon"],
        "needs_answer": True,
    }
    actions = {
        "tag": [" VIP  Customer "],
        "create_case": True,
        "priority": "high",
        "assign": "Ana@Example.com",
        "mute": "site",
        "notify": ["Team"],
    }
    spec = parse_spec(" Angry VIPs ", conditions, actions)
    assert spec.name == "Angry VIPs"
    assert spec.conditions.lang == ("fr", "en")
    assert spec.actions.tag == ("vip customer",)
    assert spec.actions.assign == "ana@example.com"
    again = parse_spec(spec.name, spec.conditions.to_json(), spec.actions.to_json())
    assert again == spec


def test_empty_parts_are_left_out_of_the_stored_form() -> None:
    spec = parse_spec("r", {"needs_answer": False}, {"create_case": True})
    assert spec.conditions.to_json() == {"needs_answer": False}
    assert spec.actions.to_json() == {"create_case": True}


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({}, "at least one condition"),
        ({"colour": "red"}, "unknown condition: colour"),
        (
            {"sentiment": ["angry"]},
            "conditions.sentiment must be among positive, neutral, negative",
        ),
        ({"sentiment": "negative"}, "conditions.sentiment must be a list"),
        ({"sentiment": []}, "must not be empty"),
        ({"lang": ["french!"]}, "conditions.lang"),
        ({"min_influence": 150}, "conditions.min_influence must be between 0 and 100"),
        ({"min_influence": True}, "conditions.min_influence must be a number"),
        ({"min_followers": -1}, "conditions.min_followers must be at least 0"),
        ({"min_followers": 1.5}, "conditions.min_followers must be a whole number"),
        ({"needs_answer": "yes"}, "conditions.needs_answer must be true or false"),
        ({"watch": "  "}, "conditions.watch must be a non-empty text"),
        ({"source_kind": ["Mast odon"]}, "conditions.source_kind"),
    ],
)
def test_bad_conditions_are_refused_by_name(conditions: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_conditions(conditions)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({}, "at least one action"),
        ({"create_case": False}, "at least one action"),
        ({"delete": True}, "unknown action: delete"),
        ({"priority": "asap"}, "actions.priority must be one of low, normal, high, urgent"),
        ({"mute": "everyone"}, "actions.mute must be 'author' or 'site'"),
        ({"assign": "ana"}, "actions.assign must be a member's e-mail address"),
        ({"tag": ["x" * 80]}, "actions.tag"),
        ({"notify": "Team"}, "actions.notify must be a list"),
        ({"create_case": "yes"}, "actions.create_case must be true or false"),
    ],
)
def test_bad_actions_are_refused_by_name(actions: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_actions(actions)


def test_a_bad_query_is_refused_with_its_position() -> None:
    with pytest.raises(QuerySyntaxError) as bad:
        parse_conditions({"query": "acme AND (refund"})
    assert (bad.value.position, bad.value.reason) == (9, "unbalanced parenthesis")


def test_a_rule_needs_a_name() -> None:
    with pytest.raises(ConfigError, match="name must be a non-empty text"):
        parse_spec("", {"needs_answer": True}, {"create_case": True})


# -- one mention -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"watch": "Acme"}, True),
        ({"watch": "Rival"}, False),
        ({"watch": "Gone"}, False),
        ({"query": "refund*"}, True),
        ({"query": "refund* -never"}, False),
        ({"sentiment": ["negative", "neutral"]}, True),
        ({"sentiment": ["positive"]}, False),
        ({"lang": ["fr"]}, True),
        ({"lang": ["fr-ca"]}, True),
        ({"lang": ["en"]}, False),
        ({"min_influence": 72}, True),
        ({"min_influence": 80}, False),
        ({"min_followers": 5000}, True),
        ({"min_followers": 5001}, False),
        ({"source_kind": ["reddit", "mastodon"]}, True),
        ({"source_kind": ["reddit"]}, False),
        ({"needs_answer": True}, True),
        ({"needs_answer": False}, False),
        ({"watch": "Acme", "sentiment": ["negative"], "min_influence": 50}, True),
        ({"watch": "Acme", "sentiment": ["negative"], "min_influence": 90}, False),
    ],
)
def test_each_condition_judges_one_mention(conditions: dict[str, Any], expected: bool) -> None:
    assert evaluate(rule(conditions), mention()) is expected


def test_a_removed_watch_matches_nothing() -> None:
    assert rule({"watch": "Gone"}).watch_id == MISSING_WATCH


@pytest.mark.parametrize(
    ("conditions", "known", "unknown"),
    [
        ({"sentiment": ["negative"]}, {}, {"sentiment": None}),
        ({"needs_answer": True}, {}, {"needs_answer": None}),
        ({"needs_answer": False}, {"needs_answer": False}, {"needs_answer": None}),
        ({"min_influence": 0}, {}, {"influence": None}),
        ({"min_followers": 0}, {}, {"followers": None}),
        ({"lang": ["fr"]}, {}, {"lang": ""}),
    ],
)
def test_an_unknown_value_fails_its_condition(
    conditions: dict[str, Any], known: dict[str, Any], unknown: dict[str, Any]
) -> None:
    assert evaluate(rule(conditions), mention(**known)) is True
    assert evaluate(rule(conditions), mention(**unknown)) is False


def test_the_query_sees_the_author_and_the_source() -> None:
    assert evaluate(rule({"query": "author:bigvoice"}), mention()) is True
    assert evaluate(rule({"query": "source:reddit"}), mention()) is False


# -- several rules -----------------------------------------------------------------------------


def test_matching_rules_merge_in_order() -> None:
    rules = [
        rule({"sentiment": ["negative"]}, {"tag": ["angry"], "priority": "high"}, "first"),
        rule({"lang": ["en"]}, {"tag": ["english"], "create_case": True}, "never"),
        rule(
            {"needs_answer": True},
            {"tag": ["angry", "todo"], "create_case": True, "assign": "ana@example.com"},
            "second",
        ),
        rule({"watch": "Acme"}, {"priority": "normal", "assign": "bob@example.com"}, "third"),
        rule(
            {"min_followers": 10},
            {"priority": "urgent", "notify": ["Team"], "mute": "author"},
            "fourth",
        ),
    ]
    d = decide(rules, mention())
    assert d.rules == ("first", "second", "third", "fourth")
    assert d.tags == (("angry", "first"), ("todo", "second"))
    assert (d.case_rule, d.create_case) == ("second", True)
    assert d.priority == "urgent"
    assert d.assign == "ana@example.com"
    assert d.mute == (("author", "fourth"),)
    assert d.notify == (("Team", "fourth"),)


def test_no_matching_rule_decides_nothing() -> None:
    d = decide([rule({"sentiment": ["positive"]})], mention())
    assert (d.rules, d.tags, d.create_case, d.priority, d.assign) == ((), (), False, None, None)
