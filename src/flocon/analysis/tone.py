"""Tone check of a reply draft before an agent sends it: codes, reasons and where.

The shared inbox asks agents to answer with transparency, empathy and diplomacy.
:func:`check_tone` reads a draft in French or English and returns a
:class:`ToneReport`: one :class:`ToneIssue` per problem, with its code, its
severity and, when the problem is a phrase, the character span of that phrase in
the draft (for highlighting). Codes are stable identifiers; the web layer
translates them, :data:`DESCRIPTIONS` gives English sentences for the CLI and API.

Codes (:data:`SEVERITY` gives each one's severity):

========================  =======  ==================================================
``defensive``             warning  justifying or shifting responsibility: « ce n'est
                                   pas de notre faute », "per our policy", « comme
                                   indiqué dans nos CGV », "as we already said"
``blames_customer``       warning  « vous auriez dû », "you should have", "user error"
``dismissive``            warning  "calm down", « on n'y peut rien », "not our
                                   problem", 🙄, 🤷; laughter (lol, mdr) and « ce
                                   n'est pas grave » only when answering a complaint
``non_apology``           warning  an apology for the customer's feelings rather than
                                   for what happened: "sorry you feel that way",
                                   « désolé si vous avez eu l'impression »
``no_apology``            warning  answering a complaint without an apology or a word
                                   of empathy (only with ``complaint=True``; a
                                   non-apology is reported as ``non_apology`` instead)
``no_next_step``          warning  answering a complaint without a concrete action or
                                   contact: a DM, an address, a link, a promise to
                                   come back, an escalation (only with ``complaint=True``)
``shouting``              warning  three or more words in capitals in a row
``placeholder``           warning  a template variable or a gap left unfilled:
                                   ``{author}``, ``[Prénom]``, ``XXX``, ``TODO``
``mixed_register``        warning  French only: the draft says both *tu* and *vous*
``overpromise``           info     "this will never happen again", « je vous garantis »
``too_long``              info     more than :data:`LONG_DRAFT_CHARS` characters
========================  =======  ==================================================

How a draft is read:

* both lexicons (French and English) are always applied: agents mix languages
  (« sorry pour l'attente »), and a misdetected language must not hide a problem.
  The language only decides the French-only ``mixed_register`` check and is
  reported for the caller;
* the text is folded like queries are (:func:`flocon.domain.text.fold`: case,
  accents, typographic apostrophes), so « Désolée », « DESOLEE » and « désolée »
  read the same; spans are mapped back to the original draft;
* a phrase preceded, in the same clause and within five words, by a negation
  (``not``, ``n't``, ``never``, ``no``, « ne », « n' », « pas », « jamais »,
  « aucun », « rien », « sans »...) is read as negated: "not your fault" is
  empathy, not blame; "not our fault" is defensive, while "our fault" is an
  apology; "we will not refund" is no next step. Set phrases whose negation means
  nothing (« n'hésitez pas à », "don't hesitate to", « pas de souci », "no
  worries", « ne manquerons pas de ») are ignored when looking for negations;
* a web address, an e-mail address or a phone number counts as a next step.

Everything here is pure; the language identifier is loaded lazily, on the first
draft whose language is not given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final

from flocon.analysis.language import UNDETERMINED, LanguageDetector
from flocon.domain.text import fold

__all__ = [
    "CODES",
    "DESCRIPTIONS",
    "LANGUAGES",
    "LONG_DRAFT_CHARS",
    "SEVERITY",
    "ToneIssue",
    "ToneReport",
    "check_tone",
]

#: Languages the tone check knows.
LANGUAGES: Final = ("en", "fr")

#: Above this many characters a draft gets the ``too_long`` hint: it no longer
#: reads as a reply on any network and will not fit a post on X (280) or Bluesky
#: (300); each network's hard limit is checked when posting.
LONG_DRAFT_CHARS: Final = 400

WARNING: Final = "warning"
INFO: Final = "info"

SEVERITY: Final[Mapping[str, str]] = MappingProxyType(
    {
        "defensive": WARNING,
        "blames_customer": WARNING,
        "dismissive": WARNING,
        "non_apology": WARNING,
        "no_apology": WARNING,
        "no_next_step": WARNING,
        "shouting": WARNING,
        "placeholder": WARNING,
        "mixed_register": WARNING,
        "overpromise": INFO,
        "too_long": INFO,
    }
)

#: Every code :func:`check_tone` can return.
CODES: Final = tuple(SEVERITY)

DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "defensive": "Sounds defensive: it justifies or pushes responsibility away "
        "instead of acknowledging the problem.",
        "blames_customer": "Blames the customer for what happened.",
        "dismissive": "Sounds dismissive: it brushes the customer's problem aside.",
        "non_apology": "Apologises for the customer's feelings rather than for what "
        "happened; apologise for the problem itself.",
        "no_apology": "Answers a complaint without an apology or a word of empathy.",
        "no_next_step": "Gives no next step: say what you will do, or how the customer "
        "can reach you (DM, e-mail, link).",
        "shouting": "Several words in capitals read as shouting.",
        "placeholder": "A template variable or a gap is left unfilled.",
        "mixed_register": "Mixes « tu » and « vous »: address the customer one way.",
        "overpromise": "Promises what may not be kept (never again, guaranteed).",
        "too_long": f"Longer than {LONG_DRAFT_CHARS} characters: keep public replies "
        "short and move details to a private message.",
    }
)


@dataclass(frozen=True, slots=True)
class ToneIssue:
    """One problem of a draft.

    ``start``/``end`` delimit the offending words in the draft (``draft[start:end]``
    is ``evidence``); all three are ``None`` for a missing element (``no_apology``,
    ``no_next_step``) or a whole-draft property (``too_long``).
    """

    code: str
    severity: str
    start: int | None = None
    end: int | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class ToneReport:
    """The result of :func:`check_tone`: the draft's language and its issues, in text order."""

    lang: str
    issues: tuple[ToneIssue, ...]

    @property
    def ok(self) -> bool:
        """True when no issue is a warning (hints may remain)."""
        return all(issue.severity != WARNING for issue in self.issues)

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct codes of the issues, in the order they first appear."""
        return tuple(dict.fromkeys(issue.code for issue in self.issues))


# --------------------------------------------------------------------------- lexicons

# Signals that are not issues but satisfy an expectation.
_APOLOGY: Final = "apology"
_NEXT_STEP: Final = "next_step"


@dataclass(frozen=True, slots=True)
class _Rule:
    """Phrases meaning ``signal``, or ``when_negated`` once a negation precedes them."""

    signal: str | None
    when_negated: str | None
    pattern: re.Pattern[str]
    complaint_only: bool = False


def _rule(
    signal: str | None,
    *phrases: str,
    when_negated: str | None = None,
    complaint_only: bool = False,
) -> _Rule:
    """Compile ``phrases`` (regexes over folded text; a space stands for spaces or a hyphen)."""
    body = "|".join(phrase.replace(" ", r"[\s\-]+") for phrase in phrases)
    pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
    return _Rule(signal, when_negated, pattern, complaint_only)


# Recurring pieces of the English and French phrases.
_WE = r"(?:we|i)"
_WE_ARE = r"(?:we are|we're|i am|i'm)"
_NOUS = r"(?:nous|on|je)"
_FEEL_EN = (
    r"(?:feel|felt|think|thought|believe|perceived?|took it|take it|see it|saw it|found it"
    r"|(?:were|are|have been|got|was|felt) (?:offended|upset|hurt))"
)
_FEEL_FR = (
    r"(?:(?:avez|ayez) (?:eu |pu avoir )?(?:le sentiment|l'impression)|pens(?:ez|iez)"
    r"|le pren(?:ez|iez)|ressent(?:ez|iez)|(?:vous )?(?:soyez|etes) senti(?:e|s|es)?"
    r"|(?:avez|ayez) ete (?:offense|choque|blesse|vexe)\w*"
    r"|(?:soyez|etes) (?:offense|choque|blesse|vexe)\w*)"
)
_ACTION_EN = (
    r"(?:look|check|investigate|fix|send|refund|replace|contact|call|e-?mail|reach|follow"
    r"|update|get|sort|escalate|forward|pass|credit|arrange|ship|reship|review|make sure"
    r"|be in touch|dm|message|reply|issue|cancel|reset|add|keep|let)"
)
_ACTION_FR = (
    r"(?:verifier|regarder|corriger|rembourser|envoyer|contacter|appeler|rappeler"
    r"|transmettre|traiter|remplacer|echanger|renvoyer|reexpedier|suivre|etudier|examiner"
    r"|revenir|faire le point|ecrire|analyser|relancer|debloquer|reparer|retablir"
    r"|proposer|chercher|ouvrir|faire remonter|remonter|resoudre|regler|annuler|crediter"
    r"|tenir|informer|recontacter|mettre a jour|s'en occuper|nous en occuper|m'en occuper"
    r"|prendre en charge)"
)
# One optional word that is not a negation ("we'll quickly check", not "we'll not check").
_FILLER = r"(?:(?!(?:not|never|no|pas|jamais)\b)\w+ )?"
_WEEKDAYS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
)


@cache
def _rules() -> tuple[_Rule, ...]:
    return (
        # ---------------------------------------------------------------- apology, empathy
        _rule(
            _APOLOGY,
            r"sorr+y+",
            r"apologi[sz](?:e|es|ed|ing)",
            r"apolog(?:y|ies)",
            rf"{_WE} (?:sincerely |deeply |truly )?regret",
            rf"{_WE} (?:completely |totally |fully |really |absolutely )?understand",
            r"understandabl[ey]",
            rf"{_WE} hear you",
            r"(?:must|must've|must have) (?:been|be) (?:so |really |very |incredibly )?"
            r"(?:frustrating|annoying|stressful|disappointing|upsetting|infuriating)",
            r"(?:that|this|it)(?:'s| is| sounds| was) (?:so |really |very |incredibly )?"
            r"(?:frustrating|annoying|disappointing|upsetting|unacceptable)",
            rf"{_WE} can (?:only )?imagine",
            r"not the experience (?:we|i|you)",
            r"(?:that|this|it)(?:'s| is| was)(?: not|n't) (?:ok|okay|acceptable|normal|right"
            r"|good enough)",
            r"(?:this|that|it)(?: one)?(?:'s| is| was) on us",
            rf"{_WE} (?:really )?(?:messed|screwed) up",
            rf"{_WE} (?:really )?dropped the ball",
            # French
            r"desolee?s?",
            r"dsl",
            r"navree?s?",
            r"(?:nous nous|je m'|je me) excus(?:e|ons)",
            r"(?:veuillez|merci de) (?:nous|m') ?excuser",
            r"(?:toutes )?(?:nos|mes) (?:plus )?(?:sinceres |humbles |plates )?excuses",
            r"mille excuses",
            r"(?:excusez|pardonnez) (?:nous|moi)",
            r"pardon",
            r"mea culpa",
            rf"{_NOUS} (?:le )?(?:regrettons|regrette)",
            rf"{_NOUS} (?:(?:tout a fait|bien|parfaitement|vraiment) )?(?:comprends|comprenons"
            r"|comprend)",
            r"j'imagine",
            rf"{_NOUS} (?:imaginons|imagine|peux imaginer|pouvons imaginer)",
            r"(?:ce n'est|c'est|ce n'etait|c'etait) pas (?:du tout )?normal",
            r"(?:c'est|c'etait|ce qui est) (?:vraiment |tres |particulierement |totalement )?"
            r"(?:frustrant|agacant|penible|decevant|inadmissible|inacceptable|rageant)",
            r"(?:n'est|est|n'etait|etait) pas (?:du tout )?(?:l'|une |la qualite d')?"
            r"experience (?:que|a laquelle) (?:nous|l'on|on|vous)",
            rf"{_NOUS} (?:s'est|nous sommes|me suis) trompes?",
            r"(?:nous avons|on a|j'ai) fait (?:une|un) (?:erreur|impair)",
        ),
        _rule(
            _APOLOGY,
            r"(?:our|my|notre|mon|ma) (?:own |propre )?(?:fault|mistake|error|bad|faute|erreur)",
            when_negated="defensive",
        ),
        _rule(
            None,
            r"(?:our|my) (?:own )?responsibility",
            r"(?:de )?(?:notre|ma|mon) (?:responsabilite|ressort)",
            when_negated="defensive",
        ),
        # ---------------------------------------------------------------- non-apologies
        _rule(
            "non_apology",
            rf"sorr+y (?:if |that )?(?:you|u|anyone|someone) {_FEEL_EN}",
            rf"apologi[sz]e if (?:you|anyone|someone) {_FEEL_EN}",
            rf"{_WE} regret that you {_FEEL_EN}",
            r"sorr+y if (?:this|that|it|our \w+) (?:offended|upset|hurt)",
            rf"(?:desolee?s?|navree?s?) (?:si|que|qu') ?vous {_FEEL_FR}",
            rf"(?:regrettons|regrette) (?:que|qu') ?vous {_FEEL_FR}",
            rf"excus\w* si vous {_FEEL_FR}",
        ),
        # ---------------------------------------------------------------- defensive
        _rule(
            "defensive",
            rf"{_WE_ARE} not (?:responsible|liable|to blame|accountable)",
            rf"{_WE} (?:can|could)(?:not|n't| not) be (?:held )?(?:responsible|liable)",
            rf"{_WE}(?: have|'ve)? (?:did |done )?nothing wrong",
            rf"{_WE} (?:didn't|did not|haven't|have not) (?:do|done) anything wrong",
            r"(?:that|this|it)(?:'s| is) (?:simply |just |absolutely |completely )?"
            r"(?:not true|untrue|false|incorrect|not the case)",
            rf"as {_WE}(?:'ve| have)? (?:already |previously |clearly )?(?:said|stated"
            r"|mentioned|explained|told you|pointed out|noted|indicated)(?! below)",
            r"as (?:previously |already |clearly )?(?:stated|mentioned|explained|indicated"
            r"|noted|said)(?! below)",
            r"(?:as )?per (?:my|our) (?:last|previous) (?:message|reply|e-?mail|tweet|post)",
            r"(?:as )?per (?:our|the) (?:policy|policies|terms|t&cs|tos|terms and conditions"
            r"|terms of service|rules)",
            r"(?:according to|in accordance with|under|as stated in|as outlined in"
            r"|as explained in|as set out in) (?:our|the) (?:policy|policies|terms|t&cs|tos"
            r"|terms and conditions|terms of service|conditions|rules|fine print)",
            r"(?:our|the) (?:policy|terms|t&cs|terms and conditions|rules) (?:clearly )?"
            r"(?:states?|says?|stipulates?)",
            r"company policy",
            rf"{_WE} (?:followed|respected) (?:the |our )?(?:procedure|process|protocol|policy)",
            # French
            rf"{_NOUS} (?:ne |n')?(?:sommes|suis|est|serons|sera) (?:en aucun cas |pas "
            r"|nullement |aucunement |absolument pas |pas du tout )(?:tenue?s? )?(?:pour )?"
            r"responsables?",
            rf"{_NOUS} (?:ne |n')(?:pouvons|peut|peux|saurions|saurait|saurais) (?:pas "
            r"|en aucun cas |aucunement )?etre (?:tenue?s? )?(?:pour )?responsables?",
            rf"{_NOUS} n'y (?:sommes|est|suis) pour rien",
            rf"{_NOUS} (?:n'avons|n'a|n'ai|avons|a|ai) (?:commis |fait )?aucune (?:erreur|faute)",
            r"comme (?:deja |precedemment |clairement |bien )?(?:indique|precise|mentionne|dit"
            r"|explique|signale|stipule|ecrit)(?! ci)",
            r"comme (?:nous|je) (?:vous )?l'(?:avons|ai) (?:deja |bien |clairement )?(?:dit"
            r"|indique|precise|explique|ecrit|mentionne|signale)",
            r"(?:je|nous) vous l'(?:ai|avons) (?:deja )?(?:dit|explique|indique|precise)",
            r"(?:conformement|selon|d'apres|au regard) (?:a |de )?(?:nos|les|notre|la)"
            r" (?:cgv|cgu|conditions|politique|regles|reglement|procedure)",
            r"(?:nos|les) (?:cgv|cgu|conditions generales(?: de vente| d'utilisation)?)"
            r" (?:sont claires|precisent|stipulent|indiquent|prevoient|sont pourtant)",
            r"c'est (?:totalement |completement |absolument |tout simplement )?"
            r"(?:faux|inexact|mensonger)",
            r"c'est la procedure",
            r"comme (?:le |l')?(?:prevoient|precisent|stipulent|indiquent|prevoit|precise"
            r"|stipule|indique) (?:nos|les|notre|la) (?:cgv|cgu|conditions|politique|regles"
            r"|reglement)",
            rf"{_NOUS} (?:vous )?(?:a|avons|ai) deja (?:repondu|explique|dit|indique|precise)",
            rf"{_WE}(?:'ve| have) already (?:answered|explained|told you|replied|responded|said)",
            r"(?:nous avons|on a) (?:respecte|suivi) (?:la|notre) (?:procedure|politique)",
        ),
        # ---------------------------------------------------------------- blames the customer
        _rule(
            "blames_customer",
            r"you (?:should|ought to)(?:'ve| have)",
            r"you (?:failed|neglected|forgot) to",
            r"you (?:didn't|did not|never) (?:read|follow|check|bother|pay attention|update"
            r"|provide|respond)",
            r"if you (?:had|'d) (?:read|followed|checked|paid attention|updated|looked|bothered)",
            r"you would(?:'ve| have) (?:seen|known|noticed|read)",
            r"user error",
            r"(?:problem|issue|error|fault|something) (?:\w+ ){0,2}(?:on|at) your (?:end|side)",
            r"you must have (?:\w+ )?(?:entered|made|typed|clicked|selected|done|deleted"
            r"|misread|misunderstood|forgotten)",
            r"you (?:clearly|obviously) (?:didn't|did not|haven't|have not|don't|do not|failed"
            r"|misread|misunderstood|forgot)",
            r"you(?:'re| are) (?:wrong|mistaken)",
            r"you (?:misread|misunderstood|misunderstand)",
            r"(?:it|this)(?:'s| is| was) (?:your|the customer's) responsibility",
            r"as (?:anyone|everyone) can see",
            # French
            r"(?:vous|tu) (?:auriez|aurais) du",
            r"il (?:aurait fallu|fallait)",
            r"il vous (?:appartenait|appartient|incombait|incombe) de",
            r"(?:une )?erreur de votre part",
            r"(?:vous|tu) n'(?:avez|as) (?:pas|jamais) (?:bien )?(?:lu|suivi|respecte|verifie"
            r"|fait attention|regarde|mis a jour|renseigne|rempli|consulte)",
            r"si (?:vous|tu) (?:aviez|avais) (?:bien )?(?:lu|suivi|verifie|fait attention"
            r"|regarde|respecte|rempli|renseigne|consulte)",
            r"(?:vous vous trompez|tu te trompes|vous avez tort|tu as tort)",
            r"(?:vous avez|tu as) mal (?:compris|lu|saisi|rempli|renseigne|tape|branche"
            r"|configure|lu)",
            r"(?:vous avez|tu as) (?:oublie|omis|neglige) de",
            r"(?:probleme|souci|erreur|panne) (?:est |se situe |vient )?(?:de|du) (?:votre|ton)"
            r" cote",
        ),
        _rule(
            "blames_customer",
            r"(?:your|ur) (?:own )?fault",
            r"(?:de |par )?(?:votre|ta|ton) (?:propre )?(?:faute|erreur)",
            when_negated=_APOLOGY,
        ),
        # ---------------------------------------------------------------- dismissive
        _rule(
            "dismissive",
            r"calm down",
            r"chill out",
            r"relax",
            r"(?:there is|there's) (?:really |simply |just |unfortunately )?nothing"
            rf" (?:more |else )?{_WE} can do",
            rf"(?:nothing|not much) (?:more |else )?{_WE} can do",
            rf"{_WE} (?:can't|cannot|can not) do anything(?: more| else| about (?:it|that|this))?",
            r"(?:that's|that is|it is|it's) (?:just |simply )?(?:how|the way) it is",
            r"it is what it is",
            r"(?:it|this) happens to (?:everyone|everybody|the best of us)",
            r"(?:deal|live) with it",
            r"whatever",
            r"(?:no|not a|not that|not such a) big deal",
            r"(?:feel free|you're free|you are free) to (?:go|shop|take your business) elsewhere",
            r"take your business elsewhere",
            rf"{_WE} (?:don't|do not) care",
            r"no comment",
            r"(?:you're|you are) overreacting",
            r"(?:these things|stuff|shit) happens?",
            r"with all due respect",
            r"too bad",
            r"tough luck",
            r"(?:you'll|you will|you'll just|you will just) have to (?:wait|be patient|accept)",
            # French
            r"calmez vous",
            r"calme toi",
            r"du calme",
            r"on se calme",
            rf"{_NOUS} (?:ne |n')?(?:pouvons|peut|peux) (?:plus )?rien (?:y )?(?:faire|pour vous)",
            rf"{_NOUS} n'y (?:pouvons|peut|peux) rien",
            r"il n'y a (?:plus )?rien (?:a faire|que nous puissions faire|que l'on puisse faire"
            r"|qu'on puisse faire|de plus a faire)",
            r"c'est comme (?:ca|cela)",
            r"tant pis",
            r"dommage pour vous",
            r"(?:libre a vous|vous etes libre|rien ne vous empeche) d'aller (?:voir )?ailleurs",
            r"allez voir ailleurs",
            r"(?:vous|tu) (?:exagerez|exageres|dramatisez|dramatises)",
            r"sans commentaire",
            rf"{_NOUS} s'en (?:fiche|fout|moque)",
            r"(?:il faudra|vous devrez|vous devez) (?:patienter|attendre|faire avec)",
            r"(?:faites|fais) avec",
            r"avec tout le respect(?: que je vous dois)?",
            r"ce sont des choses qui arrivent",
            r"(?:ca|cela) (?:arrive|peut arriver) a tout le monde",
            r"n'importe quoi",
            # emoji
            "\U0001f644",  # face with rolling eyes
            "\U0001f612",  # unamused face
            "\U0001f937",  # person shrugging
            "\U0001f971",  # yawning face
        ),
        _rule(
            "dismissive",
            r"lol",
            r"lmao",
            r"rofl",
            r"mdr",
            r"ptdr",
            r"(?:ce n'est|c'est) (?:pas )?(?:si |bien |tres )?grave",
            complaint_only=True,
        ),
        _rule(
            None,
            r"(?:our|my) (?:problem|concern|issue)",
            r"(?:notre|mon) (?:probleme|souci|affaire)",
            when_negated="dismissive",
        ),
        # ---------------------------------------------------------------- overpromise
        _rule(
            "overpromise",
            r"(?:will|'ll) never happen again",
            rf"{_WE} (?:can |)guarantee",
            rf"{_WE} promise (?:you )?(?:that )?(?:this|it) (?:will|won't)",
            r"(?:ne se reproduira|n'arrivera|ne se reproduiront) (?:plus|jamais)",
            r"(?:je|nous) vous (?:le )?(?:garantis|garantissons|promets|promettons)",
        ),
        # ---------------------------------------------------------------- next steps
        _rule(
            _NEXT_STEP,
            # English
            r"(?:dm|pm|inbox|message|e-?mail|call|ring|contact|text|phone|write to) (?:us|me)",
            r"(?:contact|reach|write to|message|dm|tweet) @\w+",
            r"(?:direct|private) message",
            r"(?:send|drop|shoot) (?:us|me) (?:a |an )?(?:dm|pm|message|line|note|e-?mail|mail)",
            r"(?:send|give|share|tell|confirm) (?:us|me)",
            r"(?:via|in|by|over) (?:a )?dm",
            r"(?:check|in) your (?:dms|inbox|e-?mails?)",
            r"(?:contact|call|e-?mail|reach) (?:our|the) (?:\w+ )?(?:team|support|service)",
            r"give (?:us|me) a (?:call|ring|shout)",
            r"get in touch",
            r"reach out",
            r"reach us",
            r"follow(?:ing)? up",
            r"get back to you",
            r"circle back",
            r"keep you (?:posted|updated|informed|in the loop)",
            rf"{_WE}(?:'ve| have)? (?:just |already )?(?:escalated|forwarded|flagged|passed"
            r"|raised|logged|opened|filed|refunded|credited|added|sent|issued|booked|scheduled"
            r"|arranged|reset|fixed|cancell?ed|reported|applied|restored|rebooked|updated|replaced"
            r"|reshipped|requested|e-?mailed|messaged|contacted|notified|asked|spoken|checked"
            r"|changed|upgraded|extended|waived|removed|unlocked|reactivated|resent)",
            rf"{_WE}(?:'ll| will| am going to| are going to|'m going to|'re going to)"
            rf" {_FILLER}{_ACTION_EN}",
            rf"{_WE_ARE} (?:on it|looking into|investigating|working on|checking)",
            r"(?:our|the|a) (?:\w+ )?(?:team|engineers?|technicians?|manager|agents?|advisors?"
            r"|specialists?|colleagues?) (?:will|is|are|has|have|'s|'ll)",
            r"here(?:'s| is| are) (?:how|the link|a link|what|the steps|where)",
            rf"(?:you can|you'll be able to|feel free to) {_FILLER}(?:find|track|reset|update"
            r"|request|check|follow|download|claim|book|change|cancel|contact|reach|call"
            r"|e-?mail|dm|message|see|read|get)",
            rf"please {_FILLER}(?:try|check|follow|fill|send|reply|share|let us know|visit"
            r"|update|restart|click|e-?mail|call|dm|contact|message|reach|confirm|go to)",
            r"let (?:us|me) know",
            r"(?:track|check|follow|find|see|read|update|reset|book|claim|download|request)"
            r" (?:\w+ ){0,3}(?:here|below|online|in the app)",
            r"(?:could|can|would) you (?:please )?(?:send|share|tell|confirm|give|dm|message"
            r"|e-?mail|provide|check|try|let)",
            r"reply (?:here|to this)",
            r"(?:replacement|refund|voucher|credit|exchange)s? (?:has been|will be|'s been|was)",
            r"on (?:its|their) way",
            r"you(?:'ll| will) (?:get|receive|hear)",
            r"within (?:the next )?\d+ (?:business |working )?(?:hours?|days?|minutes?|h)",
            r"by (?:tomorrow|tonight|the end of the day|end of day|" + _WEEKDAYS + ")",
            # French
            r"(?:en|par|via) (?:dm|mp|message prive|prive|messages prives)",
            r"messages? prives?",
            r"(?:dm|mp)",
            r"(?:ecrivez|envoyez|contactez|appelez|rappelez|joignez|suivez|consultez|cliquez"
            r"|transmettez|communiquez|indiquez|precisez|partagez|repondez|verifiez|essayez"
            r"|redemarrez|telechargez|renseignez|rendez vous)",
            r"(?:ecris|envoie|contacte|appelle|dis|indique|transmets|partage|reponds) (?:nous|moi)",
            r"merci de (?:nous |me )?(?:envoyer|ecrire|contacter|indiquer|communiquer"
            r"|transmettre|preciser|repondre|verifier|rappeler|confirmer|suivre)",
            r"(?:nous|me) (?:ecrire|contacter|envoyer|appeler|joindre|rappeler|indiquer"
            r"|communiquer|transmettre|preciser|repondre|dire|donner|faire parvenir|partager"
            r"|confirmer)",
            rf"{_NOUS} (?:revenons|reviens|reviendrons|reviendrai|revient|reviendra) vers"
            r" (?:vous|toi)",
            rf"{_NOUS} (?:vous|te) (?:envoie|envoyons|recontacte|recontactons|rappelle|rappelons"
            r"|tiens|tient|tenons|tiendrons|tiendrai|ecris|ecrivons|contacte|contactons|appelle"
            r"|appelons|rembourse|remboursons|propose|proposons|transmets|confirme|confirmons"
            r"|renvoie|renvoyons|rembourserons|rembourserai|recontacterons|recontacterai"
            r"|rappellerons|rappellerai|enverrons|enverrai|ecrirons|ecrirai)",
            rf"{_NOUS} (?:vais|allons|va) (?:(?:vous|te|le|la|les|l'|y|en|lui|leur) ?)*"
            rf"{_ACTION_FR}",
            rf"{_NOUS} (?:suivrons|suivrai|corrigerons|corrigerai|traiterons|traiterai"
            r"|verifierons|verifierai|regarderons|regarderai)",
            r"(?:j'ai|nous avons|on a) (?:bien |deja )?(?:fait remonter|transmis|remonte"
            r"|escalade|signale|ouvert|cree|lance|envoye|rembourse|credite|annule|relance"
            r"|debloque|corrige|ajoute|programme|planifie|partage|prevenu|alerte)",
            rf"{_NOUS} (?:transmets|transmettons|fais remonter|faisons remonter|remonte"
            r"|remontons|escalade|relance|relancons|m'en occupe|nous en occupons|s'en occupe"
            r"|regarde|regardons|verifie|verifions|corrige|corrigeons|m'occupe|nous occupons"
            r"|s'occupe)",
            r"voici (?:le lien|un lien|comment|la marche|les etapes|la procedure|ou)",
            r"(?:vous pouvez|tu peux|vous pourrez|tu pourras) (?:\w+ )?(?:suivre|consulter|nous"
            r"|me|telecharger|reinitialiser|retrouver|modifier|demander|contacter|appeler"
            r"|ecrire|envoyer|verifier|cliquer|trouver|utiliser)",
            r"(?:pouvez|pourriez|peux|pourrais) (?:vous|tu)",
            r"(?:un|une|notre|nos|le|la|les) (?:conseiller|conseillere|technicien|technicienne"
            r"|agent|equipe|equipes|responsable|livreur|service)(?: \w+){0,4} (?:va|vont|vous"
            r"|reviendra|reviendront|prendra|prendront|passera|passeront|interviendra"
            r"|interviendront|intervient|interviennent|est en train|sont en train|sont sur place|est sur place|travaille"
            r"|travaillent|s'en occupe|s'en occupent)",
            r"(?:remboursement|echange|avoir|geste commercial|bon d'achat|remplacement)"
            r" (?:a ete|est|sera|vous sera|va etre)",
            r"(?:vous|tu) (?:recevrez|recevras|allez recevoir|vas recevoir|aurez|auras)",
            r"numero de suivi",
            r"veuillez (?:nous |me )?(?!patienter|excuser|accepter|agreer|noter|trouver)\w+",
            r"sous \d+ ?(?:h|heures?|jours?|j)",
            r"dans les (?:prochaines|\d+) (?:heures|h|jours|minutes)",
            r"(?:avant|d'ici) (?:\d+ ?h|ce soir|demain|la fin de (?:la )?journee|"
            + _WEEKDAYS
            + ")",
        ),
    )


# A French imperative opening a clause (« Imprimez l'étiquette », « Connectez-vous »),
# except those that ask for patience, forgiveness or attention, or send the customer
# elsewhere (« voyez avec votre banque »).
_IMPERATIVE_FR = re.compile(
    r"(?:^|[.!?:;,\n(]\s*|\s(?:et|puis|ou|alors)\s+)"
    r"(?!(?:excusez|calmez|patientez|sachez|notez|veuillez|rassurez|inquietez|voyez)\b)"
    r"([a-z]{3,}ez)(?:[\s\-]|$)"
)

# Web addresses, e-mail addresses and phone numbers are next steps.
_CONTACT = re.compile(
    r"""(?:https?://|www\.)[^\s<>"]+"""
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w+])(?:\+\d{1,3} ?)?\(?\d{2,4}\)?(?:[ .-]\d{2,4}){2,4}(?!\w)"
)
_PHONE_DIGITS: Final = 9  # a shorter run of digit groups is a date or a reference

# Set phrases whose negation says nothing about what follows, blanked out when
# looking for negations.
_NOT_NEGATIONS = re.compile(
    r"(?<!\w)(?:n'hesite[zr]? pas|ne pas hesiter|n'hesitez surtout pas"
    r"|(?:do not|don't|never) hesitate|pas de (?:souci|soucis|probleme|problemes)"
    r"|pas de panique|no (?:worries|problem|problems|later than)|(?:do not|don't) (?:worry|forget)"
    r"|ne (?:manquerons|manquerai|manquera|manquons|manque) pas"
    r"|n'oubliez pas|n'oublie pas|ne vous inquietez pas|ne t'inquiete pas|not only"
    r"|non seulement|sans (?:faute|frais|delai|attendre|hesiter|oublier)|n'importe"
    r"|rien de plus simple|if not"
    r"|ne (?:(?!pas|jamais|plus|rien|aucun)\w+ ){1,2}qu(?:e|'))(?!\w)"
)
_NEGATORS: Final = frozenset(
    {
        "not",
        "never",
        "no",
        "cannot",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "without",
        "ne",
        "pas",
        "jamais",
        "aucun",
        "aucune",
        "aucunement",
        "nullement",
        "rien",
        "sans",
        "guere",
        "ni",
    }
)
_NEGATION_WINDOW: Final = 5
_CLAUSE_END = re.compile(
    r"[.;:!?,\n()\u2014\u2013]|(?<!\w)(?:but|mais|however|cependant|pourtant|though|although)(?!\w)"
)
_WORD = re.compile(r"[\w']+")


def _is_contact(found: str) -> bool:
    """A web or e-mail address, or a phone number (not a date such as 2026-03-01)."""
    if found.startswith(("http", "www.")) or "@" in found:
        return True
    return sum(ch.isdigit() for ch in found) >= _PHONE_DIGITS


def _is_negator(token: str) -> bool:
    return token in _NEGATORS or token.endswith("n't") or token.startswith("n'")


def _negated(masked: str, start: int) -> bool:
    """Whether a negation precedes ``masked[start:]`` in the same clause."""
    before = masked[max(0, start - 120) : start]
    ends = list(_CLAUSE_END.finditer(before))
    if ends:
        before = before[ends[-1].end() :]
    words = _WORD.findall(before)[-_NEGATION_WINDOW:]
    return any(_is_negator(word) for word in words)


# --------------------------------------------------------------------------- text helpers


def _fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` character by character, and for each folded character its index in ``text``."""
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = fold(ch)
        parts.append(folded)
        index.extend([i] * len(folded))
    index.append(len(text))
    return "".join(parts), index


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


_CAPS_WORD = re.compile(r"[^\W\d_]+")
_SHOUT_MIN_WORDS: Final = 3
_SENTENCE_END = re.compile(r"[.!?;:\n]")


def _shouting(text: str) -> Iterator[tuple[int, int]]:
    """Spans of three or more words in capitals in a row (one-letter words do not count)."""
    run: list[re.Match[str]] = []
    for match in _CAPS_WORD.finditer(text):
        word = match.group()
        if run and _SENTENCE_END.search(text, run[-1].end(), match.start()):
            if len(run) >= _SHOUT_MIN_WORDS:
                yield run[0].start(), run[-1].end()
            run = []
        if len(word) == 1 and word.isupper():
            continue
        if len(word) >= 2 and word.isupper():
            run.append(match)
            continue
        if len(run) >= _SHOUT_MIN_WORDS:
            yield run[0].start(), run[-1].end()
        run = []
    if len(run) >= _SHOUT_MIN_WORDS:
        yield run[0].start(), run[-1].end()


_PLACEHOLDER = re.compile(
    r"\{\{?\s*[^\W\d]\w*\s*\}?\}"
    r"|\[[^\[\]\n]{1,40}\](?!\()"
    r"|<[^\W\d][\w ]{0,30}>"
    r"|(?<!\w)(?:XXX+|xxx+|TODO|TBD|FIXME)(?!\w)"
    r"|(?i:lorem ipsum)"
)
_TU = re.compile(r"(?<![\w'])(?:tu|te|toi|ta|tes|t'(?=\w))(?![\w'])")
_VOUS = re.compile(r"(?<![\w'])(?:vous|votre|vos)(?!\w)")


def _mixed_register(folded: str) -> tuple[int, int] | None:
    """The first word of the rarer address form when the draft uses both *tu* and *vous*."""
    tu = list(_TU.finditer(folded))
    vous = list(_VOUS.finditer(folded))
    if not tu or not vous:
        return None
    rarer = tu if len(tu) <= len(vous) else vous
    return rarer[0].start(), rarer[0].end()


# --------------------------------------------------------------------------- language

_FR_HINTS: Final = frozenset(
    "le la les des un une et de du est pour vous nous votre pas merci bonjour je ce"
    " desole avec sur".split()
)
_EN_HINTS: Final = frozenset(
    "the a an and to of is for you we your our it this thanks hi please sorry with on".split()
)


@cache
def _detector() -> LanguageDetector:
    return LanguageDetector(LANGUAGES)


def _normalise_lang(lang: str) -> str:
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    if base not in LANGUAGES:
        raise ValueError(f"the tone check reads {' and '.join(LANGUAGES)}, not {lang!r}")
    return base


def _detect(draft: str, folded: str) -> str:
    code, _ = _detector().detect(draft)
    if code != UNDETERMINED:
        return code
    words = _WORD.findall(folded)
    french = sum(word in _FR_HINTS for word in words)
    english = sum(word in _EN_HINTS for word in words)
    return "fr" if french > english else "en"


# --------------------------------------------------------------------------- the check


def check_tone(draft: str, *, lang: str | None = None, complaint: bool = True) -> ToneReport:
    """Read ``draft`` and report its tone problems.

    ``lang`` (``"fr"``, ``"en"``, or a regional form such as ``"fr-CA"``) is detected
    when not given. ``complaint`` says the draft answers a complaint: only then are
    a missing apology, a missing next step, laughter and « ce n'est pas grave »
    reported.
    """
    folded, index = _fold_with_offsets(draft)
    code = _normalise_lang(lang) if lang is not None else _detect(draft, folded)
    masked = _NOT_NEGATIONS.sub(_blank, folded)

    found: list[tuple[str, int, int]] = []
    signals: set[str] = set()
    non_apology_spans: list[tuple[int, int]] = []
    for rule in _rules():
        if rule.complaint_only and not complaint:
            continue
        for match in rule.pattern.finditer(folded):
            signal = rule.when_negated if _negated(masked, match.start()) else rule.signal
            if signal is None:
                continue
            if signal == "non_apology":
                non_apology_spans.append(match.span())
            if signal in SEVERITY:
                found.append((signal, match.start(), match.end()))
            elif signal == _APOLOGY:
                if not any(s <= match.start() < e for s, e in non_apology_spans):
                    signals.add(_APOLOGY)
            else:
                signals.add(signal)
    if any(_is_contact(match.group()) for match in _CONTACT.finditer(folded)) or any(
        not _negated(masked, match.start(1)) for match in _IMPERATIVE_FR.finditer(folded)
    ):
        signals.add(_NEXT_STEP)
    if code == "fr" and (span := _mixed_register(folded)) is not None:
        found.append(("mixed_register", *span))

    issues = [
        ToneIssue(
            name, SEVERITY[name], index[s], index[e - 1] + 1, draft[index[s] : index[e - 1] + 1]
        )
        for name, s, e in _without_overlaps(found)
    ]
    for start, end in _shouting(draft):
        issues.append(ToneIssue("shouting", WARNING, start, end, draft[start:end]))
    for match in _PLACEHOLDER.finditer(draft):
        issues.append(ToneIssue("placeholder", WARNING, match.start(), match.end(), match.group()))
    issues.sort(key=lambda issue: (issue.start or 0, issue.code))

    if len(draft) > LONG_DRAFT_CHARS:
        issues.append(ToneIssue("too_long", INFO))
    if complaint and _APOLOGY not in signals and not non_apology_spans:
        issues.append(ToneIssue("no_apology", WARNING))
    if complaint and _NEXT_STEP not in signals:
        issues.append(ToneIssue("no_next_step", WARNING))
    return ToneReport(code, tuple(issues))


def _without_overlaps(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Per code, the longest of overlapping matches, in text order."""
    kept: list[tuple[str, int, int]] = []
    for name, start, end in sorted(found, key=lambda f: (f[0], f[1], -f[2])):
        if kept and kept[-1][0] == name and start < kept[-1][2]:
            continue
        kept.append((name, start, end))
    return sorted(kept, key=lambda f: (f[1], f[0]))
