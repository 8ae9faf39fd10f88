"""Severity lexicon: words that turn a bad review into a crisis (French and English).

A curated list of terms, written for flocon, that signal legal, safety, fraud or
organised-action risk in a negative mention: *arnaque*, *escroquerie*,
*intoxication alimentaire*, *rappel conso*, *plainte*, *boycott*, *fraud*, *scam*,
*recall*, *lawsuit*, *class action*, *DGCCRF*, *UFC-Que Choisir*, *data breach*...

Each term has a weight:

* **3**: legal or safety (a complaint filed, a lawsuit, a recall, food poisoning,
  injury, a regulator or consumer association named, a data breach);
* **2**: fraud and organised action (scam, fraud, boycott, scandal, lies, theft);
* **1**: strong dissatisfaction that often precedes escalation (*never again*,
  *unacceptable*, *refund*, *shame*).

Matching is done on tokens of :func:`flocon.domain.text.fold` (lower case, accents
stripped, French elisions dropped): ``Arnaqué`` and ``arnaques`` both match *arnaque*,
``l'escroquerie`` matches *escroquerie*, but ``scampi`` never matches *scam* since a
term must cover whole tokens. A hashtag matches a term it starts with
(``#BoycottNike`` → *boycott*, ``#arnaque2024`` → *arnaque*).

:func:`severity` turns the distinct matched terms into a number in ``[0, 1]`` by a
noisy-or: each term of weight ``w`` alone gives ``STRENGTH[w]`` (0.6, 0.4, 0.2) and
``severity = 1 − Π (1 − STRENGTH[w])``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from flocon.domain.text import fold, tokenize

__all__ = ["STRENGTH", "TERMS", "Term", "severity", "severity_hits", "severity_terms"]


@dataclass(frozen=True)
class Term:
    """One lexicon entry: its display ``name``, ``weight`` 1–3 and ``pattern``.

    ``pattern`` is a regular expression over folded tokens joined by single spaces
    (no accents, lower case); it must match whole tokens.
    """

    name: str
    weight: int
    pattern: str
    lang: str  # "fr", "en" or "*" (both / proper names)


#: Probability-like strength of one term of each weight, combined by noisy-or.
STRENGTH: dict[int, float] = {1: 0.2, 2: 0.4, 3: 0.6}

_S = r"s?"  # optional plural

#: The lexicon (name, weight, pattern on folded tokens, language).
TERMS: tuple[Term, ...] = (
    # --- 3: legal ------------------------------------------------------------------
    Term("plainte", 3, r"plaintes?", "fr"),
    Term("mise en demeure", 3, r"mises? en demeure", "fr"),
    Term("procès", 3, r"proces|poursuites? judiciaires?|poursuivre en justice", "fr"),
    Term("avocat", 3, r"avocats?|avocates?", "fr"),
    Term("tribunal", 3, r"tribunal|tribunaux|prud ?hommes", "fr"),
    Term("action de groupe", 3, r"actions? (?:de groupe|collectives?)", "fr"),
    Term("illégal", 3, r"illegale?s?|illegaux|illegally", "*"),
    Term("lawsuit", 3, r"lawsuits?", "en"),
    Term("class action", 3, r"class actions?", "en"),
    Term(
        "sue",
        3,
        r"sue (?:you|them|him|her|us|the|for|over)|(?:will|ll|to|gonna) sue|sued|suing",
        "en",
    ),
    Term("lawyer", 3, r"lawyers?|attorneys?|legal action", "en"),
    Term("court", 3, r"small claims court|take (?:you|them|it) to court|in court", "en"),
    # --- 3: safety -----------------------------------------------------------------
    Term(
        "intoxication alimentaire",
        3,
        r"intoxications?(?: alimentaires?)?|intoxique(?:e|es|s)?",
        "fr",
    ),
    Term("food poisoning", 3, r"food poisoning|poisoning|poisoned", "en"),
    Term("empoisonnement", 3, r"empoisonnements?|empoisonne(?:e|es|s)?", "fr"),
    Term(
        "rappel conso",
        3,
        r"rappels? ?conso|rappelconso|rappels? (?:de )?(?:produits?|lots?)|retrait rappel",
        "fr",
    ),
    Term("retiré de la vente", 3, r"retire(?:e|es|s)? de la vente|retrait du marche", "fr"),
    Term("recall", 3, r"(?<!i )(?<!t )(?<!you )(?:recall|recalled)|recalls|product recalls?", "en"),
    Term("danger", 2, r"dangers?|dangereu(?:x|se|ses)|dangerous|mise en danger", "*"),
    Term(
        "hospitalisé", 3, r"hospitalise(?:e|es|s)?|hospitali[sz]ed|hospital|hopital|urgences", "*"
    ),
    Term("blessé", 3, r"blesse(?:e|es|s)?|blessures?|injur(?:y|ies|ed)", "*"),
    Term("listeria", 3, r"listeria|listeriose", "*"),
    Term("salmonelle", 3, r"salmonell(?:e|es|a|ose)", "*"),
    Term("e. coli", 3, r"e coli", "*"),
    Term("contaminé", 3, r"contamin(?:e|ee|ees|es|ation|ations|ated)", "*"),
    Term("réaction allergique", 3, r"reactions? allergiques?|allergic reactions?|anaphyla\w*", "*"),
    Term("explosion", 3, r"explos(?:e|ee|ion|ions|ed|es)|exploded|a pris feu|caught fire", "*"),
    Term("brûlure", 2, r"brulures?|burns", "*"),
    Term("toxique", 2, r"toxiques?|toxic", "*"),
    Term("unsafe", 3, r"unsafe|health hazard|safety hazard|fire hazard", "en"),
    Term("sanitaire", 2, r"risques? sanitaires?|scandale sanitaire|insalubres?", "fr"),
    # --- 3: regulators, consumer associations, data --------------------------------
    Term("DGCCRF", 3, r"dgccrf|repression des fraudes", "fr"),
    Term("UFC-Que Choisir", 3, r"(?:ufc )?que choisir|ufcquechoisir|quechoisir", "fr"),
    Term("60 millions de consommateurs", 3, r"60 ?millions (?:de )?consommateurs|60millions", "fr"),
    Term("signal conso", 3, r"signal ?conso|signalconso", "fr"),
    Term("CNIL", 3, r"cnil", "fr"),
    Term("médiateur", 2, r"mediateurs?|mediation|ombudsman", "*"),
    Term("regulator", 3, r"ftc|trading standards|better business bureau|bbb|ofcom|arcep", "*"),
    Term(
        "fuite de données",
        3,
        r"fuites? (?:de|des) donnees|donnees (?:personnelles )?(?:volees|piratees)",
        "fr",
    ),
    Term("data breach", 3, r"data (?:breach|breaches|leak|leaks|leaked)|breach", "en"),
    Term("piratage", 2, r"piratages?|pirate(?:e|es|s)?|hacked|hackers?", "*"),
    # --- 2: fraud ------------------------------------------------------------------
    Term("arnaque", 2, r"arnaqu(?:e|es|er|ee|ees|eur|eurs|euse|euses|ent|ez|ons)", "fr"),
    Term("escroquerie", 2, r"escroquer(?:ie|ies)?|escroc|escrocs|escroque(?:e|es|s)?", "fr"),
    Term("fraude", 2, r"fraudes?|frauduleu(?:x|se|ses)|fraudeurs?", "fr"),
    Term("fraud", 2, r"fraud|frauds|fraudulent|fraudster|fraudsters", "en"),
    Term("scam", 2, r"scam|scams|scammed|scammer|scammers|scamming|scammy", "en"),
    Term("rip-off", 2, r"rip ?off|ripoff|ripped off", "en"),
    Term("vol", 2, r"voleurs?|voleuses?|on (?:s est fait|m a|nous a) vole", "fr"),
    Term("theft", 2, r"theft|thieves|thief|stole|stolen|stealing", "en"),
    Term("mensonge", 2, r"mensonges?|menteurs?|menteuses?|mensonger(?:e|es|s)?", "fr"),
    Term("lie", 2, r"liars?|lied|lying", "en"),
    Term("trompeur", 2, r"trompeu(?:r|rs|se|ses)|tromperie|publicite mensongere", "fr"),
    Term("misleading", 2, r"misleading|false advertising|deceptive|deceived", "en"),
    Term("abus", 2, r"abusi(?:f|fs|ve|ves)|abus|abusive|abuse", "*"),
    Term("contrefaçon", 2, r"contrefa(?:con|cons|it|ite)|counterfeits?|fake products?", "*"),
    # --- 2: organised action, public outrage --------------------------------------
    Term("boycott", 2, r"boycott|boycotts|boycotte(?:r|z|ons|e|es|nt)?|boycotted|boycotting", "*"),
    Term("scandale", 2, r"scandales?|scandaleu(?:x|se|ses)|scandal|scandals|scandalous", "*"),
    Term("pétition", 2, r"petitions?", "*"),
    Term("grève", 2, r"greves?|grevistes?", "*"),
    Term("discrimination", 2, r"discriminations?|discrimine(?:e|es|s)?|discriminated", "*"),
    Term("racisme", 2, r"racismes?|racistes?|racism|racist", "*"),
    Term("harcèlement", 2, r"harcelements?|harcele(?:e|es|s)?|harassment|harassed", "*"),
    Term("journalist", 2, r"journalistes?|journalists?|medias|presse|the press", "*"),
    Term("signalement", 2, r"signale(?:r|ment|ments)|reported (?:you|them|it) to", "*"),
    Term("police", 2, r"police|gendarmerie|gendarmes?", "*"),
    # --- 1: strong dissatisfaction -------------------------------------------------
    Term("plus jamais", 1, r"plus jamais|jamais plus", "fr"),
    Term("never again", 1, r"never again|never buying|never buy|never shopping", "en"),
    Term("honte", 1, r"hontes?|honteu(?:x|se|ses)|shame|shameful|disgrace(?:ful)?", "*"),
    Term("inadmissible", 1, r"inadmissibles?|inacceptables?|unacceptable|outrageous", "*"),
    Term("scandalisé", 1, r"scandalise(?:e|es|s)?|outraged|furious|furieu(?:x|se|ses)", "*"),
    Term("dégoûtant", 1, r"degoutante?s?|degueulasses?|disgusting|revolting", "*"),
    Term("lamentable", 1, r"lamentables?|pathetique|pathetic|appalling", "*"),
    Term("remboursement", 1, r"rembourse(?:r|z|ment|ments|e|ee)|refunds?|refunded|chargeback", "*"),
    Term(
        "résiliation",
        1,
        r"resili(?:er|e|ation|ations)|cancel(?:led|ed)? my (?:subscription|account)",
        "*",
    ),
    Term("service client", 1, r"service client (?:inexistant|injoignable|nul)", "fr"),
    Term("worst", 1, r"worst (?:company|service|customer service|experience)", "en"),
    Term("pire", 1, r"pire (?:entreprise|service|experience|societe)", "fr"),
    Term("beware", 1, r"avoid|evitez|fuyez|stay away|beware|warning|mefiez vous", "*"),
    Term("viral", 1, r"viral|virale|buzz|bad buzz|bad press|mauvaise publicite", "*"),
)


@cache
def _compiled() -> tuple[tuple[Term, re.Pattern[str], re.Pattern[str] | None], ...]:
    """Each term with its whole-token regex and, for one-word terms, a hashtag prefix regex."""
    out = []
    for term in TERMS:
        whole = re.compile(rf"(?<!\S)(?:{term.pattern})(?!\S)")
        prefix = re.compile(rf"(?:{term.pattern})") if " " not in term.pattern else None
        out.append((term, whole, prefix))
    return tuple(out)


def severity_terms(text: str) -> list[Term]:
    """The distinct :data:`TERMS` found in ``text``, in lexicon order."""
    toks = tokenize(fold(text))
    words = " ".join(t[1:] if t[:1] in "#@" else t for t in toks)
    hashtags = [t[1:] for t in toks if t.startswith("#")]
    found: list[Term] = []
    for term, whole, prefix in _compiled():
        if whole.search(f" {words} ") or (
            prefix is not None and any(prefix.match(h) for h in hashtags)
        ):
            found.append(term)
    return found


def severity_hits(text: str) -> list[str]:
    """Names of the severity terms matched in ``text`` (distinct, in lexicon order)."""
    return [t.name for t in severity_terms(text)]


def severity(text: str) -> float:
    """Severity of ``text`` in ``[0, 1]``: noisy-or of its distinct terms' strengths."""
    remaining = 1.0
    for term in severity_terms(text):
        remaining *= 1.0 - STRENGTH[term.weight]
    return 1.0 - remaining
