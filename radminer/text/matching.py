"""Matching: every name and synonym of every label, whole-word, on lemma match keys.

:class:`Matcher` builds, once per ontology, a token trie over the match keys of each
name and synonym (see :mod:`radminer.text.analysis`) plus spelling variants of prefixed words
("paraaortic" = "para-aortic" = "para aortic", "noncalcified" = "non-calcified"). A text
is then matched by walking the trie from each token: matches are whole tokens only, so
"liver" never matches inside "deliver", and none starts after the prefix "non" ("non-malignant"
matches nothing, as "nonmalignant"). :func:`select` keeps the longest matches: a match
inside a longer one is dropped (its label comes back through expansion), while crossing
matches ("anterior mediastinal" and "mediastinal lymph node" in "anterior mediastinal
lymph node") are both kept, each being a whole-word match of its own label. A nodal station
named without its nodes shares the next station's ("pretracheal and subcarinal nodes"), two
conjuncts share the words of a term written once ("right and left lower lobes"), and a
:class:`Speller` lets the analyzer read a long misspelled word as the term one edit away.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence, Set
from itertools import combinations, compress
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..ontology.graph import LabelGraph
    from .analysis import Analyzer

__all__ = [
    "PREFIXES", "SPELLING_MIN_LETTERS", "Match", "Matcher", "Speller", "deletions", "edit_distance", "other_words",
    "select",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: Prefixes written joined, hyphenated or apart ("sub-capsular", "subcapsular", "sub capsular").
PREFIXES: tuple[str, ...] = (
    "para", "peri", "sub", "supra", "infra", "intra", "inter", "juxta", "retro", "pre",
    "post", "non", "hypo", "hyper", "trans", "extra",
)  # fmt: skip

#: Shortest combining form ("gastro", "hepato": ending in "o") and shortest word after one at
#: which a word is also split: shorter pieces ("no|dular", "lympho|ma") are no such pair.
COMBINING_MIN = 4

_LABEL = ""  # trie key under which a node stores its label (no match key is empty)


class Match(NamedTuple):
    """A label matched on tokens ``[start, end)`` of an analyzed text."""

    start: int
    end: int
    label: str


#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__


#: Words that name a station's nodes after its name, as "lymph node" does ("right paratracheal
#: node", "subcarinal LN", "pretracheal station", "external iliac chain").
_NODE_WORDS = ("node", "LN", "station", "chain")
#: Words that name a station's enlarged or diseased nodes after its name ("internal iliac
#: lymphadenopathy", "external iliac nodal mass"), as "lymph node" and "node" name its nodes.
_STATION_HEADS = ("nodal", "adenopathy", "lymphadenopathy", "adenomegaly")
#: Words that join a station named without its nodes to the next one's ("pretracheal and
#: subcarinal nodes", "precaval, aortocaval, or left paraaortic lymph nodes").
_JOINERS = frozenset({"and", "or", "and/or", ","})
#: Words that join two conjuncts sharing the words of a term ("right and left lower lobes").
_COORDINATORS = frozenset({"and", "or", "and/or", "nor"})
#: Most words a term's conjuncts share on either side.
_SHARED_REACH = 4
#: Most words from the joiner to the nodes that a station named without its own share.
_ELLIPSIS_REACH = 8
#: Most tokens inside an aside in brackets that the words of a term may enclose ("right lower
#: paratracheal (station 4R) node").
_ASIDE_TOKENS = 3
#: Words (match keys) that may stand between the joiner and those nodes, besides the words of
#: body parts' names, numbers and joiners: sides, positions, units and what nodes are said to be.
_NODE_PHRASE_WORDS = frozenset({
    "right", "left", "bilateral", "upper", "lower", "mid", "middle", "anterior", "posterior", "superior",
    "inferior", "cm", "mm", "x", "enlarge", "prominent", "small", "large", "bulky", "borderline", "mildly",
    "mild", "subcentimeter", "multiple", "several", "additional", "lymph",
})  # fmt: skip


def _variants(phrase: str, places: Set[str] = frozenset()) -> set[str]:
    """Spellings of ``phrase`` with each prefixed word joined and split, each word split after a
    combining form ("gastroesophageal" = "gastro-esophageal", "portocaval" = "porto-caval"), and
    a lymph node of a station also as its "node", "LN", "station" or "chain" ("right lower
    paratracheal node") and, unless
    the station's name is one of the ``places`` (phrases of the vocabulary, which compositions
    combine: "hilar lymphadenopathy"), as one of :data:`_STATION_HEADS` (the composition rules
    of those words keep the lymphadenopathy)."""
    words = phrase.replace("-", " - ").split()
    out = {phrase}
    for i, word in enumerate(words):
        for prefix in PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3 and word[len(prefix)].isalpha():
                out.add(" ".join([*words[:i], prefix, word[len(prefix) :], *words[i + 1 :]]))
        if word.isalpha():
            for k in range(COMBINING_MIN, len(word) - COMBINING_MIN + 1):
                if word[k - 1] == "o":
                    out.add(" ".join([*words[:i], word[:k], word[k:], *words[i + 1 :]]))
        if word == "-" and 0 < i < len(words) - 1 and words[i - 1] in PREFIXES:
            out.add(" ".join([*words[: i - 1], words[i - 1] + words[i + 1], *words[i + 2 :]]))
    if len(words) > 2 and words[-2:] == ["lymph", "node"]:  # a station's node: "right paratracheal node"
        station = words[:-2]
        out.update(" ".join([*station, word]) for word in _NODE_WORDS)
        if " ".join(station) not in places:
            out.update(" ".join([*station, head]) for head in _STATION_HEADS)
    return {phrase} | {" ".join(v.replace(" - ", "-").split()) for v in out - {phrase}}


#: Shortest word that a :class:`Speller` corrects. With its checks (no English word, not two
#: words) it corrects one word in 7,097 real report texts from 7 letters up, a misspelling
#: ("intraperiponeal"); shorter words are one edit from more real words (benchmarks/README.md).
SPELLING_MIN_LETTERS = 9


class Speller:
    """Corrects a misspelled term word ("lymphadenapathy", "hydronephorsis"): a word of at least
    :data:`SPELLING_MIN_LETTERS` letters whose key belongs to no term and that is no English
    word (:func:`~radminer.text.analysis.english_words`) takes the key of the one-word term one
    edit away (a letter inserted, deleted or replaced, or two adjacent letters swapped; unless
    swapped, not two words, see :func:`other_words`), when the terms one edit away all have one
    label.
    ``words``: one-word term keys → label; ``known``: every key of a term; ``min_letters``: the
    shortest word corrected."""

    def __init__(self, words: dict[str, str], known: Set[str], *, min_letters: int = SPELLING_MIN_LETTERS) -> None:
        self._near: dict[str, set[str]] = {}  # a term word with a letter deleted, or none → the word
        self._labels = words
        self._min_letters = min_letters
        for word in words:
            if len(word) >= min_letters - 1:
                for d in deletions(word, 1):
                    self._near.setdefault(d, set()).add(word)
        self._known = known

    def __call__(self, word: str, key: str) -> str:
        """The key of ``word`` (lowercase), whose key is ``key``: corrected, or ``key``. The key
        (the word's lemma: "calcificatons" → "calcificaton") is what is compared with the terms'."""
        if len(word) < self._min_letters or key in self._known or not key.isalpha():
            return key
        near = {
            target
            for d in deletions(key, 1)
            for target in self._near.get(d, ())
            if edit_distance(key, target, 1) == 1 and (_swapped(key, target) or not other_words(key, target))
        }
        if len({self._labels[target] for target in near}) != 1:
            return key
        from .analysis import english_words

        if word in english_words():
            return key
        return min(near)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance of ``a`` and ``b`` (``limit + 1`` when their lengths differ by more)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if previous is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous[j - 2] + 1)
        previous, row = row, current
    return row[-1]


def _swapped(a: str, b: str) -> bool:
    """Whether ``a``, one edit from ``b``, is ``b`` with two adjacent letters swapped: a typo
    wherever it is ("pericardail"), never another word's ending."""
    return len(a) == len(b) and sorted(a) == sorted(b)


def deletions(word: str, depth: int) -> set[str]:
    """``word`` with up to ``depth`` letters deleted."""
    out = {word}
    for n in range(1, depth + 1):
        out |= {"".join(c for k, c in enumerate(word) if k not in gone) for gone in combinations(range(len(word)), n)}
    return out


def other_words(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are two words rather than one misspelt: they differ by a prefix
    ("hyperdense" / "hypodense"), in their first three letters only ("asymmetric" / "symmetric")
    or in their endings ("infectious" / "infection")."""
    if any(a.startswith(p) and b.startswith(q) and a[len(p) :] == b[len(q) :] for p in PREFIXES for q in PREFIXES):
        return True
    shorter = min(len(a), len(b))
    prefix, suffix = _common_start(a, b), _common_start(a[::-1], b[::-1])
    return suffix >= shorter - 3 or (prefix >= shorter - 3 and suffix <= 1)


def _common_start(a: str, b: str) -> int:
    """Length of the common start of ``a`` and ``b``."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


class Matcher:
    """Finds the labels of ``graph`` in texts analyzed by ``analyzer``.

    When two labels claim the same match keys (after lemmatization), a label's own name
    wins over a synonym and a synonym over a generated variant; the loser is logged.
    """

    def __init__(self, graph: LabelGraph, analyzer: Analyzer) -> None:
        self.graph = graph
        self._trie: dict = {}
        owners: dict[tuple[str, ...], tuple[int, str]] = {}
        lexicon = graph.lexicon()
        for phrase, label in lexicon.items():
            rank = 0 if phrase == label.casefold() else 1
            for variant in _variants(phrase, lexicon.keys()):
                keys = analyzer.phrase_keys(variant)
                if not keys:
                    continue
                priority = rank if variant == phrase else 2
                held = owners.get(keys)
                if held is None or priority < held[0]:
                    owners[keys] = (priority, label)
                if held is not None and held[1] != label:
                    winner = owners[keys][1]
                    logger.debug("%r matches %s, not %s", variant, winner, ({label, held[1]} - {winner}).pop())
        lymph_node = analyzer.phrase_keys("lymph node")
        self._stations: dict = {}  # a trie of the stations of "<station> lymph node" phrases
        self._node_phrase_words = set(_NODE_PHRASE_WORDS)  # and the words of body parts' names
        for keys, (_, label) in owners.items():
            if graph.category(label) == "bodypart":
                self._node_phrase_words.update(k for k in keys if len(k) > 2 and k.isalpha())
            node = self._trie
            for key in keys:
                node = node.setdefault(key, {})
            node[_LABEL] = label
            if len(keys) > len(lymph_node) and keys[-len(lymph_node) :] == lymph_node:
                node = self._stations
                for key in keys[: -len(lymph_node)]:
                    node = node.setdefault(key, {})
                node.setdefault(_LABEL, label)
        self.size = len(owners)
        self._continued = frozenset(k for keys in owners for k in keys[:-1])  # keys a term goes on after
        self._firsts = frozenset(self._trie)
        self._owners = owners
        self._node_heads = frozenset(k for w in (*_NODE_WORDS, *_STATION_HEADS) for k in analyzer.phrase_keys(w)[-1:])

    def __repr__(self) -> str:
        return f"<Matcher {self.graph.source!r}: {self.size} phrases>"

    def speller(self, *, min_letters: int = SPELLING_MIN_LETTERS) -> Speller:
        """A :class:`Speller` of this matcher's terms (their one-word phrases as written, not
        their generated variants)."""
        words = {keys[0]: label for keys, (rank, label) in self._owners.items() if len(keys) == 1 and rank < 2}
        return Speller(words, frozenset(k for keys in self._owners for k in keys), min_letters=min_letters)

    def match(self, keys: Sequence[str | None], start: int = 0, end: int | None = None) -> list[Match]:
        """Every match in tokens ``[start, end)`` of an analysis' ``keys`` (``None``: skipped)."""
        end = len(keys) if end is None else end
        trie = self._trie
        firsts = self._firsts
        out: list[Match] = []
        denied = "non" in keys  # rare: the check below only then
        window = keys[start:end]
        for i in compress(range(start, end), map(firsts.__contains__, window)):
            if denied and _after_non(keys, i):
                continue
            node = trie[keys[i]]
            j = i + 1
            while True:
                label = node.get(_LABEL)
                if label is not None:
                    out.append(_new(Match, (i, j, label)))
                while j < end and keys[j] is None:
                    j += 1
                if j >= end:
                    break
                child = node.get(keys[j])
                if child is None and keys[j] == "(":  # "right lower paratracheal (4R) node"
                    after = _after_aside(keys, j, end)
                    child = None if after is None else node.get(keys[after])
                    j = j if after is None else after
                if child is None:
                    break
                node = child
                j += 1
        shared: list[Match] = []
        if not _COORDINATORS.isdisjoint(window):
            shared += self._sharing_words(keys, start, end)
        if not self._node_heads.isdisjoint(window) and not _JOINERS.isdisjoint(window):
            shared += self._stations_sharing_nodes(keys, start, end)
        if shared:  # first, to win over a match of the same tokens (see select); sorted: the extractor bisects
            out = sorted(shared + out, key=_start)
        return out

    def _sharing_words(self, keys: Sequence[str | None], start: int, end: int) -> list[Match]:
        """Terms that two conjuncts joined by "and" / "or" write once: the words after the second
        conjunct ("right and left lower lobes": *right lower lobe* on "right"; "common and
        external iliac nodes") and, where the first one shares them, the words before it ("right
        middle and lower lobes": *right mid lung* on "right middle", *right lower lobe* on "lower
        lobes"). A conjunct is one or two words; a term is read whole, over at most
        :data:`_SHARED_REACH` words on either side."""
        out: list[Match] = []
        trie = self._trie
        continued = self._continued
        for c in compress(range(start, end), map(_COORDINATORS.__contains__, keys[start:end])):
            left = _keyed(keys, range(c - 1, start - 1, -1), _SHARED_REACH + 1)[::-1]
            if not left or keys[left[-1]] not in continued:  # no term goes on after the first conjunct
                continue
            right = _keyed(keys, range(c + 1, end), 2 + _SHARED_REACH)
            for before in range(len(left) - 1, -1, -1):  # words before the first conjunct
                first = left[len(left) - 1 - before :]
                node = _walk(trie, keys, first)
                if node is None:
                    continue
                found = None
                for size in (1, 2):  # the second conjunct
                    found = _longest(node, keys, right[size : size + _SHARED_REACH])
                    if found is not None:
                        break
                if found is None:
                    continue
                label, shared = found
                out.append(_new(Match, (first[0], first[-1] + 1, label)))
                second = right[: size + shared]
                if before:
                    found = _longest(_walk(trie, keys, first[:before]), keys, second)
                    if found is not None and found[1] == len(second):
                        out.append(_new(Match, (second[0], second[-1] + 1, found[0])))
                break
        return out

    def _stations_sharing_nodes(self, keys: Sequence[str | None], start: int, end: int) -> list[Match]:
        """Stations named without their nodes, which they share with the next station: the
        station "pretracheal" of "pretracheal and subcarinal nodes" (a match of *pretracheal
        lymph node* on "pretracheal"), "right common iliac" of "1.2 cm right common iliac and
        1.5 cm left external iliac lymph nodes". The station is followed by a joiner ("and",
        "or", ","), and nodes follow within :data:`_ELLIPSIS_REACH` words, all of them words of
        body parts' names, numbers, joiners or :data:`_NODE_PHRASE_WORDS` ("right hilum, which
        may represent granuloma or lymphadenopathy" shares nothing)."""
        out: list[Match] = []
        stations = self._stations
        for i in compress(range(start, end), map(stations.__contains__, keys[start:end])):
            node, j, found = stations[keys[i]], i + 1, None
            while True:  # the longest station from i
                if _LABEL in node:
                    found = (j, node[_LABEL])
                while j < end and keys[j] is None:
                    j += 1
                if j >= end or keys[j] not in node:
                    break
                node = node[keys[j]]
                j += 1
            if found is None:
                continue
            station_end, label = found
            words: list[str] = []
            j = station_end
            while j < end and len(words) <= _ELLIPSIS_REACH:  # the next words (keys), skipped tokens left out
                key = keys[j]
                if key is not None:
                    words.append(key)
                j += 1
            if not words or words[0] not in _JOINERS:
                continue
            allowed = self._node_phrase_words
            for word in words[1:]:
                if word in self._node_heads:
                    out.append(_new(Match, (i, station_end, label)))
                    break
                if not (word in allowed or word in _JOINERS or word[0].isdigit()):
                    break
        return out


def _after_aside(keys: Sequence[str | None], j: int, end: int) -> int | None:
    """The first keyed token after a short aside in brackets opening at token ``j`` ("(4R)",
    "(station 7)": at most :data:`_ASIDE_TOKENS` tokens inside), which a term's words may enclose;
    ``None``: no such aside."""
    for k in range(j + 1, min(end, j + _ASIDE_TOKENS + 2)):
        if keys[k] == ")":
            k += 1
            while k < end and keys[k] is None:
                k += 1
            return k if k < end and k > j + 2 else None
        if keys[k] == "(":
            return None
    return None


def _keyed(keys: Sequence[str | None], tokens: Iterable[int], most: int) -> list[int]:
    """The first ``most`` of ``tokens`` that have a key."""
    return list(itertools.islice((i for i in tokens if keys[i] is not None), most))


def _walk(trie: dict, keys: Sequence[str | None], tokens: Sequence[int]) -> dict | None:
    """The node of ``trie`` that the keys of ``tokens`` lead to (None: none)."""
    node = trie
    for i in tokens:
        child = node.get(keys[i])
        if child is None:
            return None
        node = child
    return node


def _longest(node: dict | None, keys: Sequence[str | None], tokens: Sequence[int]) -> tuple[str, int] | None:
    """The label of the longest term that ``node`` continues into over the keys of ``tokens``, with
    how many of them it takes (at least one)."""
    found = None
    for taken, i in enumerate(tokens, 1):
        if node is None:
            break
        node = node.get(keys[i])
        if node is not None and _LABEL in node:
            found = (node[_LABEL], taken)
    return found


def _start(match: Match) -> int:
    return match.start


def _after_non(keys: Sequence[str | None], i: int) -> bool:
    """Whether token ``i`` follows the prefix "non" ("non-neoplastic", "non neoplastic"): the
    word is then denied, as in "nonneoplastic", and matches nothing from here ("non-calcified"
    still matches from "non", as "noncalcified")."""
    if i and keys[i - 1] == "non":
        return True
    return i > 1 and keys[i - 1] is None and keys[i - 2] == "non"  # the hyphen has no key


def select(matches: Sequence[Match]) -> list[Match]:
    """Longest matches first; a match inside a kept one is dropped. Sorted by position.

    Equivalently: a match is kept unless a longer match holds it, or an earlier one in
    ``matches`` has the same tokens. One stable sort (outermost first) and a sweep.
    """
    if all(a.end <= b.start for a, b in itertools.pairwise(matches)):
        return list(matches)  # the common case: no overlap
    kept: list[Match] = []
    reach = -1  # the furthest end of the kept matches; those kept start one after another
    for match in sorted(matches, key=_outermost_first):
        if match.end > reach:
            kept.append(match)
            reach = match.end
    return kept


def _outermost_first(match: Match) -> tuple[int, int]:
    return match.start, -match.end
