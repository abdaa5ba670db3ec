"""Context rules: the trigger phrases of a rules file, validated and compiled.

Triggers are data (``radminer/text/data/context_rules.json``, see ``docs/context.md``),
compiled once into one case-insensitive, whole-word, longest-match regular expression (from a
character trie of the phrases, which also tells where in a token a trigger may begin). A
:class:`ContextRules` is read-only once built: the per-text work (:meth:`ContextRules.fold`,
:meth:`ContextRules.scan`) returns values and keeps nothing.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from ...errors import RadminerError

__all__ = [
    "STATUS_KINDS",
    "STATUS_OF",
    "ContextRules",
    "ContextRulesError",
    "Folded",
    "Trigger",
    "found_within",
]

logger = logging.getLogger(__name__)

_RULES_FORMAT = "radminer-context-rules/1"
#: Trigger kinds: those that set a status (in the order that breaks ties), and those that only
#: end scopes (``exception``: "apart from", "other than", see :func:`refine`).
STATUS_KINDS = ("negated", "uncertain", "normal", "other_person", "historical", "device")
#: The status each status kind sets: its own name, but ``irrelevant`` for ``other_person``
#: ("family history of", "brother had": what is said of another person is not the patient's),
#: ``historical`` ("history of", "hx of": the patient's history is no finding of the exam) and
#: ``device`` ("catheter tip in the SVC": where a tube or line lies is no finding there).
STATUS_OF: dict[str, str] = {
    **{kind: kind for kind in STATUS_KINDS},
    "other_person": "irrelevant",
    "historical": "irrelevant",
    "device": "irrelevant",
}
_SCOPE_KINDS = ("pseudo", "terminate", "exception")
#: ``adjacent``: only the nearest target on each side ("atelectasis versus pneumonia");
#: ``next``: only the nearest target after the trigger ("borderline enlarged node").
_DIRECTIONS = ("forward", "backward", "adjacent", "next")

#: Keys of a rules file that hold plain lists of phrases (see :class:`ContextRules`).
_PHRASE_LISTS = (
    "lesion_heads", "clause_boundaries", "same_lesion_cues", "clause_openers", "descriptors", "differentials",
    "nature_hedges", "lesion_natures", "nature_words", "mass_effects", "contacts", "questions",
)  # fmt: skip
#: What may come between a hedge and the nature it hedges: "likely (to be) (a)", "probably represents".
_NATURE_LEAD = r"\s*(?:(?:to\s+)?(?:be|represents?|reflects?)\s+)?(?:an?\s+)?"


class ContextRulesError(RadminerError):
    """A context rules file is malformed (unknown keys, a phrase listed under two kinds, ...)."""


#: A cue of punctuation then a word, after optional blanks (no stop or comma between: "effusion
#: (-), ascites" reads the cue backward); a word character.
_QUERY = re.compile(r"[^\w\s,;.]+[^\S\n]*\w")
_WORD_BEFORE = re.compile(r"\w")
#: A number next: "2.0 vs. 2.2 cm" compares measurements, it names no alternatives.
_NUMBER_NEXT = re.compile(r"\s*[-+]?\.?\d")
#: After "no": a period and a number, "no." as the abbreviation of number ("series no. 4").
_NUMBERED = re.compile(r"\.[^\S\n]*\d")
#: A cue written with "not" ("not seen", "wasn't present"), for :data:`_ON_DATED_EXAM`.
_NOT = re.compile(r"\bnot\b|n't\b", re.IGNORECASE)
#: Cues that say normal only as a predicate, at the end of a clause ("trachea free.", "pleura
#: smooth,", "mediastinum centred.", "infection considered."): elsewhere they are adjectives ("free
#: fluid", "smooth wall thickening", "preserved fat planes"), say where ("haematoma centred on the
#: left psoas") or lead to what is judged ("the nodule is considered benign").
_PREDICATES = frozenset({"free", "smooth", "centered", "centred", "preserved", "considered", "ok", "okay", "natural"})
_CLAUSE_END = re.compile(r"[^\S\n]*(?:[.,;:)/]|\n|\Z|and\b)")
#: A size between commas (or before a closing bracket), with perhaps its axis: an apposition, not
#: a clause ("mass, 8.2 cm, displacing", "prostate, 5.4 cm transverse, indenting"; a decimal comma:
#: "PDAC, 2,4 cm, abutting").
#: After a cue that denies a sight ("not seen", "was not present"): on or in an exam named by its
#: date ("not seen on the 2022 exam", "not present on 3/14/23", "not visible in March 2021"): the
#: earlier exam did not show what is there now, as with "not seen on the prior exam".
_ON_DATED_EXAM = re.compile(
    r"[^\S\n]+(?:on|in)[^\S\n]+(?:the[^\S\n]+)?"
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}[/.-](?:19|20)\d\d|(?:[a-z]{3,9}\.?[^\S\n]+)?(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
#: What a denied sight on an earlier exam is: a pseudo-trigger.
_PSEUDO = ("pseudo", True, False, False, False)
_APPOSED_SIZE = r"\d+(?:[.,]\d+)?\s*(?:x\s*\d+(?:[.,]\d+)?\s*)*(?:mm|cm)(?:\s+[a-z]+)?\s*[,)]"


class Trigger(NamedTuple):
    """A trigger found in a text: its character offsets, its kind, and the directions of its scope."""

    start: int
    end: int
    kind: str
    forward: bool
    backward: bool
    adjacent: bool
    next: bool


class Folded(NamedTuple):
    """A text prepared for :meth:`ContextRules.scan` (see :meth:`ContextRules.fold`): ``text``
    lower-cased with the rules' pattern, or, where lower-casing moves offsets, the text itself
    with the case-insensitive pattern (``exact`` false)."""

    text: str
    pattern: re.Pattern[str]
    exact: bool


#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__


def _expand_phrase(phrase: str) -> list[tuple[str, ...]]:
    """``"no new|other? evidence of"`` → every word sequence it stands for."""
    slots: list[list[str | None]] = []
    for word in phrase.split():
        optional = word.endswith("?") and len(word) > 1
        body = word[:-1] if optional else word
        choices: list[str | None] = [w for w in body.split("|") if w] or [body]
        if optional:
            choices.append(None)
        slots.append(choices)
    return [tuple(w for w in combo if w is not None) for combo in itertools.product(*slots) if any(combo)]


def found_within(found: Sequence[Trigger], start: int, end: int) -> list[Trigger] | None:
    """The triggers that :meth:`ContextRules.scan` finds in ``[start, end)``, from ``found`` (what it
    found in a stretch holding it): those inside; None when one of ``found`` crosses ``start`` or
    ``end`` (a scan of the smaller stretch could then find others). ``found`` is sorted and its
    triggers do not overlap, so only its neighbours of ``start`` and ``end`` are looked at."""
    first = bisect_left(found, start, key=_trigger_start)
    after = bisect_left(found, end, lo=first, key=_trigger_start)
    if (first and found[first - 1].end > start) or (after > first and found[after - 1].end > end):
        return None
    return list(found[first:after])


def _trigger_start(trigger: Trigger) -> int:
    return trigger.start


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _phrase_trie(phrases: Iterable[tuple[str, ...]]) -> dict[str, Any]:
    """A character trie of lower-case word sequences: ``" "`` stands for blanks, ``"\\0"`` for
    optional blanks (next to punctuation), key ``""`` for a phrase's end."""
    trie: dict[str, Any] = {}
    for words in phrases:
        key = words[0].lower()
        for previous, word in itertools.pairwise(words):
            key += (" " if _is_word(previous[-1]) and _is_word(word[0]) else "\0") + word.lower()
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return trie


def _phrase_regex(phrases: Iterable[tuple[str, ...]], flags: int = 0) -> re.Pattern[str]:
    """One regex over lower-case word sequences, built from their :func:`_phrase_trie` (fast, longest first).

    Whole words only: a phrase starting (ending) with a word character needs a non-word
    character before (after) it; words are separated by blanks, or optional blanks next to
    punctuation.
    """
    return _trie_regex(_phrase_trie(phrases), flags)


def _trie_regex(trie: dict[str, Any], flags: int = 0) -> re.Pattern[str]:
    def emit(node: dict[str, Any], last: str) -> str:
        branches = [
            (r"\s+" if char == " " else r"\s*" if char == "\0" else re.escape(char)) + emit(child, char)
            for char, child in sorted(node.items())
            if char
        ]
        if "" in node:
            branches.append(r"(?!\w)" if _is_word(last) else "")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    parts = []
    words = {c: n for c, n in trie.items() if _is_word(c)}
    if words:
        parts.append(r"(?<!\w)" + emit(words, ""))
    punctuation = {c: n for c, n in trie.items() if not _is_word(c)}
    if punctuation:
        parts.append(emit(punctuation, ""))
    return re.compile("|".join(parts) or "(?!)", flags)


def _may_start(node: dict[str, Any], token: str, i: int, last: str, *, word_start: bool) -> bool:
    """Whether a phrase of the trie ``node`` may match from ``token[i:]`` on, judged from the
    token alone (a token holds no blanks; a phrase that outlasts the token may match)."""
    if i == len(token):
        return True
    char = token[i]
    if "" in node and not (_is_word(last) and _is_word(char)):
        return True
    blanks = node.get("\0")
    if blanks is not None and _may_start(blanks, token, i, "\0", word_start=True):
        return True
    child = node.get(char) if char != "\0" else None
    return (
        child is not None
        and (word_start or not _is_word(char))
        and _may_start(child, token, i + 1, char, word_start=True)
    )


def _compact(text: str) -> str:
    return "".join(text.lower().split())


def _written(words: Sequence[str]) -> str:
    """Words joined as usually written: a blank between two words, none next to punctuation."""
    out = words[0].lower()
    for previous, word in itertools.pairwise(words):
        out += (" " if _is_word(previous[-1]) and _is_word(word[0]) else "") + word.lower()
    return out


def _common_start(words: Sequence[str]) -> str:
    """The longest start that all ``words`` share."""
    first, last = min(words), max(words)
    return first[: next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))]


class ContextRules:
    """Compiled trigger lists; build once (:meth:`default`, :meth:`from_file`) and reuse.

    ``triggers``: phrase → (kind, directions), kind one of :data:`STATUS_KINDS` (the status it
    sets: :data:`STATUS_OF`) or pseudo | terminate | exception.
    ``window``: the most words between a trigger (or the previous target in its scope) and a
    target. ``lesion_heads``, ``clause_boundaries`` and ``same_lesion_cues`` serve
    :func:`mark_irrelevant`; ``clause_boundaries`` followed by one of ``clause_openers`` ("and a",
    ", there") and ";" end the clauses of :func:`refine`. ``descriptors``: words that describe a
    shape like a finding's ("nodular", "masslike"): a mention written as one is uncertain (see
    :func:`describe`). ``differentials``: uncertainty triggers between alternatives ("versus",
    "and/or") that make them uncertain only in a differential of a lesion (see :func:`refine`).
    ``nature_hedges``: uncertainty triggers that hedge what a lesion is, not where it is
    ("likely", "presumed") when they hedge one of the ``lesion_natures`` (labels of the ontology
    that say what a seen lesion is: "cyst", "hemangioma", ..., and the labels below them): the
    body part that locates it stays positive (see :func:`refine`). ``nature_words``: words that say
    what a lesion is ("benign", "reactive", "malignancy"): a nature hedge whose object is one of them
    or of the ``lesion_natures`` hedges that nature, not the lesion it is said of ("the nodes are
    likely reactive", "low suspicion for malignancy in the nodule"). ``mass_effects``: what a lesion
    does to a structure that is not where it lies ("compressing", "displaced by"): that structure
    is ``irrelevant`` (see :func:`refine`); ``contacts``: what says a structure only touches a lesion
    whose own place is named ("abutting", "adjacent to"): that structure is ``irrelevant`` too.
    ``questions``: uncertainty triggers that ask the
    exam's question ("evaluate for", "rule out"): what they ask about is not uncertain in a row
    whose text answers it later with a negation (see :func:`aggregate`).
    """

    def __init__(
        self,
        triggers: dict[str, tuple[str, frozenset[str]]],
        *,
        window: int = 8,
        lesion_heads: Sequence[str] = (),
        clause_boundaries: Sequence[str] = (),
        same_lesion_cues: Sequence[str] = (),
        clause_openers: Sequence[str] = (),
        descriptors: Sequence[str] = (),
        differentials: Sequence[str] = (),
        nature_hedges: Sequence[str] = (),
        lesion_natures: Sequence[str] = (),
        nature_words: Sequence[str] = (),
        mass_effects: Sequence[str] = (),
        contacts: Sequence[str] = (),
        questions: Sequence[str] = (),
        source: str = "<rules>",
    ) -> None:
        if window < 1:
            raise ContextRulesError(f"{source}: window must be a positive number of words, found {window}")
        self.source = source
        self.window = window
        self.triggers = dict(triggers)
        self._meaning: dict[str, tuple[str, bool, bool, bool, bool]] = {}  # blank-free phrase → meaning
        self._exact: dict[str, tuple[str, bool, bool, bool, bool]] = {}  # phrase as usually written → meaning
        expanded: list[tuple[str, ...]] = []
        for phrase, (kind, directions) in self.triggers.items():
            for words in _expand_phrase(phrase):
                key = _compact("".join(words))
                forward, backward, adjacent, next_ = (d in directions for d in _DIRECTIONS)
                meaning = (kind, forward, backward, adjacent, next_)
                if self._meaning.get(key, meaning) != meaning:
                    raise ContextRulesError(f"{source}: {' '.join(words)!r} is given two meanings")
                self._meaning[key] = meaning
                self._exact[_written(words)] = meaning
                expanded.append(words)
        #: backward cues of punctuation only ("?"): read forward when written before a word and not
        #: against the word before ("?lymphoma", ", ? abscess"; not "effusion?")
        self._queries = {
            phrase: (kind, True, False, adjacent, next_)
            for phrase, (kind, forward, backward, adjacent, next_) in self._exact.items()
            if backward and not forward and not any(c.isalnum() for c in phrase)
        }
        self._trie = _phrase_trie(expanded)
        self._pattern = _trie_regex(self._trie)
        self.lesion_heads = tuple(lesion_heads)
        self.clause_boundaries = tuple(clause_boundaries)
        #: The rules' lesion nouns, their clause boundaries and same-lesion cues, as patterns.
        self.head_pattern = _phrase_regex((w for p in lesion_heads for w in _expand_phrase(p)), re.IGNORECASE)
        self.same_lesion_cues = tuple(same_lesion_cues)
        self.boundary_pattern = _phrase_regex((w for p in clause_boundaries for w in _expand_phrase(p)), re.IGNORECASE)
        self.same_lesion_pattern = _phrase_regex(
            (w for p in same_lesion_cues for w in _expand_phrase(p)), re.IGNORECASE
        )
        self.clause_openers = tuple(clause_openers)
        self.descriptors = frozenset(" ".join(d.lower().split()) for d in descriptors)
        self._plain_rules: ContextRules | None = None
        self.differentials = frozenset(_compact(d) for d in differentials)
        self.nature_hedges = frozenset(_compact("".join(w)) for h in nature_hedges for w in _expand_phrase(h))
        self.questions = frozenset(_compact("".join(w)) for q in questions for w in _expand_phrase(q))
        self.lesion_natures = frozenset(lesion_natures)
        #: What may come between a hedge and its object; that and one of the ``nature_words``.
        self.nature_lead = re.compile(_NATURE_LEAD, re.IGNORECASE)
        natures = _phrase_regex(w for p in nature_words for w in _expand_phrase(p)).pattern
        self.nature_pattern = re.compile(f"{_NATURE_LEAD}(?:{natures})", re.IGNORECASE)
        self.mass_effects = tuple(mass_effects)
        self.contacts = frozenset(_compact("".join(w)) for c in contacts for w in _expand_phrase(c))
        effects = (*mass_effects, *contacts)
        self.mass_effect_pattern = _phrase_regex((w for p in effects for w in _expand_phrase(p)), re.IGNORECASE)
        #: Words one of which is in any lower-cased text that holds a cue, none the start of another
        #: (a cheap test before the pattern, which tries every position): the common start of the
        #: longest words of a cue's forms ("compress", "displac"), or each of them when they share
        #: none ("adjacent", "next", "close" for "adjacent|next|close to").
        stems = set()
        for p in effects:
            longest = [max(w, key=len).lower() for w in _expand_phrase(p)]
            common = _common_start(longest)
            stems.update([common] if len(common) >= 3 else longest)
        self._mass_effect_stems: tuple[str, ...] = ()
        for stem in sorted(stems):
            if not stem.startswith(self._mass_effect_stems):
                self._mass_effect_stems += (stem,)
        openers = _phrase_regex(w for p in clause_openers for w in _expand_phrase(p)).pattern
        #: Where a clause of :func:`~radminer.text.context.refine` ends: ";" or a boundary before an
        #: opener, not before a size set off by commas, which describes what precedes it ("mass,
        #: 8.2 cm, displacing the left kidney").
        self.clause_pattern = re.compile(
            rf";|(?:{self.boundary_pattern.pattern})\s+(?!{_APPOSED_SIZE})(?=(?:{openers}))", re.IGNORECASE
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> ContextRules:
        """Rules from the JSON structure of ``radminer/text/data/context_rules.json``."""
        known = {"format", "about", "window", *_PHRASE_LISTS, *STATUS_KINDS, *_SCOPE_KINDS}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContextRulesError(
                f"{source}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(known))}"
            )
        if data.get("format", _RULES_FORMAT) != _RULES_FORMAT:
            raise ContextRulesError(f"{source}: expected format {_RULES_FORMAT!r}, found {data['format']!r}")
        entries: dict[str, tuple[str, set[str]]] = {}

        def add(phrase: str, kind: str, direction: str) -> None:
            if not isinstance(phrase, str) or not phrase.strip():
                raise ContextRulesError(f"{source}: {kind}: expected a non-empty phrase, found {phrase!r}")
            old_kind, directions = entries.setdefault(phrase, (kind, set()))
            if old_kind != kind:
                raise ContextRulesError(f"{source}: {phrase!r} is listed as {old_kind} and as {kind}")
            directions.add(direction)

        for kind in STATUS_KINDS:
            section = data.get(kind, {})
            bad = sorted(set(section) - set(_DIRECTIONS))
            if bad:
                raise ContextRulesError(
                    f"{source}: {kind}: unknown direction(s) {', '.join(bad)}; allowed: {', '.join(_DIRECTIONS)}"
                )
            for direction in _DIRECTIONS:
                for phrase in section.get(direction, ()):
                    add(phrase, kind, direction)
        for kind in _SCOPE_KINDS:
            for phrase in data.get(kind, ()):
                add(phrase, kind, "forward")
        for key in _PHRASE_LISTS:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
                raise ContextRulesError(f"{source}: {key}: expected a list of non-empty phrases, found {value!r:.200}")
        return cls(
            {p: (k, frozenset(d)) for p, (k, d) in entries.items()},
            window=int(data.get("window", 8)),
            source=source,
            **{key: data.get(key, ()) for key in _PHRASE_LISTS},
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ContextRules:
        """Rules from a JSON file in the format of the shipped one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContextRulesError(f"{path}: cannot read context rules: {exc}") from exc
        if not isinstance(data, dict):
            raise ContextRulesError(f"{path}: expected a JSON object, found {type(data).__name__}")
        return cls.from_dict(data, source=str(path))

    @staticmethod
    @lru_cache(maxsize=1)
    def default() -> ContextRules:
        """The shipped radiology rules (read once per process)."""
        text = resources.files("radminer.text").joinpath("data/context_rules.json").read_text(encoding="utf-8")
        rules = ContextRules.from_dict(json.loads(text), source="radminer/text/data/context_rules.json")
        logger.debug("context rules: %d phrases, window %d", len(rules.triggers), rules.window)
        return rules

    def __repr__(self) -> str:
        return f"<ContextRules {self.source!r}: {len(self.triggers)} phrases, window {self.window}>"

    def find_triggers(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
        """``(start, end, kind)`` of every trigger in ``text[start:end]``, left to right."""
        return [(t.start, t.end, t.kind) for t in self.scan(self.fold(text), start, len(text) if end is None else end)]

    def trigger_offsets(self, token: str) -> tuple[int, ...]:
        """Offsets in ``token`` (a word or punctuation, no blanks) where a trigger may begin.

        A superset, judged from the token alone: give the text positions of these offsets
        to :func:`assign_context` (``trigger_starts``) and only those are tried.
        """
        lower = token.lower()
        if len(lower) != len(token):
            return tuple(range(len(token)))
        # the first step of _may_start from the trie's root (which holds no phrase end and no
        # blank), done here: most offsets of a token fail it
        trie, out = self._trie, []
        for k, char in enumerate(lower):
            child = trie.get(char)
            if child is None or not (k == 0 or not _is_word(lower[k - 1]) or not _is_word(char)):
                continue
            if _may_start(child, lower, k + 1, char, word_start=True):
                out.append(k)
        return tuple(out)

    def is_differential(self, phrase: str) -> bool:
        """Whether ``phrase`` (a trigger's text) is one of the rules' ``differentials``."""
        return _compact(phrase) in self.differentials

    def hedges_next(self, phrase: str) -> bool:
        """Whether ``phrase`` (a trigger's text) reaches only the nearest target after it ("borderline")."""
        meaning = self._exact.get(phrase.lower()) or self._meaning.get(_compact(phrase))
        return meaning is not None and meaning[4] and not (meaning[1] or meaning[2])

    def mass_effect_cues(self, folded: Folded, start: int, end: int) -> list[re.Match[str]]:
        """The ``mass_effects`` and ``contacts`` cues of ``folded.text[start:end]`` (``folded``: by
        :meth:`fold`)."""
        text = folded.text
        if folded.exact and not any(text.find(stem, start, end) >= 0 for stem in self._mass_effect_stems):
            return []  # (a lower-cased text holds a cue's first word if it holds the cue)
        return list(self.mass_effect_pattern.finditer(text, start, end))

    def kind_of(self, phrase: str) -> str | None:
        """The kind of ``phrase`` (a trigger's text) in these rules, or None when it is none of theirs."""
        meaning = self._meaning.get(_compact(phrase))
        return None if meaning is None else meaning[0]

    def is_nature_hedge(self, phrase: str) -> bool:
        """Whether ``phrase`` (a trigger's text) is one of the rules' ``nature_hedges``."""
        return _compact(phrase) in self.nature_hedges

    def is_contact(self, phrase: str) -> bool:
        """Whether ``phrase`` (a cue of :meth:`mass_effect_cues`) is one of the rules' ``contacts``."""
        return _compact(phrase) in self.contacts

    def without_differential_cues(
        self, folded: Folded, found: Sequence[Trigger], start: int, end: int
    ) -> list[Trigger] | None:
        """The triggers that :meth:`without_differentials` finds in ``folded.text[start:end]``, taken
        from ``found`` (what :meth:`scan` found in a stretch holding it) without a second pattern:
        :func:`found_within` minus the differential cues. None where that might differ: a trigger
        of ``found`` crosses ``start`` or ``end``, or another may begin inside a cue ("or
        possibly" inside "and/or possibly")."""
        inside = found_within(found, start, end)
        if inside is None:
            return None
        text, is_cue, match = folded.text, self.is_differential, folded.pattern.match
        out = []
        for t in inside:
            if not is_cue(text[t.start : t.end]):
                out.append(t)
            elif any(match(text, p, end) for p in range(t.start + 1, t.end)):
                return None
        return out

    def without_differentials(self) -> ContextRules:
        """These rules without the differential cues (see :func:`refine`), built on first use
        (an attribute, not a ``cached_property``: the compiled build does not cache those)."""
        if self._plain_rules is None:
            triggers = {p: meaning for p, meaning in self.triggers.items() if _compact(p) not in self.differentials}
            self._plain_rules = ContextRules(triggers, window=self.window, source=self.source)
        return self._plain_rules

    @cached_property
    def _pattern_ignorecase(self) -> re.Pattern[str]:
        """The trigger pattern, case-insensitive (for texts whose lower-casing moves offsets; compiled then)."""
        return re.compile(self._pattern.pattern, re.IGNORECASE)

    def folds_exactly(self, text: str) -> bool:
        """Whether lower-casing keeps the offsets of ``text``: then only the ``trigger_starts``
        given to :func:`assign_context` are tried (else the whole stretch is searched)."""
        return self.fold(text).exact

    def fold(self, text: str) -> Folded:
        """``text`` lower-cased with the matching pattern (case-insensitive where lowering moves
        offsets), for :meth:`scan`. A pure function: a caller that scans one text many times
        (one row per bookmark) keeps the result."""
        lower = text.lower()
        if len(lower) == len(text):
            return Folded(lower, self._pattern, True)
        return Folded(text, self._pattern_ignorecase, False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plain_rules": None}

    def scan(self, folded: Folded, start: int, end: int, starts: Iterable[int] | None = None) -> list[Trigger]:
        """The triggers of ``folded.text[start:end]`` (``folded``: by :meth:`fold` of these rules),
        as ``finditer`` finds them; ``starts``: the ascending positions where one may begin (a
        superset, see :meth:`trigger_offsets`; used when the fold is exact)."""
        text, pattern = folded.text, folded.pattern
        if starts is None or not folded.exact:
            found = list(pattern.finditer(text, start, end))
        else:
            found, match, position = [], pattern.match, start
            for p in starts:
                if p >= position:
                    if p >= end:
                        break
                    m = match(text, p, end)
                    if m is not None:
                        found.append(m)
                        position = m.end()
        exact, meaning, queries = self._exact, self._meaning, self._queries
        out = []
        for m in found:
            written, at = m.group(), m.start()
            if written in queries and _QUERY.match(text, at) and not (at and _WORD_BEFORE.match(text, at - 1)):
                out.append(_new(Trigger, (at, m.end(), *queries[written])))  # "?lymphoma", ", ? abscess"
                continue
            if len(written) == 2 and written.lower() == "no" and _NUMBERED.match(text, m.end()):
                continue  # "image no. 56"
            if written.lower() in _PREDICATES and not _CLAUSE_END.match(text, m.end()):
                continue  # "free fluid": an adjective
            found_meaning = exact.get(written) or meaning[_compact(written)]
            if found_meaning[3] and _NUMBER_NEXT.match(text, m.end()):  # an adjacent cue between numbers
                continue
            if found_meaning[0] == "negated" and found_meaning[2] and _ON_DATED_EXAM.match(text, m.end()):
                found_meaning = _PSEUDO if _NOT.search(written) else found_meaning  # "not seen on the 2022 exam"
            out.append(_new(Trigger, (at, m.end(), *found_meaning)))
        return out
