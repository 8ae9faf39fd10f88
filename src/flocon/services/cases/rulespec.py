"""What an inbox rule is and what it decides for one mention: the spec (conditions and
actions, checked strictly), and :func:`evaluate` / :func:`decide`, pure functions of plain
values. The use cases that store and simulate rules are in :mod:`flocon.services.cases.rules`.

A rule has **conditions** on a new mention, all of which must hold (a list condition holds
when the mention has one of its values), and **actions**:

- conditions: ``watch`` (a watch name), ``query`` (the boolean query language),
  ``sentiment`` [positive, neutral, negative], ``lang`` [fr, en...; "fr" takes "fr-CA"],
  ``min_influence`` (the author's network score, 0-100) and/or ``min_followers``,
  ``source_kind`` [mastodon, reddit...], ``needs_answer`` (true or false);
- actions: ``tag`` [tags put on the mention, and on the case the rule opens], ``create_case``,
  ``priority`` and ``assign`` (a member's e-mail, agent or above) of the mention's case,
  ``mute`` ("author" or "site"), ``notify`` [alert rule names whose channels get a message].

Every matching rule applies, top to bottom (``position``); when several give the case a
priority the highest wins, when several name an assignee the first wins. A case opened by
suggestion (the needs-answer signal) takes them too. See docs/inbox.md, "Rules".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flocon.domain.models import MatchInput
from flocon.domain.query import Query, parse, prepare
from flocon.errors import ConfigError
from flocon.services.cases.common import PRIORITIES
from flocon.services.tags import normalise_tag
from flocon.storage.queries.inbox_rules import RuleMention

__all__ = [
    "ACTION_KEYS",
    "CONDITION_KEYS",
    "MISSING_WATCH",
    "MUTE_KINDS",
    "SENTIMENTS",
    "Actions",
    "CompiledRule",
    "Conditions",
    "Decision",
    "MentionRecord",
    "RuleSpec",
    "check_name",
    "compile_rule",
    "decide",
    "evaluate",
    "parse_actions",
    "parse_conditions",
    "parse_spec",
]

SENTIMENTS: Final = ("positive", "neutral", "negative")
MUTE_KINDS: Final = ("author", "site")
NAME_MAX_CHARS: Final = 200
QUERY_MAX_CHARS: Final = 2000
#: The most values a list condition or action may hold.
LIST_MAX: Final = 20
#: A watch named by a rule that no longer exists: the rule matches nothing.
MISSING_WATCH: Final = -1

_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")
_KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
_RANK: Final = {p: i for i, p in enumerate(PRIORITIES)}

#: The stored form of mentions the rules read (see flocon.storage.queries.inbox_rules).
MentionRecord = RuleMention


# -- the spec ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conditions:
    """What a mention must be for a rule to act on it (empty: not a condition)."""

    watch: str | None = None
    query: str | None = None
    sentiment: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()
    min_influence: float | None = None
    min_followers: int | None = None
    source_kind: tuple[str, ...] = ()
    needs_answer: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form: only the conditions that are set."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is None or value == ():
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule does to a mention it matches (empty: not an action)."""

    tag: tuple[str, ...] = ()
    create_case: bool = False
    priority: str | None = None
    assign: str | None = None
    mute: str | None = None
    notify: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is None or value == () or value is False:
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as a person writes it: a name, its conditions and its actions."""

    name: str
    conditions: Conditions
    actions: Actions


def _where(part: str, key: str) -> str:
    return f"{part}.{key}"


def _no_control(value: str) -> bool:
    return not any(unicodedata.category(c).startswith("C") for c in value)


def _text(value: Any, where: str, *, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty text")
    text = value.strip()
    if len(text) > max_chars or not _no_control(text):
        raise ConfigError(f"{where}: at most {max_chars} characters, no control characters")
    return text


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of texts")
    if not value:
        raise ConfigError(f"{where} must not be empty (leave it out instead)")
    if len(value) > LIST_MAX:
        raise ConfigError(f"{where} holds at most {LIST_MAX} values")
    return [v.strip() for v in value]


def _choices(value: Any, where: str, allowed: Sequence[str]) -> tuple[str, ...]:
    items = [v.lower() for v in _texts(value, where)]
    wrong = [v for v in items if v not in allowed]
    if wrong:
        raise ConfigError(f"{where} must be among {', '.join(allowed)} (got {', '.join(wrong)})")
    return tuple(dict.fromkeys(items))


def _matching(value: Any, where: str, pattern: re.Pattern[str], example: str) -> tuple[str, ...]:
    items = [v.lower() for v in _texts(value, where)]
    wrong = [v for v in items if not pattern.match(v)]
    if wrong:
        raise ConfigError(f"{where}: {', '.join(map(repr, wrong))} is not valid ({example})")
    return tuple(dict.fromkeys(items))


def _number(value: Any, where: str, *, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number")
    if value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{where} must be {bounds} (got {value})")
    return float(value)


def _unknown(data: Mapping[str, Any], allowed: Sequence[str], part: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        raise ConfigError(f"unknown {part}: {', '.join(extra)} (allowed: {', '.join(allowed)})")


CONDITION_KEYS: Final = Conditions.__slots__
ACTION_KEYS: Final = Actions.__slots__


def parse_conditions(data: Mapping[str, Any]) -> Conditions:
    """Check conditions as stored or sent (``ConfigError`` names the bad one; an invalid query
    raises ``QuerySyntaxError`` with its position). At least one condition is required."""
    if not isinstance(data, Mapping):
        raise ConfigError("conditions must be an object")
    _unknown(data, CONDITION_KEYS, "condition")
    values: dict[str, Any] = {}
    w = "conditions"
    if data.get("watch") is not None:
        values["watch"] = _text(data["watch"], _where(w, "watch"), max_chars=NAME_MAX_CHARS)
    if data.get("query") is not None:
        text = _text(data["query"], _where(w, "query"), max_chars=QUERY_MAX_CHARS)
        parse(text)
        values["query"] = text
    if data.get("sentiment") is not None:
        values["sentiment"] = _choices(data["sentiment"], _where(w, "sentiment"), SENTIMENTS)
    if data.get("lang") is not None:
        values["lang"] = _matching(data["lang"], _where(w, "lang"), _LANG, "e.g. fr, en, pt-br")
    if data.get("min_influence") is not None:
        values["min_influence"] = _number(
            data["min_influence"], _where(w, "min_influence"), low=0, high=100
        )
    if data.get("min_followers") is not None:
        followers = data["min_followers"]
        if isinstance(followers, bool) or not isinstance(followers, int):
            raise ConfigError("conditions.min_followers must be a whole number")
        values["min_followers"] = int(
            _number(followers, _where(w, "min_followers"), low=0, high=None)
        )
    if data.get("source_kind") is not None:
        values["source_kind"] = _matching(
            data["source_kind"], _where(w, "source_kind"), _KIND, "e.g. mastodon, reddit, rss"
        )
    if data.get("needs_answer") is not None:
        if not isinstance(data["needs_answer"], bool):
            raise ConfigError("conditions.needs_answer must be true or false")
        values["needs_answer"] = data["needs_answer"]
    if not values:
        raise ConfigError(
            "a rule needs at least one condition (watch, query, sentiment, lang, "
            "min_influence, min_followers, source_kind or needs_answer)"
        )
    return Conditions(**values)


def parse_actions(data: Mapping[str, Any]) -> Actions:
    """Check actions as stored or sent (``ConfigError`` names the bad one). At least one
    action is required."""
    if not isinstance(data, Mapping):
        raise ConfigError("actions must be an object")
    _unknown(data, ACTION_KEYS, "action")
    values: dict[str, Any] = {}
    if data.get("tag") is not None:
        try:
            tags = [normalise_tag(t) for t in _texts(data["tag"], "actions.tag")]
        except ConfigError as exc:
            raise ConfigError(f"actions.tag: {exc}") from exc
        values["tag"] = tuple(dict.fromkeys(tags))
    if data.get("create_case") is not None:
        if not isinstance(data["create_case"], bool):
            raise ConfigError("actions.create_case must be true or false")
        values["create_case"] = data["create_case"]
    if data.get("priority") is not None:
        value = data["priority"]
        if value not in PRIORITIES:
            raise ConfigError(f"actions.priority must be one of {', '.join(PRIORITIES)}")
        values["priority"] = value
    if data.get("assign") is not None:
        email = _text(data["assign"], "actions.assign", max_chars=320).lower()
        if "@" not in email:
            raise ConfigError("actions.assign must be a member's e-mail address")
        values["assign"] = email
    if data.get("mute") is not None:
        if data["mute"] not in MUTE_KINDS:
            raise ConfigError("actions.mute must be 'author' or 'site'")
        values["mute"] = data["mute"]
    if data.get("notify") is not None:
        names = [
            _text(n, "actions.notify", max_chars=NAME_MAX_CHARS)
            for n in _texts(data["notify"], "actions.notify")
        ]
        values["notify"] = tuple(dict.fromkeys(names))
    if not any(v for v in values.values()):
        raise ConfigError(
            "a rule needs at least one action (tag, create_case, priority, assign, mute or notify)"
        )
    return Actions(**values)


def check_name(name: str) -> str:
    """A rule's name, stripped (1 to 200 characters, no control characters)."""
    return _text(name, "name", max_chars=NAME_MAX_CHARS)


def parse_spec(name: str, conditions: Mapping[str, Any], actions: Mapping[str, Any]) -> RuleSpec:
    """A whole rule from its parts (as stored, or as sent by a form, the API or the CLI)."""
    return RuleSpec(
        name=check_name(name),
        conditions=parse_conditions(conditions),
        actions=parse_actions(actions),
    )


# -- deciding for one mention (pure) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to test mentions: its watch resolved to an id (``MISSING_WATCH`` when the
    watch is gone: the rule then matches nothing), its query parsed."""

    name: str
    spec: RuleSpec
    watch_id: int | None
    query: Query | None
    id: int | None = None


def compile_rule(
    spec: RuleSpec, *, watch_ids: Mapping[str, int], rule_id: int | None = None
) -> CompiledRule:
    """``watch_ids``: the workspace's watches by name."""
    watch = spec.conditions.watch
    return CompiledRule(
        name=spec.name,
        spec=spec,
        watch_id=None if watch is None else watch_ids.get(watch, MISSING_WATCH),
        query=None if spec.conditions.query is None else parse(spec.conditions.query),
        id=rule_id,
    )


def _lang_ok(wanted: Sequence[str], lang: str) -> bool:
    value = lang.lower()
    return bool(value) and any(value == w or value.split("-")[0] == w for w in wanted)


def evaluate(rule: CompiledRule, mention: MentionRecord) -> bool:
    """Whether every condition of ``rule`` holds for ``mention`` (an unknown value, such as a
    sentiment not analysed yet or an influence never computed, fails its condition)."""
    c = rule.spec.conditions
    if rule.watch_id is not None and rule.watch_id not in mention.watch_ids:
        return False
    if c.sentiment and mention.sentiment not in c.sentiment:
        return False
    if c.lang and not _lang_ok(c.lang, mention.lang):
        return False
    if c.source_kind and mention.source_kind.lower() not in c.source_kind:
        return False
    if c.needs_answer is not None and mention.needs_answer is not c.needs_answer:
        return False
    if c.min_influence is not None and (
        mention.influence is None or mention.influence < c.min_influence
    ):
        return False
    if c.min_followers is not None and (
        mention.followers is None or mention.followers < c.min_followers
    ):
        return False
    if rule.query is not None:
        item = MatchInput(
            text=mention.text,
            title=mention.title,
            url=mention.url,
            site=mention.site,
            author_handle=mention.author_handle,
            author_name=mention.author_name,
            lang=mention.lang,
            source=mention.source_kind,
            country=mention.country,
        )
        if not rule.query.matches(prepare(item)):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Decision:
    """What the matching rules ask for one mention, merged.

    ``rules``: the names of the rules that matched, in order; ``tags``: (tag, rule name) for
    the first rule that asked for each tag; ``case_rule``: the first rule that opens a case
    (None: none does); ``priority``: the highest asked; ``assign``: the first asked;
    ``mute``: (kind, rule name); ``notify``: (alert rule name, inbox rule name).
    """

    rules: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    case_rule: str | None = None
    priority: str | None = None
    assign: str | None = None
    mute: tuple[tuple[str, str], ...] = ()
    notify: tuple[tuple[str, str], ...] = ()

    @property
    def create_case(self) -> bool:
        return self.case_rule is not None


def decide(rules: Sequence[CompiledRule], mention: MentionRecord) -> Decision:
    """Apply ``rules`` (in order) to one mention and merge what the matching ones ask."""
    names: list[str] = []
    tags: dict[str, str] = {}
    mutes: dict[str, str] = {}
    notify: dict[tuple[str, str], None] = {}
    case_rule: str | None = None
    priority: str | None = None
    assign: str | None = None
    for rule in rules:
        if not evaluate(rule, mention):
            continue
        names.append(rule.name)
        a = rule.spec.actions
        for tag in a.tag:
            tags.setdefault(tag, rule.name)
        if a.create_case and case_rule is None:
            case_rule = rule.name
        if a.priority is not None and (priority is None or _RANK[a.priority] > _RANK[priority]):
            priority = a.priority
        if a.assign is not None and assign is None:
            assign = a.assign
        if a.mute is not None:
            mutes.setdefault(a.mute, rule.name)
        for alert_rule in a.notify:
            notify[(alert_rule, rule.name)] = None
    return Decision(
        rules=tuple(names),
        tags=tuple(tags.items()),
        case_rule=case_rule,
        priority=priority,
        assign=assign,
        mute=tuple(mutes.items()),
        notify=tuple(notify),
    )
