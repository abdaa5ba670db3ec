"""Compositions: mentions that together mean a finer label ("right" + renal → right kidney).

Rules are data: ``ontologies/curation/compositions.csv`` (format in docs/curation.md), read
into :class:`~radminer.curation.Composition` records with the ontology. A component is a
label (matched exactly, including matches inside a longer match, so "right renal cyst"
still holds *renal*) or a quoted word matched on its lemma. Scope ``adjacent``: the
components follow one another in any order, separated by at most :data:`MAX_GAP` words
that are positional modifiers (:data:`GAP_WORDS`), measurements or words of other matches
("right upper pole renal lesion", "left 2 cm adrenal nodule", "enlarged right hilar lymph
node"). Scope ``sentence``: anywhere in one sentence. A
composed match may feed another rule (hilar + adenopathy → hilum lymph node, then
"left" + hilum lymph node → left hilum lymph node).
"""

from __future__ import annotations

import itertools
import logging
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .matching import Match

if TYPE_CHECKING:
    from .analysis import Analyzer
    from .curation import Composition
    from .graph import LabelGraph

__all__ = ["GAP_WORDS", "MAX_GAP", "Composed", "Composer"]

logger = logging.getLogger(__name__)

#: Words allowed between ``adjacent`` components (besides numbers and units).
GAP_WORDS: tuple[str, ...] = (
    "upper", "lower", "mid", "middle", "pole", "interpolar", "anterior", "posterior", "medial",
    "lateral", "superior", "inferior", "peripheral", "central", "proximal", "distal", "apical",
    "basal", "anterolateral", "posterolateral", "anteromedial", "posteromedial", "cm", "mm", "x",
)  # fmt: skip
#: Most gap words between two ``adjacent`` components.
MAX_GAP = 3
_ROUNDS = 4  # compositions of compositions, at most this deep


class Composed(NamedTuple):
    """A composed match and the indices of its label components in the match list."""

    match: Match
    components: tuple[int, ...]


class _Rule(NamedTuple):
    label: str
    components: tuple[str | tuple[str, ...], ...]  # a label, or the match keys of a quoted word
    adjacent: bool
    labels: frozenset[str]  # the label components
    words: frozenset[tuple[str, ...]]  # the word components


class Composer:
    """Applies the compositions of ``graph.curation`` (or ``compositions``) to matches.

    Rules whose labels ``graph`` lacks are left out (logged).
    """

    def __init__(
        self,
        graph: LabelGraph,
        analyzer: Analyzer,
        *,
        compositions: Iterable[Composition] | None = None,
    ) -> None:
        if compositions is None:
            compositions = graph.curation.compositions if graph.curation is not None else ()
        self.rules: list[_Rule] = []
        for c in compositions:
            missing = [x for x in (c.label, *c.labels) if x not in graph]
            if missing:
                logger.debug("composition %s left out: %s not in the ontology", c.label, ", ".join(missing))
                continue
            parts = tuple(analyzer.phrase_keys(p[1:-1]) if p.startswith("'") else p for p in c.components)
            words = frozenset(p for p in parts if isinstance(p, tuple))
            self.rules.append(_Rule(c.label, parts, c.scope == "adjacent", frozenset(c.labels), words))
        self._gap = frozenset(k for w in GAP_WORDS for k in analyzer.phrase_keys(w))
        self._words: dict[str, list[tuple[str, ...]]] = {}
        for word in {w for r in self.rules for w in r.words}:
            self._words.setdefault(word[0], []).append(word)
        self._by_label: dict[str, list[int]] = {}  # label → rules that use it
        for k, rule in enumerate(self.rules):
            for label in rule.labels:
                self._by_label.setdefault(label, []).append(k)
        self._word_rules = [k for k, rule in enumerate(self.rules) if not rule.labels]

    def __len__(self) -> int:
        return len(self.rules)

    def compose(
        self,
        matches: Sequence[Match],
        keys: Sequence[str | None],
        sent_starts: Sequence[int],
        start: int = 0,
        end: int | None = None,
    ) -> list[Composed]:
        """Composed matches over ``matches`` (all matches of tokens ``[start, end)``).

        A label is composed once per place: of overlapping candidates the first found wins.

        A component index ``i < len(matches)`` points into ``matches``; a larger one into the
        result itself (``len(matches) + k``: its ``k``-th item). Quoted words have no index
        (a rule of words only, such as ``'adenopathy'`` → lymphadenopathy, has none).
        """
        if not self.rules or not matches:
            return []
        end = len(keys) if end is None else end
        words = self._find_words(keys, start, end)
        covered = {i for m in matches for i in range(m.start, m.end)}
        items: list[Match] = list(matches)
        out: list[Composed] = []
        seen: dict[str, list[Match]] = {}  # label → composed matches
        fresh = range(len(items))
        by_label: dict[str, list[int]] = {}
        for round_ in range(_ROUNDS):
            for i in fresh:
                by_label.setdefault(items[i].label, []).append(i)
            triggered = {k for i in fresh for k in self._by_label.get(items[i].label, ())}
            if not round_:
                triggered.update(self._word_rules)
            added = []
            for k in sorted(triggered):
                rule = self.rules[k]
                if not (rule.labels <= by_label.keys() and rule.words <= words.keys()):
                    continue
                candidates = [
                    [(s, e, None) for s, e in words[part]]
                    if isinstance(part, tuple)
                    else [(items[i].start, items[i].end, i) for i in by_label[part]]
                    for part in rule.components
                ]
                for combo in itertools.product(*candidates):
                    indices = tuple(c[2] for c in combo if c[2] is not None)
                    if indices and not any(i in fresh for i in indices):
                        continue  # tried in an earlier round
                    if self._holds(sorted(combo), rule.adjacent, keys, sent_starts, covered):
                        match = Match(min(c[0] for c in combo), max(c[1] for c in combo), rule.label)
                        same = seen.setdefault(rule.label, [])
                        if not any(m.start < match.end and match.start < m.end for m in same):
                            same.append(match)
                            added.append(Composed(match, indices))
            if not added:
                break
            fresh = range(len(items), len(items) + len(added))
            items.extend(c.match for c in added)
            out.extend(added)
        return out

    def _find_words(self, keys: Sequence[str | None], start: int, end: int) -> dict[tuple[str, ...], list]:
        """Token ranges of the quoted words of the rules in ``[start, end)``."""
        found: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        table = self._words
        for i in [i for i in range(start, end) if keys[i] in table]:
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

    def _holds(
        self,
        combo: list[tuple[int, int, int | None]],
        adjacent: bool,
        keys: Sequence[str | None],
        sent_starts: Sequence[int],
        covered: set[int],
    ) -> bool:
        for (_, left_end, _), (right_start, _, _) in itertools.pairwise(combo):
            if right_start < left_end:
                return False  # overlapping components
            if adjacent:
                gap = [i for i in range(left_end, right_start) if keys[i] is not None]
                if len(gap) > MAX_GAP or not all(
                    i in covered or keys[i] in self._gap or keys[i][0].isdigit()  # type: ignore[index]
                    for i in gap
                ):
                    return False
        if adjacent:
            return True
        first = bisect_right(sent_starts, combo[0][0])
        return all(bisect_right(sent_starts, c[0]) == first for c in combo[1:])
