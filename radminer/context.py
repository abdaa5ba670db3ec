"""Context of mentions: negation, uncertainty, relevance to the bookmarked lesion, exclusive labels.

ConText-style (Harkema et al. 2009) on character offsets, so the stage does not depend on how
the text was tokenized or how mentions were matched. Triggers are data
(``radminer/data/context_rules.json``, see ``docs/context.md``), compiled once into one
case-insensitive, whole-word, longest-match regular expression.

Interface for the Extractor (all offsets are character offsets into ``text``)::

    rules = ContextRules.default()                          # once; read-only, picklable
    ctx = assign_context(text, [(m.start, m.end) for m in mentions],
                         rules=rules, sentences=[(s.start_char, s.end_char) for s in doc.sents])
    mentions = [with_context(m, c) for m, c in zip(mentions, ctx)]
    refine(text, mentions, graph, rules=rules, sentences=..., headers=..., bookmark=offset)
    describe(mentions, rules)                               # "nodular": uncertain
    # bookmark mode, on the mentions of the bookmarked sentence (bookmark: its char offset):
    mentions = mark_irrelevant(text, mentions, graph, bookmark=offset, rules=rules)
    mentions = resolve_exclusive(mentions, graph, bookmark=offset)
    labels, uncertain, negated = aggregate(mentions, graph)

``apply_context(doc, spans)`` does the first two lines for a spaCy ``Doc`` and its ``Span``\\ s.

Rules, in brief: a forward trigger ("no", "possible") covers the targets after it, a backward
trigger ("is not seen", "cannot be excluded") those before it; a scope ends at the sentence end,
at the next trigger of any kind (terminators "but", "however", "which", ";" and pseudo-triggers
such as "no change in" exist only to end scopes), or when more than ``window`` words separate
the trigger, or the previous target in scope, from the next target (so enumerations chain: "No
consolidation, effusion, or pneumothorax" negates all three). A target in several scopes takes
the nearest trigger (negation first on a tie). :func:`refine` then applies what needs the labels'
categories, clauses and headers (normal organs with a lesion, exceptions, differentials, header
values); see docs/context.md.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from importlib import resources
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import RadminerError
from .mentions import Mention

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

    from .graph import LabelGraph

__all__ = [
    "Context",
    "ContextRules",
    "ContextRulesError",
    "Header",
    "aggregate",
    "apply_context",
    "assign_context",
    "describe",
    "mark_irrelevant",
    "refine",
    "resolve_exclusive",
    "split_sentences",
    "with_context",
]

logger = logging.getLogger(__name__)

RULES_FORMAT = "radminer-context-rules/1"
#: Trigger kinds: the three that set a status (in the order that breaks ties), and those that only
#: end scopes (``exception``: "apart from", "other than", see :func:`refine`).
STATUS_KINDS = ("negated", "uncertain", "normal")
SCOPE_KINDS = ("pseudo", "terminate", "exception")
#: ``adjacent``: only the nearest target on each side ("atelectasis versus pneumonia");
#: ``next``: only the nearest target after the trigger ("borderline enlarged node").
DIRECTIONS = ("forward", "backward", "adjacent", "next")
#: Category of the labels that name a lesion (heads of clauses in :func:`mark_irrelevant`).
HEAD_CATEGORY = "type"

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


#: Keys of a rules file that hold plain lists of phrases (see :class:`ContextRules`).
_PHRASE_LISTS = (
    "lesion_heads", "clause_boundaries", "same_lesion_cues", "clause_openers", "descriptors", "differentials",
)  # fmt: skip


class ContextRulesError(RadminerError):
    """A context rules file is malformed (unknown keys, a phrase listed under two kinds, ...)."""


class Context(NamedTuple):
    """Status of one target and the trigger that set it (``None`` fields when positive).

    Field names are those of :class:`~radminer.mentions.Mention`, so
    :func:`with_context` applies it to a mention.
    """

    status: str = "positive"
    trigger: str | None = None
    trigger_start: int | None = None
    trigger_end: int | None = None


POSITIVE = Context()


def with_context(mention: Mention, context: Context) -> Mention:
    """``mention`` with the status and trigger of ``context`` (itself when nothing changes)."""
    if context is POSITIVE and mention.status == "positive" and mention.trigger is None:
        return mention
    return Mention(mention.label, mention.text, mention.start, mention.end, *context, mention.section)


class _Trigger(NamedTuple):
    start: int
    end: int
    kind: str
    forward: bool
    backward: bool
    adjacent: bool
    next: bool


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


class ContextRules:
    """Compiled trigger lists; build once (:meth:`default`, :meth:`from_file`) and reuse.

    ``triggers``: phrase → (kind, directions), kind in negated | uncertain | pseudo | terminate.
    ``window``: the most words between a trigger (or the previous target in its scope) and a
    target. ``lesion_heads``, ``clause_boundaries`` and ``same_lesion_cues`` serve
    :func:`mark_irrelevant`; ``clause_boundaries`` followed by one of ``clause_openers`` ("and a",
    ", there") and ";" end the clauses of :func:`refine`. ``descriptors``: words that describe a
    shape like a finding's ("nodular", "masslike"): a mention written as one is uncertain (see
    :func:`describe`). ``differentials``: uncertainty triggers between alternatives ("versus",
    "and/or") that make them uncertain only in a differential of a lesion (see :func:`refine`).
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
                forward, backward, adjacent, next_ = (d in directions for d in DIRECTIONS)
                meaning = (kind, forward, backward, adjacent, next_)
                if self._meaning.get(key, meaning) != meaning:
                    raise ContextRulesError(f"{source}: {' '.join(words)!r} is given two meanings")
                self._meaning[key] = meaning
                self._exact[_written(words)] = meaning
                expanded.append(words)
        self._trie = _phrase_trie(expanded)
        self._last_fold: tuple[str, tuple[str, re.Pattern[str]]] | None = None
        self._pattern = _trie_regex(self._trie)
        self.lesion_heads = tuple(lesion_heads)
        self.clause_boundaries = tuple(clause_boundaries)
        self._heads = _phrase_regex((w for p in lesion_heads for w in _expand_phrase(p)), re.IGNORECASE)
        self.same_lesion_cues = tuple(same_lesion_cues)
        self._boundaries = _phrase_regex((w for p in clause_boundaries for w in _expand_phrase(p)), re.IGNORECASE)
        self._same_lesion = _phrase_regex((w for p in same_lesion_cues for w in _expand_phrase(p)), re.IGNORECASE)
        self.clause_openers = tuple(clause_openers)
        self.descriptors = frozenset(" ".join(d.lower().split()) for d in descriptors)
        self._plain_rules: ContextRules | None = None
        self.differentials = frozenset(_compact(d) for d in differentials)
        openers = _phrase_regex(w for p in clause_openers for w in _expand_phrase(p)).pattern
        self._clause = re.compile(rf";|(?:{self._boundaries.pattern})\s+(?=(?:{openers}))", re.IGNORECASE)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> ContextRules:
        """Rules from the JSON structure of ``radminer/data/context_rules.json``."""
        known = {
            "format", "about", "window", "lesion_heads", "clause_boundaries", "same_lesion_cues", "clause_openers",
            "descriptors", "differentials",
            *STATUS_KINDS, *SCOPE_KINDS,
        }  # fmt: skip
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContextRulesError(
                f"{source}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(known))}"
            )
        if data.get("format", RULES_FORMAT) != RULES_FORMAT:
            raise ContextRulesError(f"{source}: expected format {RULES_FORMAT!r}, found {data['format']!r}")
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
            bad = sorted(set(section) - set(DIRECTIONS))
            if bad:
                raise ContextRulesError(
                    f"{source}: {kind}: unknown direction(s) {', '.join(bad)}; allowed: {', '.join(DIRECTIONS)}"
                )
            for direction in DIRECTIONS:
                for phrase in section.get(direction, ()):
                    add(phrase, kind, direction)
        for kind in SCOPE_KINDS:
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
        text = resources.files("radminer").joinpath("data/context_rules.json").read_text(encoding="utf-8")
        rules = ContextRules.from_dict(json.loads(text), source="radminer/data/context_rules.json")
        logger.debug("context rules: %d phrases, window %d", len(rules.triggers), rules.window)
        return rules

    def __repr__(self) -> str:
        return f"<ContextRules {self.source!r}: {len(self.triggers)} phrases, window {self.window}>"

    def find_triggers(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
        """``(start, end, kind)`` of every trigger in ``text[start:end]``, left to right."""
        folded = self._fold(text)
        return [(t.start, t.end, t.kind) for t in self._triggers(folded, start, len(text) if end is None else end)]

    def trigger_offsets(self, token: str) -> tuple[int, ...]:
        """Offsets in ``token`` (a word or punctuation, no blanks) where a trigger may begin.

        A superset, judged from the token alone: give the text positions of these offsets
        to :func:`assign_context` (``trigger_starts``) and only those are tried.
        """
        lower = token.lower()
        if len(lower) != len(token):
            return tuple(range(len(token)))
        return tuple(
            k
            for k in range(len(lower))
            if _may_start(self._trie, lower, k, "", word_start=k == 0 or not _is_word(lower[k - 1]))
        )

    def _plain(self) -> ContextRules:
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
        return self._fold(text)[1] is self._pattern

    def _fold(self, text: str) -> tuple[str, re.Pattern[str]]:
        """``text`` lower-cased with the matching pattern (case-insensitive where lowering moves offsets).

        The last text's is kept: the rows of one text (one per bookmark) fold it once.
        """
        last = self._last_fold
        if last is not None and last[0] is text:
            return last[1]
        lower = text.lower()
        folded = (lower, self._pattern) if len(lower) == len(text) else (text, self._pattern_ignorecase)
        self._last_fold = (text, folded)
        return folded

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_last_fold": None, "_plain_rules": None}

    def _triggers(
        self, folded: tuple[str, re.Pattern[str]], start: int, end: int, starts: Iterable[int] | None = None
    ) -> list[_Trigger]:
        """The triggers of ``folded[0][start:end]``, as ``finditer`` finds them; ``starts``: the
        ascending positions where one may begin (a superset, see :meth:`trigger_offsets`)."""
        text, pattern = folded
        if starts is None or pattern is not self._pattern:
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
        exact, meaning = self._exact, self._meaning
        out = []
        for m in found:
            written = m.group()
            out.append(_Trigger(m.start(), m.end(), *(exact.get(written) or meaning[_compact(written)])))
        return out


def _more_words(text: str, start: int, end: int, limit: int) -> bool:
    """Whether ``text[start:end]`` holds more than ``limit`` words (a word and a separator per
    word but the last: a stretch of ``2 * limit`` characters or fewer cannot)."""
    return end - start > 2 * limit and len(_WORD.findall(text, start, end)) > limit


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Fallback sentence bounds: after ``.``/``!``/``?`` followed by blanks, or at blank lines."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return bounds


def assign_context(
    text: str,
    targets: Sequence[tuple[int, int]],
    *,
    rules: ContextRules | None = None,
    sentences: Sequence[tuple[int, int]] | None = None,
    trigger_starts: Iterable[int] | None = None,
) -> list[Context]:
    """The :class:`Context` of each target ``(start_char, end_char)`` of ``text``, in order.

    ``sentences``: sorted ``(start_char, end_char)`` bounds (the analyzer's); default
    :func:`split_sentences`. Only the stretch from the first to the last sentence holding a
    target is scanned for triggers; a trigger that overlaps a target is ignored.
    ``trigger_starts``: ascending positions where a trigger may begin (see
    :meth:`ContextRules.trigger_offsets`); default: every position.
    """
    out = [POSITIVE] * len(targets)
    if targets:
        sentences = split_sentences(text) if sentences is None else sentences
        bounds = [s for s, _ in sentences], [e for _, e in sentences]
        for p, context in statuses(text, targets, rules or ContextRules.default(), *bounds, trigger_starts).items():
            out[p] = context
    return out


def statuses(
    text: str,
    targets: Sequence[tuple[int, int]],
    rules: ContextRules,
    sentence_starts: Sequence[int],
    sentence_ends: Sequence[int],
    trigger_starts: Iterable[int] | None,
    *,
    found: Sequence[_Trigger] | None = None,
) -> dict[int, Context]:
    """:func:`assign_context` for the non-empty ``targets``, sentences given as their starts and
    ends: position in ``targets`` → context, for the targets that are not positive. ``found``:
    the triggers of the sentences, when the caller has looked for them already."""
    spans = sorted(targets)
    order = None if spans == targets else sorted(range(len(targets)), key=targets.__getitem__)
    if found is None:
        first = sentence_starts[max(bisect_right(sentence_starts, spans[0][0]) - 1, 0)]
        last = max(sentence_ends[max(bisect_right(sentence_starts, spans[-1][0]) - 1, 0)], *map(itemgetter(1), spans))
        found = rules._triggers(rules._fold(text), first, last, trigger_starts)
    triggers = found
    starts = list(map(itemgetter(0), spans))
    if triggers:  # a trigger inside a target (a term holding "other than") neither sets nor ends scopes
        triggers = [t for t in triggers if not _overlaps(spans, starts, t.start, t.end)]
    window = rules.window
    best: dict[int, tuple[int, int, _Trigger]] = {}  # position in spans → (distance, tie-break, trigger)
    for n, trigger in enumerate(triggers):
        if trigger.kind not in STATUS_KINDS:
            continue
        j = bisect_right(starts, trigger.start)  # spans[j:] start after the trigger's start
        k = max(bisect_right(sentence_starts, trigger.start) - 1, 0)
        after = min(triggers[n + 1].start, sentence_ends[k]) if n + 1 < len(triggers) else sentence_ends[k]
        before = max(triggers[n - 1].end, sentence_starts[k]) if n > 0 else sentence_starts[k]
        rank = STATUS_KINDS.index(trigger.kind)
        for forward in (True, False):
            if trigger.forward if forward else trigger.backward:
                reach = _reach(text, spans, j, trigger, forward, after if forward else before, window, chain=True)
            elif trigger.adjacent or (forward and trigger.next):
                reach = _reach(text, spans, j, trigger, forward, after if forward else before, window, chain=False)
            else:
                continue
            for p, distance in reach:
                if p not in best or (distance, rank) < best[p][:2]:
                    best[p] = (distance, rank, trigger)
    return {
        p if order is None else order[p]: Context(trigger.kind, text[trigger.start : trigger.end], *trigger[:2])
        for p, (_, _, trigger) in best.items()
    }


def _overlaps(spans: Sequence[tuple[int, int]], starts: list[int], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted ``spans`` (``starts``: their starts)."""
    j = bisect_right(starts, start)
    return (j < len(spans) and spans[j][0] < end) or (j > 0 and spans[j - 1][1] > start)


def _reach(
    text: str,
    spans: Sequence[tuple[int, int]],
    j: int,
    trigger: _Trigger,
    forward: bool,
    limit: int,
    window: int,
    *,
    chain: bool,
) -> list[tuple[int, int]]:
    """``(position, distance)`` of the sorted ``spans`` in one direction of ``trigger``'s scope.

    ``spans[j:]`` start after the trigger. The scope stops at ``limit``, or at a gap of more
    than ``window`` words from the trigger or the previous target; ``chain=False`` keeps only
    the nearest target (and those overlapping it).
    """
    out: list[tuple[int, int]] = []
    anchor = trigger.end if forward else trigger.start
    for p in range(j, len(spans)) if forward else range(j - 1, -1, -1):
        start, end = spans[p]
        if forward:
            beyond, gap = end > limit, (anchor, start)
        else:
            beyond, gap = start < limit, (end, anchor)
        if beyond or (gap[1] > gap[0] and ((out and not chain) or _more_words(text, *gap, window))):
            break
        out.append((p, start - trigger.end if forward else trigger.start - end))
        anchor = max(anchor, end) if forward else min(anchor, start)
    return out


def apply_context(doc: Doc, spans: Iterable[Span], *, rules: ContextRules | None = None) -> list[Context]:
    """:func:`assign_context` for spaCy ``spans`` of ``doc`` (sentences from ``doc.sents`` when set)."""
    bounds = [(s.start_char, s.end_char) for s in doc.sents] if doc.has_annotation("SENT_START") else None
    return assign_context(doc.text, [(s.start_char, s.end_char) for s in spans], rules=rules, sentences=bounds)


def mark_irrelevant(
    text: str,
    mentions: Sequence[Mention],
    graph: LabelGraph,
    *,
    bookmark: int,
    rules: ContextRules | None = None,
    categories: Mapping[str, str | None] | None = None,
    made: dict[Mention, Mention] | None = None,
) -> list[Mention]:
    """Mentions of ``text`` (one bookmarked sentence) with those about another lesion ``irrelevant``.

    Lesion heads are mentions whose label has category ``type`` plus the rules' head nouns
    ("lesion", "node", ...). Between two consecutive heads, the last clause boundary ("and",
    ",", ";", "as well as", ...) cuts the sentence into clauses, unless an interpretation cue
    (an uncertainty trigger or a same-lesion cue such as "likely", "consistent with", "which")
    follows it before the next head: "nodule BOOKMARK, likely adenoma" is one lesion. Heads
    with no boundary between them ("cystic mass lesion") share one clause. Mentions outside
    the clause that holds ``bookmark`` (a character offset) become ``irrelevant``. Fewer than
    two clauses: unchanged. ``categories``: label → category of the graph's labels, when the
    caller keeps it. ``made``: mention → its irrelevant copy, taken from and added to (the rows
    of one sentence share them).
    """
    rules = rules or ContextRules.default()
    if not mentions:
        return []
    lo = min(bookmark, min([m.start for m in mentions]))
    hi = max(bookmark + 1, max([m.end for m in mentions]))
    if categories is None:
        categories = {m.label: graph.category(m.label) for m in mentions if m.label in graph}
    category = categories.get
    heads = sorted(
        [(m.start, m.end) for m in mentions if category(m.label) == HEAD_CATEGORY]
        + [match.span() for match in rules._heads.finditer(text, lo, hi)]
    )
    merged: list[tuple[int, int]] = []
    for start, end in heads:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    if len(merged) < 2:
        return list(mentions)
    boundaries = [match.span() for match in rules._boundaries.finditer(text, lo, hi)]
    boundary_starts = [b[0] for b in boundaries]
    folded = rules._fold(text)

    def cut_after(n: int) -> int | None:
        """The cut between heads ``n`` and ``n + 1``, if any (it lies between them)."""
        left_end, right_start = merged[n][1], merged[n + 1][0]
        last = bisect_left(boundary_starts, right_start) - 1  # the last boundary starting before the next head
        if last < 0 or boundary_starts[last] < left_end:
            return None
        cut, after = boundaries[last]
        same = rules._same_lesion.search(text, after, right_start) or any(
            t.kind == "uncertain" for t in rules._triggers(folded, after, right_start)
        )
        return None if same else cut

    # Only the nearest cut on each side of the bookmark bounds its clause; cuts ascend with the
    # heads, so they are looked for from the bookmark outwards (a sentence may hold many heads).
    pairs = len(merged) - 1
    before = after = None
    for n in range(min(bisect_right(merged, bookmark, key=itemgetter(1)), pairs) - 1, -1, -1):
        cut = cut_after(n)
        if cut is not None and cut <= bookmark:
            before = cut
            break
    for n in range(max(bisect_right(merged, bookmark, key=itemgetter(0)) - 1, 0), pairs):
        cut = cut_after(n)
        if cut is not None and cut > bookmark:
            after = cut
            break
    if before is None and after is None:
        return list(mentions)
    made = {} if made is None else made
    irrelevant = Context("irrelevant")
    out = list(mentions)
    for p, m in enumerate(mentions):
        if (before is not None and m.start < before) or (after is not None and m.start >= after):
            copy = made.get(m)
            out[p] = copy if copy is not None else made.setdefault(m, with_context(m, irrelevant))
    return out


class Header(NamedTuple):
    """A header in character offsets: ``start``-``end`` the header with its colon, ``body_end``
    the end of the text under it (the next header, or the end); ``organ``: it names a body part."""

    start: int
    end: int
    body_end: int
    organ: bool


#: Categories of the labels that refine() treats apart: body parts (locations) and lesion types.
BODYPART_CATEGORY = "bodypart"
_FINDING_RANK = {"positive": 0, "uncertain": 1, "negated": 2, "normal": 3}


def describe(mentions: list[Mention], rules: ContextRules) -> list[Mention]:
    """Positive mentions written as one of the rules' ``descriptors`` become ``uncertain`` (their
    own text is the trigger): "nodular opacity" describes a shape, it does not assert a nodule.
    ``mentions`` is updated in place and returned."""
    descriptors = rules.descriptors
    if descriptors:
        for p, m in enumerate(mentions):
            if m.status == "positive" and m.text.lower() in descriptors:
                mentions[p] = _status(m, Context("uncertain", m.text, m.start, m.end))
    return mentions


def refine(
    text: str,
    mentions: list[Mention],
    graph: LabelGraph,
    *,
    rules: ContextRules,
    sentences: Sequence[tuple[int, int]],
    headers: Sequence[Header] = (),
    bookmark: int | None = None,
    categories: Mapping[str, str | None] | None = None,
    found: Sequence[_Trigger] | None = None,
) -> list[Mention]:
    """Statuses that depend on what the labels are, on clauses and on headers (after
    :func:`assign_context`; ``mentions`` sorted by start, updated in place and returned).
    ``categories``: label → category of the graph's labels, when the caller keeps it;
    ``found``: the triggers of the sentences, when the caller has looked for them already.

    A *lesion* is a positive finding (a label that is not a body part), a lesion noun of the
    rules ("lesion", "focus", ...) that no negation or normal statement covers, or the bookmark.

    - A lesion type is never ``normal`` ("normal" before "hemangioma" says nothing of its presence).
    - Differentials ("versus", "and/or"): the alternatives are uncertain when they interpret a
      lesion (a lesion noun before the cue or among them: "adrenal nodule, adenoma versus
      metastasis"); between processes they are positive, as the image shows one or both
      ("streaky opacity, atelectasis versus scarring", "effusion and/or atelectasis").
    - Exceptions: mentions negated before "apart from", "other than", "except" ... are positive
      again when what the cue excepts is a lesion without a body part of its own (the body
      parts: "no splenic lesions apart from a small cyst"), or names no lesion at all (all of
      them: "no free fluid except for a small amount in the pelvis").
    - Clauses (a sentence cut at ";" and at a clause boundary before an opener such as "and a"):
      a body part or attribute said to be normal is positive again when its clause holds a
      lesion ("the liver is normal in size with a 2 cm hypodense lesion"); a positive body part
      whose clause holds findings, all negated or normal, and no lesion is ``normal`` ("the
      spleen is not enlarged", "the lungs are free of nodules").
    - Headers: the mentions of a header take the status of the one status cue of the first
      sentence under it when that sentence names no label ("Pneumothorax: none.", "Liver:
      normal in size."); else an organ header's body parts take the best status of the
      findings and lesion nouns under it ("LUNGS: No nodules." → negated).
    """
    if not mentions or (not headers and all(m.status == "positive" for m in mentions)):
        return mentions
    if categories is None:
        categories = {m.label: graph.category(m.label) for m in mentions if m.label in graph}
    kinds = [categories.get(m.label) for m in mentions]
    is_part = [k == BODYPART_CATEGORY for k in kinds]
    for p, m in enumerate(mentions):
        if m.status == "normal" and kinds[p] == HEAD_CATEGORY:
            mentions[p] = _status(m, POSITIVE)
    if found is None:
        found = rules._triggers(rules._fold(text), sentences[0][0], sentences[-1][1])
    exceptions = any(t.kind == "exception" for t in found)
    k, last = 0, len(sentences) - 1
    groups: list[tuple[int, list[int]]] = []  # (sentence, its mentions); mentions are sorted by start
    for p, m in enumerate(mentions):
        while k < last and sentences[k + 1][0] <= m.start:
            k += 1
        if groups and groups[-1][0] == k:
            groups[-1][1].append(p)
        else:
            groups.append((k, [p]))
    for k, members in groups:
        uncertain = negated = normal = positive_part = unfound = False
        for p in members:
            status = mentions[p].status
            if status == "positive":
                positive_part = positive_part or is_part[p]
            elif status == "uncertain":
                uncertain = True
            else:
                normal = normal or status == "normal"
                negated = negated or status == "negated"
                unfound = unfound or not is_part[p]
        if uncertain and rules.differentials:
            _differentials(text, mentions, members, rules, found, sentences[k])
        if negated and exceptions:
            _exceptions(text, mentions, members, is_part, rules, found, sentences[k][1])
        if normal or (positive_part and unfound):
            _clauses(text, mentions, members, is_part, rules, found, sentences[k], bookmark)
    for header in headers:
        _header(text, mentions, is_part, rules, found, header, sentences)
    return mentions


def _status(mention: Mention, context: Context) -> Mention:
    return Mention(mention.label, mention.text, mention.start, mention.end, *context, mention.section)


def _lesion_nouns(text: str, start: int, end: int, rules: ContextRules, found: Sequence[_Trigger]) -> list[Context]:
    """The contexts of the lesion nouns of ``text[start:end]`` that are not part of a trigger
    (``found``: the triggers of the text around)."""
    heads = [match.span() for match in rules._heads.finditer(text, start, end)]
    if not heads:
        return []
    near = found[bisect_right(found, start, key=_end) : bisect_left(found, end, key=_start)]
    heads = [h for h in heads if not any(t.start < h[1] and h[0] < t.end for t in near)]
    if not heads:
        return []
    contexts = statuses(text, heads, rules, [start], [end], None)
    return [contexts.get(p, POSITIVE) for p in range(len(heads))]


def _asserted(contexts: Iterable[Context]) -> bool:
    """Whether one of the lesion nouns of ``contexts`` is not negated (a lesion is never normal)."""
    return any(c.status != "negated" for c in contexts)


def _differentials(
    text: str,
    mentions: list[Mention],
    members: list[int],
    rules: ContextRules,
    found: Sequence[_Trigger],
    sentence: tuple[int, int],
) -> None:
    """The differential rule of :func:`refine` for the mentions ``members`` of one sentence."""
    alternatives: dict[int, list[int]] = {}  # trigger start → the mentions it made uncertain
    for p in members:
        m = mentions[p]
        if m.status == "uncertain" and m.trigger is not None and _compact(m.trigger) in rules.differentials:
            alternatives.setdefault(m.trigger_start or 0, []).append(p)
    for trigger, group in alternatives.items():
        lesion = any(rules._heads.search(text, mentions[p].start, mentions[p].end) for p in group) or any(
            c.status != "negated" for c in _lesion_nouns(text, sentence[0], trigger, rules, found)
        )
        if not lesion:  # the status the alternatives have without the differential cues
            spans = [(mentions[p].start, mentions[p].end) for p in group]
            contexts = statuses(text, spans, rules._plain(), [sentence[0]], [sentence[1]], None)
            for n, p in enumerate(group):
                mentions[p] = _status(mentions[p], contexts.get(n, POSITIVE))


def _exceptions(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[_Trigger],
    sentence_end: int,
) -> None:
    """The exception rule of :func:`refine` for the mentions ``members`` of one sentence."""
    negated = [p for p in members if mentions[p].status == "negated"]
    first = min(mentions[p].end for p in negated)
    cues = [t for t in _starting_in(found, first, sentence_end) if t.kind == "exception"]
    for cue in cues:
        after = [q for q in members if mentions[q].start >= cue.end]
        lesion = any(not is_part[q] and mentions[q].status == "positive" for q in after) or _asserted(
            _lesion_nouns(text, cue.end, sentence_end, rules, found)
        )
        located = any(is_part[q] for q in after)
        for p in negated:
            m = mentions[p]
            if m.status == "negated" and m.end <= cue.start and (not lesion or (is_part[p] and not located)):
                mentions[p] = _status(m, POSITIVE)


def _clauses(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[_Trigger],
    sentence: tuple[int, int],
    bookmark: int | None,
) -> None:
    """The clause rules of :func:`refine` for the mentions ``members`` of one sentence."""
    start, end = sentence
    if not (
        any(mentions[p].status == "positive" and not is_part[p] for p in members)
        or (bookmark is not None and start <= bookmark < end)
        or rules._heads.search(text, start, end)
    ) and not any(is_part[p] and mentions[p].status == "positive" for p in members):
        return  # no lesion to restore a normal part for, and no part to find normal
    cuts = [match.end() for match in rules._clause.finditer(text, start, end)]
    bounds = [start, *cuts, end]
    for c, group in itertools.groupby(members, key=lambda p: bisect_right(cuts, mentions[p].start)):
        inside = list(group)  # members are sorted by start: their clauses come in order
        findings = [mentions[p].status for p in inside if not is_part[p]]
        normal = [p for p in inside if mentions[p].status == "normal"]
        unfound = findings and all(s in ("negated", "normal") for s in findings)
        bare = [p for p in inside if is_part[p] and mentions[p].status == "positive"] if unfound else []
        if not normal and not bare:
            continue
        lo, hi = bounds[c], bounds[c + 1]
        lesion = (
            "positive" in findings
            or (bookmark is not None and lo <= bookmark < hi)
            or _asserted(_lesion_nouns(text, lo, hi, rules, found))
        )
        for p in normal if lesion else bare:
            mentions[p] = _status(mentions[p], POSITIVE if lesion else Context("normal"))


def _header(
    text: str,
    mentions: list[Mention],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[_Trigger],
    header: Header,
    sentences: Sequence[tuple[int, int]],
) -> None:
    """The header rules of :func:`refine` for one header."""
    within = _mentions_in(mentions, header.start, header.end)
    own = [p for p in within if mentions[p].end <= header.end]
    if not own:
        return
    k = bisect_left(sentences, header.end, key=itemgetter(0))
    value = None
    if k < len(sentences) and sentences[k][0] < header.body_end:
        first, last = sentences[k]
        cues = [t for t in _starting_in(found, first, last) if t.kind in STATUS_KINDS]
        if len(cues) == 1 and not _mentions_in(mentions, first, last):
            t = cues[0]
            value = Context(t.kind, text[t.start : t.end], t.start, t.end)
    if value is not None:
        for p in own:
            mentions[p] = _status(mentions[p], value)
    elif header.organ:
        evidence = [
            Context(*mentions[p][4:8]) for p in _mentions_in(mentions, header.end, header.body_end) if not is_part[p]
        ] or _lesion_nouns(text, header.end, header.body_end, rules, found)
        best = min(evidence, key=lambda c: _FINDING_RANK.get(c.status, 0), default=POSITIVE)
        if best.status != "positive":
            for p in own:
                if is_part[p]:
                    mentions[p] = _status(mentions[p], best)


_start = attrgetter("start")
_end = attrgetter("end")


def _starting_in(found: Sequence[_Trigger], start: int, end: int) -> Sequence[_Trigger]:
    """The triggers of ``found`` (sorted, not overlapping) that start in ``[start, end)``."""
    return found[bisect_left(found, start, key=_start) : bisect_left(found, end, key=_start)]


def _mentions_in(mentions: Sequence[Mention], start: int, end: int) -> range:
    """Positions of the ``mentions`` (sorted by start) that start in ``[start, end)``."""
    return range(bisect_left(mentions, start, key=_start), bisect_left(mentions, end, key=_start))


def resolve_exclusive(mentions: Sequence[Mention], graph: LabelGraph, *, bookmark: int | None = None) -> list[Mention]:
    """Positive mentions of one lesion whose labels (with ancestors) are exclusive are resolved.

    With ``bookmark`` (a character offset), mentions are taken nearest first and one that
    conflicts with a kept, nearer mention becomes ``uncertain`` (its trigger is that mention);
    conflicting mentions at the same distance both become uncertain. Without a bookmark
    every conflicting positive mention becomes uncertain. Call it per lesion (bookmark mode):
    a whole report may describe several lesions.
    """
    positive = [i for i, m in enumerate(mentions) if m.status == "positive" and m.label in graph]
    closures: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # label → (expanded, excluded)
    for i in positive:
        label = mentions[i].label
        if label not in closures:
            closures[label] = (graph.expand([label]), graph.excluded(label))
    expanded = {i: closures[mentions[i].label][0] for i in positive}
    excluded = {i: closures[mentions[i].label][1] for i in positive}

    def rival_in(group: list[int], holders: dict[str, list[int]], i: int) -> int | None:
        """The first mention of ``group`` other than ``i`` that conflicts with ``i``; ``holders``:
        label → the first two positions in ``group`` of the mentions whose expansion holds it."""
        found = [p for x in excluded[i].intersection(holders) for p in holders[x] if group[p] != i]
        return group[min(found)] if found else None

    everyone = _holders(positive, expanded)
    if all(rival_in(positive, everyone, i) is None for i in positive):
        return list(mentions)

    def distance(i: int) -> int:
        m = mentions[i]
        return 0 if bookmark is None else max(m.start - bookmark, bookmark - m.end, 0)

    loser: dict[int, int] = {}  # demoted mention → the mention it conflicts with
    kept: list[int] = []
    kept_holders: dict[str, list[int]] = {}  # label → position in ``kept`` of the first mention holding it
    for _, group in itertools.groupby(sorted(positive, key=distance), key=distance):
        members = list(group)
        holders = _holders(members, expanded)
        for i in members:
            rival = rival_in(kept, kept_holders, i)
            if rival is None:
                rival = rival_in(members, holders, i)
            if rival is not None:
                loser[i] = rival
        for i in members:
            if i not in loser:
                for x in expanded[i]:
                    kept_holders.setdefault(x, [len(kept)])
                kept.append(i)
    out = list(mentions)
    for i, rival in loser.items():
        r = mentions[rival]
        out[i] = with_context(out[i], Context("uncertain", r.text, r.start, r.end))
    return out


def _holders(group: list[int], expanded: dict[int, frozenset[str]]) -> dict[str, list[int]]:
    """Label → the first two positions in ``group`` of the mentions whose ``expanded`` labels hold it."""
    out: dict[str, list[int]] = {}
    for p, i in enumerate(group):
        for x in expanded[i]:
            found = out.setdefault(x, [])
            if len(found) < 2:
                found.append(p)
    return out


def aggregate(mentions: Iterable[Mention], graph: LabelGraph) -> tuple[tuple[str, ...], ...]:
    """``(labels, uncertain, negated)`` of one row, each sorted.

    ``labels``: labels of positive mentions with all ancestors. ``uncertain``: labels of
    uncertain mentions with ancestors, minus ``labels``. ``negated``: labels of negated mentions
    minus both (not expanded: "no lung nodule" does not negate "lung"). ``irrelevant`` mentions
    count nowhere.
    """
    by_status: dict[str, set[str]] = {"positive": set(), "uncertain": set(), "negated": set()}
    for m in mentions:
        if m.status in by_status and m.label in graph:
            by_status[m.status].add(m.label)
    labels = graph.expand(by_status["positive"])
    uncertain = graph.expand(by_status["uncertain"]) - labels
    negated = by_status["negated"] - labels - uncertain
    return tuple(sorted(labels)), tuple(sorted(uncertain)), tuple(sorted(negated))
