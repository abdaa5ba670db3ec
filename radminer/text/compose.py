"""Compositions: mentions that together mean a finer label ("right" + renal → right kidney).

Rules are data: ``ontologies/curation/compositions.csv`` (format in docs/curation.md), read
into :class:`~radminer.ontology.curation.Composition` records with the ontology. A component is a
label (matched exactly, including matches inside a longer match, so "right renal cyst"
still holds *renal*) or a quoted word matched on its lemma. On request (``with_parts``), in a
rule that makes a finding (a label of category ``type``: lung + nodule → lung nodule), a
body-part component is also satisfied by a part of it (:func:`organ_parts`: "right lower lobe
nodule" → lung nodule).
Scope ``adjacent``: the
components follow one another in any order, separated by at most :data:`MAX_GAP` words
that are positional modifiers (:data:`GAP_WORDS`), measurements or words of other matches
("right upper pole renal lesion", "left 2 cm adrenal nodule", "enlarged right hilar lymph
node"), or coordinated words ("hilar and mediastinal lymph nodes", "hilar mass or
adenopathy"; a measurement counts once, and in a list joined by "and" or "or" the joiners and
the listed matches do not count: "axillary, mediastinal, or hilar lymphadenopathy"). Scope
``sentence``: anywhere in one clause of a sentence: never across ";", nor across a clause
boundary ("and", ",", "but", ...) with another finding between the components ("hepatic
steatosis and a 2 cm renal mass" has no liver mass; a finding in brackets, or in a "with" phrase
after a finding component, describes that component and is no other finding: "mass with central
necrosis, right lower lobe, lung"). The body part of an organ
header ("LIVER:", see :mod:`radminer.text.sections`) may be a component for the findings of its
block, as if written next to them ("ADRENALS: 2 cm left nodule" → left adrenal gland). A
composed match may feed another rule (hilar + adenopathy → hilum lymph node, then
"left" + hilum lymph node → left hilum lymph node).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence, Set
from itertools import compress, islice, repeat
from operator import attrgetter, is_not, itemgetter
from typing import TYPE_CHECKING, NamedTuple

from .context import HEAD_CATEGORY
from .matching import Match, select

if TYPE_CHECKING:
    from ..ontology.curation import Composition
    from ..ontology.graph import LabelGraph
    from .analysis import Analyzer
    from .sections import Block

__all__ = ["GAP_WORDS", "MAX_GAP", "Composed", "Composer", "organ_parts"]

logger = logging.getLogger(__name__)

#: Words allowed between ``adjacent`` components (besides numbers and units): positions, sides,
#: and the prepositions that put a finding in its place ("adenopathy in the left axilla"), also
#: after a copula ("the enlarged nodes are in the right groin", "the pleura is thickened", "the duct
#: is not dilated") and "except" ("no adenopathy except in the left axilla").
GAP_WORDS: tuple[str, ...] = (
    "upper", "lower", "mid", "middle", "pole", "interpolar", "anterior", "posterior", "medial",
    "lateral", "superior", "inferior", "peripheral", "central", "proximal", "distal", "apical", "main",
    "basal", "outer", "inner", "anterolateral", "posterolateral", "anteromedial", "posteromedial", "cm", "mm", "x",
    "left", "right", "bilateral", "in", "within", "at", "of", "involving", "chain", "root", "region", "station",
    "group", "sided", "is", "are", "not", "still", "except",
)  # fmt: skip
#: A place adjective that the vocabulary may lack, allowed in a gap as the ``GAP_WORDS`` are: a
#: prefix of position and an adjective ending ("enlarged perigastric nodes", "retrocaval").
_PLACE_ADJECTIVE = re.compile(r"(?:peri|para|pre|retro|supra|infra|sub|inter|juxta)[a-z]{3,}(?:ic|al|ar)")
#: Most gap words between two ``adjacent`` components.
MAX_GAP = 3
#: Match keys that end a clause (``HARD``) or may end one (``SOFT``, when another finding
#: lies between two components).
_HARD_BOUNDARIES = frozenset({";"})
_SOFT_BOUNDARIES = frozenset({",", "and", "but", "while", "whereas", "plus", "also"})
#: Words that may join coordinated words between ``adjacent`` components (see ``_Scope.coordinated``);
#: in a list joined by "and" or "or", they and the listed matches do not count as gap words
#: ("axillary, mediastinal, or hilar lymphadenopathy"; commas alone separate a description's
#: parts: "lymph node, left paraaortic, abdomen").
_COORDINATORS = frozenset({"and", "or", ","})
#: Most words, coordinators included, between two ``adjacent`` components.
_MAX_LIST = 2 * MAX_GAP + 2
#: The words of a measurement besides its numbers: it counts as one gap word ("1.6 x 1.2 cm").
_UNITS = frozenset({"cm", "mm", "x"})
#: Words that open a new finding after a soft boundary ("steatosis and a 2 cm renal mass").
_OPENERS = frozenset({"a", "an", "another", "several", "multiple", "numerous", "additional", "no", "there"})
_ROUNDS = 4  # compositions of compositions, at most this deep
_BODYPART = "bodypart"


class Composed(NamedTuple):
    """A composed match and the indices of its label components in the match list."""

    match: Match
    components: tuple[int, ...]


def organ_parts(graph: LabelGraph, whole: str, not_parts: Iterable[tuple[str, str]] = ()) -> frozenset[str]:
    """The body parts inside ``whole``: the labels below it of category bodypart whose ancestors
    all are ``whole``, above it or below it (one that also lies below another structure, such as
    a vein, a ligament, a hilum or a lymph node, is a structure of its own that meets ``whole``),
    less the terms that ``not_parts`` (``(term, whole)`` pairs) lists for ``whole`` and the
    labels below them."""
    below = graph.descendants(whole)
    inside = below | graph.expand([whole])
    excluded = {term for term, other in not_parts if other == whole and term in graph}
    return frozenset(
        label
        for label in below
        if graph.category(label) == _BODYPART
        and graph.ancestors(label) <= inside
        and excluded.isdisjoint(graph.expand([label]))
    )


class _Rule(NamedTuple):
    label: str
    components: tuple[str | tuple[str, ...], ...]  # a label, or the match keys of a quoted word
    adjacent: bool
    labels: frozenset[str]  # the label components
    words: frozenset[tuple[str, ...]]  # the word components
    parts: Mapping[str, frozenset[str]]  # organ components → their parts, which satisfy them too

    def fits(self, labels: Set[str], words: Set[tuple[str, ...]]) -> bool:
        """Whether all the rule's components are among ``labels`` and ``words`` (an organ, or one of its parts)."""
        if not self.words <= words:
            return False
        if self.labels <= labels:
            return True
        parts = self.parts
        return bool(parts) and all(
            label in labels or (label in parts and not parts[label].isdisjoint(labels)) for label in self.labels
        )


class Composer:
    """Applies the compositions of ``graph.curation`` (or ``compositions``) to matches.

    Rules whose labels ``graph`` lacks are left out (logged). With ``with_parts``, in a rule whose
    label is a finding (category ``type``), a body-part component is also satisfied by its
    :func:`organ_parts` (less the ``not_parts`` of ``graph.curation``).
    """

    def __init__(
        self,
        graph: LabelGraph,
        analyzer: Analyzer,
        *,
        compositions: Iterable[Composition] | None = None,
        with_parts: bool = False,
    ) -> None:
        if compositions is None:
            compositions = graph.curation.compositions if graph.curation is not None else ()
        not_parts = graph.curation.not_parts if graph.curation is not None else ()
        self.rules: list[_Rule] = []
        for c in compositions:
            missing = [x for x in (c.label, *c.labels) if x not in graph]
            if missing:
                logger.debug("composition %s left out: %s not in the ontology", c.label, ", ".join(missing))
                continue
            parts = tuple(analyzer.phrase_keys(p[1:-1]) if p.startswith("'") else p for p in c.components)
            words = frozenset(p for p in parts if isinstance(p, tuple))
            organs: dict[str, frozenset[str]] = {}
            if with_parts and graph.category(c.label) == HEAD_CATEGORY:  # a finding: a part of an organ stands for it
                found = ((x, organ_parts(graph, x, not_parts)) for x in c.labels if graph.category(x) == _BODYPART)
                organs = {x: inside for x, inside in found if inside}
            self.rules.append(_Rule(c.label, parts, c.scope == "adjacent", frozenset(c.labels), words, organs))
        self._gap = frozenset(k for w in GAP_WORDS for k in analyzer.phrase_keys(w))
        self._words: dict[str, list[tuple[str, ...]]] = {}
        for word in {w for r in self.rules for w in r.words}:
            self._words.setdefault(word[0], []).append(word)
        self._by_label: dict[str, list[int]] = {}  # label → rules that use it
        for k, rule in enumerate(self.rules):
            for label in rule.labels.union(*rule.parts.values()):
                self._by_label.setdefault(label, []).append(k)
        self._word_starts = frozenset(word[0] for rule in self.rules if not rule.labels for word in rule.words)
        self._findings = frozenset(label for label in graph.labels if graph.category(label) == HEAD_CATEGORY)
        body_parts = frozenset(label for label in graph.labels if graph.category(label) == _BODYPART)
        #: component label (a body part) → the body parts neither it, below nor above it: a match of
        #: one of them that holds a match of the label names something else ("pulmonary artery": no lung)
        self._foreign = {
            label: body_parts - graph.descendants(label) - graph.ancestors(label) - {label}
            for label in {x for rule in self.rules for x in rule.labels}
            if label in body_parts
        }
        #: rule label → the labels that imply it (it and those below it)
        self._implying = {rule.label: graph.descendants(rule.label) | {rule.label} for rule in self.rules}
        # each rule under one of its quoted words (words are rarer than labels in texts), else under
        # the labels of one component: the one that the fewest rules use (usually the rarest in texts)
        self._by_rare: dict[str | tuple[str, ...], list[tuple[int, _Rule]]] = {}
        for k, rule in enumerate(self.rules):
            if rule.words:
                self._by_rare.setdefault(min(rule.words), []).append((k, rule))
            else:
                needs = [rule.parts.get(label, frozenset()) | {label} for label in sorted(rule.labels)]
                rare = min(needs, key=lambda need: sum(len(self._by_label[label]) for label in need))
                for label in rare:
                    self._by_rare.setdefault(label, []).append((k, rule))

    def __len__(self) -> int:
        return len(self.rules)

    def words_in(self, keys: Sequence[str | None], start: int = 0, end: int | None = None) -> bool:
        """Whether tokens ``[start, end)`` may hold a rule of words only ("hepatomegaly" → liver)."""
        return not self._word_starts.isdisjoint(keys[start:end])

    def compose(
        self,
        matches: Sequence[Match],
        keys: Sequence[str | None],
        sent_starts: Sequence[int],
        start: int = 0,
        end: int | None = None,
        *,
        blocks: Sequence[Block] = (),
    ) -> list[Composed]:
        """Composed matches over ``matches`` (all matches of tokens ``[start, end)``).

        ``blocks``: the organ headers of the text (:attr:`radminer.text.sections.Layout.blocks`).

        A label is composed once per place: of overlapping candidates the first found wins
        (candidates are tried in the order of ``itertools.product`` over the components'
        matches; those that cannot hold, in other sentences or too far apart, are skipped).

        A component index ``i < len(matches)`` points into ``matches``; a larger one into the
        result itself (``len(matches) + k``: its ``k``-th item). Quoted words have no index
        (a rule of words only, such as ``'adenopathy'`` → lymphadenopathy, has none).
        """
        if not self.rules or not (matches or self._word_starts):
            return []
        end = len(keys) if end is None else end
        words = self._find_words(keys, start, end)
        ready = self._applicable(set(map(itemgetter(2), matches)), words.keys())
        if not ready:
            return []  # no rule has all its components here
        scope = _Scope(matches, keys, sent_starts, start, end, blocks, self._findings)
        items: list[Match] = list(matches)
        out: list[Composed] = []
        seen: dict[str, _Spans] = {}  # label → composed matches
        fresh = range(len(items))
        by_label: dict[str, list[int]] = {}
        rule_index = self._by_label
        for round_ in range(_ROUNDS):
            for i in fresh:
                by_label.setdefault(items[i].label, []).append(i)
            if round_:  # the rules of the labels composed in the last round
                triggered = {k for i in fresh for k in rule_index.get(items[i].label, ())}
                ready = [k for k in sorted(triggered) if self.rules[k].fits(by_label.keys(), words.keys())]
            added = []
            for k in ready:
                rule = self.rules[k]
                candidates: list[list[_Part]] = [
                    [(s, e, None) for s, e in words[part]]
                    if isinstance(part, tuple)
                    else _candidates(items, by_label, part, rule.parts, self._foreign.get(part), scope)
                    for part in rule.components
                ]
                taken = seen.get(rule.label) or seen.setdefault(rule.label, _Spans())
                for combo in self._combos(candidates, rule.adjacent, scope, taken, fresh if round_ else None):
                    indices = tuple(c[2] for c in combo if c[2] is not None)
                    span = scope.located(combo)
                    match = _new(Match, (min(map(itemgetter(0), span)), max(map(itemgetter(1), span)), rule.label))
                    if not scope.named(match, self._implying[rule.label]):
                        added.append(Composed(match, indices))
            if not added:
                break
            fresh = range(len(items), len(items) + len(added))
            items.extend(c.match for c in added)
            out.extend(added)
        return out

    def _applicable(self, labels: Set[str], words: Set[tuple[str, ...]]) -> list[int]:
        """The rules (ascending) that have all their components among ``labels`` and ``words``."""
        index = self._by_rare
        candidates = [entry for key in itertools.chain(labels, words) if key in index for entry in index[key]]
        return sorted({k for k, rule in candidates if rule.fits(labels, words)})

    def _combos(
        self,
        candidates: list[list[_Part]],
        adjacent: bool,
        scope: _Scope,
        taken: _Spans,
        fresh: range | None,
    ) -> list[tuple[_Part, ...]]:
        """The combinations of ``candidates`` taken, in product order: those that hold, have
        a ``fresh`` component (or none with an index; ``fresh=None``: all are, in the first
        round) and overlap no span of ``taken`` (which receives theirs). Once a first
        component is taken, its other combinations would overlap: they are skipped, and so
        are the other components outside the free stretch around it (without organ headers,
        whose components lie outside the span of a combination)."""
        first, *others = candidates
        prune = math.prod(map(len, others)) > _PRUNE
        near = [_Near(c, adjacent, scope, others) for c in others] if prune else []
        out = []
        for x in first:
            if taken.overlaps(x[0], x[1]):
                continue  # any combination holding x would overlap
            if prune:
                lo, hi = taken.free(x[0]) if not scope.blocks else (-1, len(scope.keys))
                tails = [[p for p in n.around(x) if lo <= p[0] and p[1] <= hi] for n in near]
            for tail in itertools.product(*tails if prune else others):
                combo = (x, *tail)
                if fresh is not None and not any(c[2] in fresh for c in combo) and any(c[2] is not None for c in combo):
                    continue  # tried in an earlier round
                ordered = sorted(combo, key=_span) if tail else combo
                located = scope.located(ordered)
                hull = located[0][0], max(map(itemgetter(1), located))
                if not taken.overlaps(*hull) and self._holds(ordered, adjacent, scope):
                    taken.add(*hull)
                    out.append(combo)
                    break
        return out

    def _find_words(self, keys: Sequence[str | None], start: int, end: int) -> dict[tuple[str, ...], list]:
        """Token ranges of the quoted words of the rules in ``[start, end)``."""
        found: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        table = self._words
        for i in compress(range(start, end), map(table.__contains__, keys[start:end])):
            for word in table[keys[i]]:  # type: ignore[index]
                j, n = i + 1, 1
                while n < len(word) and j < end:
                    if keys[j] is not None:
                        if keys[j] != word[n]:
                            break
                        n += 1
                    j += 1
                if n == len(word):
                    found.setdefault(word, []).append((i, j))
        return found

    def _holds(self, combo: Sequence[_Part], adjacent: bool, scope: _Scope) -> bool:
        """Whether the components ``combo`` (sorted by position) satisfy the rule's scope."""
        if scope.blocks:
            located = scope.located(combo)
            if len(located) < len(combo):  # a component is an organ header's
                block = scope.block(combo[0][0])
                if (
                    block is None
                    or not all(block.header_end <= c[0] < block.end for c in located)
                    or any(scope.block(c[0]) not in (None, block) for c in combo)  # two headers' words
                ):
                    return False
                combo = located
        keys = scope.keys
        for (_, left_end, _), (right_start, _, _) in itertools.pairwise(combo):
            if right_start < left_end:
                return False  # overlapping components
            if adjacent:
                words = map(is_not, keys[left_end:right_start], repeat(None))
                gap = list(islice(compress(range(left_end, right_start), words), _MAX_LIST + 1))
                if (
                    len(gap) > _MAX_LIST
                    or _gap_words(gap, keys, scope.covered) > MAX_GAP
                    or not all(
                        i in scope.covered
                        or keys[i] in self._gap
                        or keys[i][0].isdigit()  # type: ignore[index]
                        or _PLACE_ADJECTIVE.fullmatch(keys[i])  # type: ignore[arg-type]
                        for i in gap
                        if keys[i] not in _COORDINATORS
                    )
                ):
                    return False
                coordinators = [keys[i] for i in gap if keys[i] in _COORDINATORS]
                if coordinators and not scope.coordinated(gap, coordinators):
                    return False
            elif scope.cut(left_end, right_start):
                return False
        first = scope.sentence(combo[0][0])  # in one sentence, adjacent or not
        return all(scope.sentence(c[0]) == first for c in combo[1:])


def _gap_words(gap: list[int], keys: Sequence[str | None], covered: Set[int]) -> int:
    """How many words the tokens ``gap`` count as between two ``adjacent`` components: a
    measurement counts once ("1.6 x 1.2 cm"), and in a list joined by "and" or "or" its joiners
    and listed matches do not count ("axillary, mediastinal, or hilar lymphadenopathy")."""
    listed = any(keys[i] in ("and", "or") for i in gap)
    n, measuring = 0, False
    for i in gap:
        key = keys[i] or ""
        if listed and (key in _COORDINATORS or i in covered):
            measuring = False
            continue
        measure = key[:1].isdigit() or key in _UNITS
        n += not (measure and measuring)
        measuring = measure
    return n


def _candidates(
    items: Sequence[Match],
    by_label: dict[str, list[int]],
    label: str,
    parts: Mapping[str, frozenset[str]],
    foreign: frozenset[str] | None,
    scope: _Scope,
) -> list[_Part]:
    """The candidates of the label component ``label``, in the order of ``items``: its matches, or for
    an organ those of it and its ``parts`` but for the ones inside another ("right lower lobe"
    holds "lower lobe", "right renal" holds "renal": the longer match names the part); none inside
    a longer match (in ``scope``) of a ``foreign`` label ("pulmonary artery" is no lung)."""
    if label in parts:
        indices = sorted(i for x in parts[label] | {label} if x in by_label for i in by_label[x])
    else:
        indices = by_label[label]
    found: list[_Part] = [
        (items[i].start, items[i].end, i) for i in indices if not (foreign and scope.held(items[i], foreign))
    ]
    if label not in parts:
        return found
    kept = set()
    reach, last = -1, None  # the furthest end so far, and the span that reached it
    for p in sorted(found, key=_outermost_first):
        if p[1] > reach or p[:2] == last:  # in no longer candidate
            kept.add(p)
            if p[1] > reach:
                reach, last = p[1], p[:2]
    return [p for p in found if p in kept]


#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__
_Part = tuple[int, int, "int | None"]  # a component: start and end token, index of its match
_PRUNE = 16  # combinations of the other components beyond which they are filtered per first component


_span = itemgetter(0, 1)  # a component's start and end


def _outermost_first(part: _Part) -> tuple[int, int]:
    return part[0], -part[1]


_block_start = attrgetter("start")


class _Scope:
    """What the scope checks need of one text, computed on first use."""

    def __init__(
        self,
        matches: Sequence[Match],
        keys: Sequence[str | None],
        sent_starts: Sequence[int],
        start: int,
        end: int,
        blocks: Sequence[Block],
        findings: frozenset[str],
    ) -> None:
        self.matches = matches
        self.keys = keys
        self.sent_starts = sent_starts
        self.start = start
        self.end = end
        self.blocks = blocks
        self._findings = findings
        # built on first use (attributes, not cached properties: the compiled build does not cache those)
        self._finding_starts: list[int] | None = None
        self._finding_tokens: set[int] | None = None
        self._covered: set[int] | None = None
        self._ranks: list[int] | None = None
        self._outer: list[Match] | None = None  # the matches inside no longer one
        self._match_starts: list[int] = []
        self._longest: int | None = None  # tokens of the longest match
        self._outer_starts: list[int] = []
        self._outer_ends: list[int] = []

    def block(self, token: int) -> Block | None:
        """The organ block whose header holds ``token`` (blocks are sorted and do not overlap)."""
        k = bisect_right(self.blocks, token, key=_block_start) - 1
        if k >= 0 and token < self.blocks[k].header_end:
            return self.blocks[k]
        return None

    def located(self, combo: Sequence[_Part]) -> Sequence[_Part]:
        """``combo`` without the components in organ headers (all of it when all are)."""
        if not self.blocks:
            return combo
        rest = [c for c in combo if self.block(c[0]) is None]
        return rest or combo

    def held(self, match: Match, labels: frozenset[str]) -> bool:
        """Whether ``match`` lies inside a longer one of the matches (sorted by start), of one of
        ``labels``: one starting at most the longest match's length before it."""
        if self._longest is None:
            self._match_starts = [m.start for m in self.matches]
            self._longest = max((m.end - m.start for m in self.matches), default=0)
        lo = bisect_left(self._match_starts, match.start - self._longest)
        hi = bisect_right(self._match_starts, match.start)
        size = match.end - match.start
        return any(o.label in labels and match.end <= o.end and o.end - o.start > size for o in self.matches[lo:hi])

    def named(self, span: Match, labels: frozenset[str]) -> bool:
        """Whether a match of one of ``labels`` that is a mention (inside no longer match) lies
        within ``span`` or spans it: the composition would add nothing ("right renal cyst" holds
        the match "renal cyst"; "right lower lobe", below right lung, spans 'right' + "lower lobe")."""
        outer = self._outermost()
        starts, ends = self._outer_starts, self._outer_ends
        start, end = span.start, span.end
        within = range(bisect_left(starts, start), bisect_right(ends, end))
        spanning = range(bisect_left(ends, end), bisect_right(starts, start))
        return any(outer[k].label in labels for k in itertools.chain(within, spanning))

    def _outermost(self) -> list[Match]:
        """The matches inside no longer one, sorted by start (and so by end)."""
        if self._outer is None:
            self._outer = select(self.matches)
            self._outer_starts = [m.start for m in self._outer]
            self._outer_ends = [m.end for m in self._outer]
        return self._outer

    def cut(self, left_end: int, right_start: int) -> bool:
        """Whether a clause ends between tokens ``left_end`` and ``right_start``: a hard boundary,
        a soft one before an opener, or a soft one with a finding in between (but for one written
        just before the right component after a component that is no finding: it describes the
        right one, "renal lesion, likely hemorrhagic cyst")."""
        between = self.keys[left_end:right_start]
        if _HARD_BOUNDARIES.intersection(between):
            return True
        if _SOFT_BOUNDARIES.isdisjoint(between):
            return False
        words = [k for k in between if k is not None]
        for k, (a, b) in enumerate(itertools.pairwise(words)):
            if a not in _SOFT_BOUNDARIES:
                continue
            if b in _OPENERS or (b == "with" and k + 2 < len(words) and words[k + 2] in _OPENERS):
                return True  # ", and a ...", ", with multiple liver lesions": another finding
        starts = self._finding_starts
        if starts is None:
            starts = self._finding_starts = sorted(m.start for m in self.matches if m.label in self._findings)
        inside = starts[bisect_left(starts, left_end) : bisect_left(starts, right_start)]
        if inside and not self._finding_ends(left_end):
            inside = [i for i in inside if not self._finding_ends(right_start, i)]
        return any(not self._describes(left_end, i) for i in inside)

    def _finding_ends(self, end: int, start: int | None = None) -> bool:
        """Whether a finding's match ends at token ``end`` (and starts at ``start``, when given)."""
        findings = self._findings
        return any(m.end == end and m.label in findings and start in (None, m.start) for m in self.matches)

    def _describes(self, left_end: int, finding: int) -> bool:
        """Whether the finding starting at token ``finding`` describes the component ending at
        ``left_end``, itself a finding, rather than being another one: it is in brackets
        ("calcified nodule (granuloma), left lung") or in a "with" phrase right after the
        component, with no boundary before it ("mass with central necrosis, right lower lobe,
        lung"; not "liver with steatosis, renal mass": the steatosis is the liver's)."""
        if not any(m.end == left_end and m.label in self._findings for m in self.matches):
            return False
        between = [k for k in self.keys[left_end:finding] if k is not None]
        if "(" in between and ")" not in between[between.index("(") :]:
            return True
        return bool(between) and between[0] == "with" and _SOFT_BOUNDARIES.isdisjoint(between)

    def coordinated(self, gap: list[int], coordinators: list[str | None]) -> bool:
        """Whether a gap with ``coordinators`` joins matches that share the components: body parts
        ("hilar and mediastinal lymph nodes"), or with "or" findings too ("hilar mass or
        adenopathy"); "pelvic fluid and adenopathy" does not locate the adenopathy."""
        covered = [i for i in gap if i in self.covered]
        if not covered or all(c == "or" for c in coordinators):
            return bool(covered)
        tokens = self._finding_tokens
        if tokens is None:
            findings = self._findings
            tokens = self._finding_tokens = {
                i for m in self.matches if m.label in findings for i in range(m.start, m.end)
            }
        return tokens.isdisjoint(covered)

    def sentence(self, token: int) -> int:
        return bisect_right(self.sent_starts, token)

    @property
    def covered(self) -> set[int]:
        """Tokens inside a match."""
        if self._covered is None:
            self._covered = {i for m in self.matches for i in range(m.start, m.end)}
        return self._covered

    def rank(self, token: int) -> int:
        """Number of tokens from ``start`` to ``token`` (excluded) that matching does not skip."""
        if self._ranks is None:
            self._ranks = [0, *itertools.accumulate(k is not None for k in self.keys[self.start : self.end])]
        return self._ranks[token - self.start]


class _Near:
    """The candidates of one component, indexed to find those that may combine with another part.

    Sentence scope: those starting in the same sentence. Adjacent scope: those within the
    words that the gaps and the other components can span.
    """

    def __init__(self, parts: list[_Part], adjacent: bool, scope: _Scope, others: list[list[_Part]]) -> None:
        self.parts = parts
        self.scope = scope
        self.adjacent = adjacent
        if adjacent:
            rank = scope.rank
            self.position = lambda p: rank(p[0])
            widths = [max(rank(p[1]) - rank(p[0]) for p in c) for c in others]
            self.reach = len(others) * MAX_GAP + sum(widths)
        else:
            self.position = lambda p: scope.sentence(p[0])
        self.order = sorted(range(len(parts)), key=lambda j: self.position(parts[j]))
        self.positions = [self.position(parts[j]) for j in self.order]

    def around(self, x: _Part) -> list[_Part]:
        """The candidates that may combine with ``x``, in their original order."""
        if self.adjacent:
            lo, hi = self.scope.rank(x[0]) - self.reach, self.scope.rank(x[1]) + self.reach
        else:
            lo = hi = self.position(x)
        found = self.order[bisect_left(self.positions, lo) : bisect_right(self.positions, hi)]
        return [self.parts[j] for j in sorted(found)]


class _Spans:
    """Non-overlapping spans, sorted: which of them overlaps a new one is found by bisection."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int) -> tuple[int, int]:
        """The stretch around a span starting at ``start`` that overlaps none: from the end of
        the span before it to the start of the span after it."""
        k = bisect_left(self.starts, start)
        return self.ends[k - 1] if k else -1, self.starts[k] if k < len(self.starts) else sys.maxsize

    def overlaps(self, start: int, end: int) -> bool:
        if not self.starts:
            return False
        k = bisect_left(self.starts, end) - 1  # the last span starting before ``end``
        return k >= 0 and self.ends[k] > start

    def add(self, start: int, end: int) -> None:
        k = bisect_left(self.starts, start)
        self.starts.insert(k, start)
        self.ends.insert(k, end)
