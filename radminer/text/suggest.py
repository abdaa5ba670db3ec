"""Vocabulary discovery: the words of a corpus that sit where labels sit but match no term.

:class:`Suggester` reads report texts and counts the words (and two-word phrases) of lesion
sentences (the sentence of a bookmark; without bookmarks, each sentence that holds a match)
that no term matches, leaving out stop words, numbers and units, negation / uncertainty
triggers, positional words and the words of compositions. :class:`Proposer` proposes a target
label for each, from the ontology alone:

* ``location``: a location prefix (peri-, para-, sub-, ...) on a stem that is a body part's
  word, its adjectival ending aside ("periportal" → porta hepatis, "intrahepatic" → liver);
* ``synonym``: the words of one label's names and synonyms, or of a label and its descendants,
  hold it ("porta" → porta hepatis);
* ``misspelling``: a long word that is no English word, one or two edits from a label's word
  ("lymphadenopahthy" → lymphadenopathy).

Suggestions are ranked by the lesion rows that accepting them would change (rows where the
word occurs and its target is not yet among the row's labels or their ancestors). They are
written as ``ontologies/curation/synonyms.csv`` rows with evidence and an empty ``accept``
column; :func:`radminer.ontology.curation.accepted_synonyms` reads such a file back (``radminer extract --curation``).
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, NamedTuple

from ..ontology.curation import Curation
from ..ontology.graph import LabelGraph
from .compose import GAP_WORDS
from .matching import PREFIXES, deletions, edit_distance, other_words

if TYPE_CHECKING:
    from .analysis import Analysis, Analyzer
    from .context import ContextRules

__all__ = [
    "SUGGESTION_COLUMNS",
    "Proposal",
    "Proposer",
    "Suggester",
    "Suggestion",
    "write_suggestions",
]

#: Columns of ``radminer suggest``'s output: those of ``synonyms.csv``, evidence, ``accept``.
SUGGESTION_COLUMNS: tuple[str, ...] = (
    "term", "synonym", "kind", "note", "frequency", "document_frequency", "mentions_changed", "proposal",
    "examples", "accept",
)  # fmt: skip
#: ``accept`` values that apply a row, and those that do not.
#: Prefixes that put a finding beside or inside an organ ("periportal", "subpleural", "intrahepatic").
_LOCATION_PREFIXES: tuple[str, ...] = tuple(
    p for p in PREFIXES if p not in ("non", "hypo", "hyper", "post", "extra", "trans")
)
#: Adjectival and Latin endings set aside to compare stems ("portal" / "porta", "pleural" / "pleura").
_STEM_ENDINGS: tuple[str, ...] = ("ial", "eal", "ary", "ous", "ic", "al", "ar", "ac", "um", "us", "is", "a", "e", "y")
#: Shortest word that may be a misspelling, and the length from which two edits are allowed.
_MIN_MISSPELLING = 7
_TWO_EDITS_FROM = 12
_UNITS = frozenset({"mm", "cm", "m", "ml", "cc", "hu", "x", "kg", "mg", "sec", "min"})
_EXAMPLES = 3
_EXAMPLE_CHARS = 140
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]\Z")
_REDACTED = re.compile(r"x{2,}\Z")


class Proposal(NamedTuple):
    """A target label for a word: its ``synonyms.csv`` ``kind``, the rule that found it, and why."""

    label: str
    kind: str
    rule: str
    note: str
    word: str  # the label's word it comes from


@dataclass
class Suggestion:
    """One row of the output (see :data:`SUGGESTION_COLUMNS`)."""

    synonym: str
    frequency: int
    document_frequency: int
    mentions_changed: int
    examples: tuple[str, ...]
    proposal: Proposal | None

    def row(self) -> dict[str, str | int]:
        """The CSV row (``term``, ``kind``, ``note`` and ``proposal`` empty without a proposal)."""
        p = self.proposal
        return {
            "term": p.label if p else "",
            "synonym": self.synonym,
            "kind": p.kind if p else "",
            "note": p.note if p else "",
            "frequency": self.frequency,
            "document_frequency": self.document_frequency,
            "mentions_changed": self.mentions_changed,
            "proposal": p.rule if p else "",
            "examples": " | ".join(self.examples),
            "accept": "",
        }


def _stems(word: str) -> set[str]:
    """``word`` and the stems left by each ending of :data:`_STEM_ENDINGS` (three letters at least)."""
    return {word} | {word[: -len(e)] for e in _STEM_ENDINGS if word.endswith(e) and len(word) - len(e) >= 3}


def _depth(word: str) -> int:
    return 2 if len(word) >= _TWO_EDITS_FROM else 1


class Proposer:
    """Proposes a target label for the match keys of a word or phrase that no term matches.

    ``known_words``: English words (never taken for misspellings).
    """

    def __init__(self, graph: LabelGraph, analyzer: Analyzer, known_words: Iterable[str] = ()) -> None:
        self.graph = graph
        self.known_words = frozenset(known_words)
        self._parts: dict[tuple[str, ...], dict[str, str]] = {}  # modifier in a longer phrase → label → phrase
        self._words: dict[str, set[str]] = {}  # a label's one-word phrase → labels
        self._body_stems: dict[str, set[str]] = {}  # stem of a body part's word → body parts
        self._named: dict[str, set[str]] = {}  # word → labels whose names or synonyms hold it
        self._spellings: dict[str, set[str]] = {}  # deletion of a long one-word phrase → phrases
        lexicon = [(phrase, label, analyzer.phrase_keys(phrase)) for phrase, label in graph.lexicon().items()]
        # words that name a body part by themselves ("hepatic"): as a modifier of a longer body
        # part's phrase ("hepatic flexure", the colon's) they still name their own
        own = {keys[0] for _, label, keys in lexicon if len(keys) == 1 and graph.category(label) == "bodypart"}
        for phrase, label, keys in lexicon:
            for key in keys:
                self._named.setdefault(key, set()).add(label)
            if len(keys) == 1:
                self._words.setdefault(keys[0], set()).add(label)
                if len(keys[0]) >= _MIN_MISSPELLING - 1:
                    for d in deletions(keys[0], 2):
                        self._spellings.setdefault(d, set()).add(keys[0])
            # a longer phrase lends its modifiers (not its head, the last word: "space", "junction")
            modifiers = [k for k in keys[:-1] if len(k) >= 4 and k not in PREFIXES]
            for key in modifiers:
                self._parts.setdefault((key,), {}).setdefault(label, phrase)
            if graph.category(label) == "bodypart":
                for key in keys if len(keys) == 1 else [k for k in modifiers if k not in own]:
                    for stem in _stems(key):
                        self._body_stems.setdefault(stem, set()).add(label)

    def __call__(self, keys: tuple[str, ...]) -> Proposal | None:
        """The proposal for ``keys`` (a word, or a phrase: none yet), or ``None``."""
        if len(keys) != 1:
            return None
        word = keys[0]
        return self.location(word) or self.synonym(word) or self.misspelling(word)

    def _general(self, labels: Iterable[str]) -> str | None:
        """The one label of ``labels`` that is an ancestor of all the others, if any."""
        labels = set(labels)
        for label in labels:
            if all(other == label or label in self.graph.ancestors(other) for other in labels):
                return label
        return None

    def location(self, word: str) -> Proposal | None:
        """A location prefix on a body part's stem ("periportal" → porta hepatis)."""
        for prefix in _LOCATION_PREFIXES:
            rest = word[len(prefix) :].lstrip("-")
            if not word.startswith(prefix) or len(rest) < 4:
                continue
            found: set[str] = set()
            for stem in _stems(rest):
                found |= self._body_stems.get(stem, set())
            if not found:
                continue
            exact = {x for x in self._words.get(rest, ()) if x in found}
            named = {a for x in self._named.get(word, ()) for a in self.graph.ancestors(x) if a in found}
            choice = self._general(exact) or self._general(named) or self._general(found)
            if choice is None:
                continue
            others = sorted(found - {choice} - self.graph.descendants(choice))
            also = f"; also {', '.join(others)}" if others else ""
            return Proposal(choice, "adjective", "location", f"{prefix}- + {rest} ({choice}){also}", rest)
        return None

    def synonym(self, word: str) -> Proposal | None:
        """A word that is no English word and modifies the longer names or synonyms of one label,
        or of a label and its descendants ("costophrenic" of "costophrenic sulcus")."""
        holders = self._parts.get((word,), {}) if word not in self.known_words else {}
        choice = self._general(holders)
        if choice is None:
            return None
        return Proposal(choice, "variant", "synonym", f"part of {holders[choice]!r}", word)

    def misspelling(self, word: str) -> Proposal | None:
        """A long unknown word one edit (two from :data:`_TWO_EDITS_FROM` letters) from a label's
        word, but for another prefix or ending ("hyperdense", "asymmetric", "infectious"). The
        corpus must hold the label's word more often (see :meth:`Suggester.suggestions`)."""
        if len(word) < _MIN_MISSPELLING or word in self.known_words:
            return None
        depth = _depth(word)
        near = {p for d in deletions(word, depth) for p in self._spellings.get(d, ())}
        scored = sorted((edit_distance(word, p, depth), p) for p in near if not other_words(word, p))
        best = [p for n, p in scored if n <= depth and n == scored[0][0]]
        labels = {x for p in best for x in self._words[p]}
        if len(labels) != 1:
            return None
        (label,) = labels
        note = f"misspelling of {best[0]!r} ({scored[0][0]} edit(s))"
        return Proposal(label, "variant", "misspelling", note, best[0])


@dataclass
class _Seen:
    """What the corpus shows of one candidate, and its proposal."""

    proposal: Proposal | None
    frequency: int = 0
    documents: int = 0
    changed: int = 0
    last_document: int = -1
    last_row: int = -1
    examples: list[str] = field(default_factory=list)
    spellings: Counter[tuple[int, ...]] = field(default_factory=Counter)  # token ORTHs → occurrences


class _Row:
    """A lesion row (a bookmark's sentence, or a whole text) and its matched labels."""

    __slots__ = ("_expanded", "document", "graph", "labels", "number")

    def __init__(self, number: int, document: int, graph: LabelGraph, labels: set[str]) -> None:
        self.number, self.document, self.graph, self.labels = number, document, graph, labels
        self._expanded: frozenset[str] | None = None

    def lacks(self, label: str) -> bool:
        """Whether ``label`` is neither a label of the row nor an ancestor of one."""
        if self._expanded is None:
            self._expanded = self.graph.expand(self.labels)
        return label not in self._expanded


class Suggester:
    """Collects candidate words from analyzed texts (:meth:`add`) and ranks them (:meth:`suggestions`).

    ``graph``: the ontology (with any curation already applied). ``rules``: the negation /
    uncertainty rules whose words are not candidates (``None``: the shipped ones). ``bookmark``:
    as for the :class:`~radminer.Extractor`. ``sections``: the report sections read (as the
    Extractor's ``sections``).
    """

    def __init__(
        self,
        graph: LabelGraph,
        *,
        bookmark: str | None = "BOOKMARK",
        rules: ContextRules | None = None,
        sections: str | Sequence[str] | None = None,
    ) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS

        from .analysis import Analyzer, _spacy_lookup
        from .context import ContextRules
        from .matching import Matcher
        from .sections import section_filter

        self.graph = graph
        self.analyzer = Analyzer(bookmark=bookmark)
        self.matcher = Matcher(graph, self.analyzer)
        lookup = _spacy_lookup()
        self.proposer = Proposer(graph, self.analyzer, known_words={*lookup, *lookup.values()})
        rules = rules or ContextRules.default()
        phrases = [*rules.triggers, *rules.descriptors, *rules.lesion_heads, *GAP_WORDS]
        curation = graph.curation or Curation()
        phrases += [w for c in curation.compositions for w in c.words]
        self._skip = frozenset(STOP_WORDS) | _UNITS | {k for p in phrases for k in self.analyzer.phrase_keys(p)}
        self._content: dict[str, bool] = {}  # match key → whether it may be a candidate
        self._include, self._exclude = section_filter(sections)
        self._seen: dict[tuple[str, ...], _Seen] = {}
        self._matched: Counter[str] = Counter()  # match key of one-word matches → occurrences
        self._documents = 0
        self._rows = 0

    def _is_content(self, key: str) -> bool:
        ok = len(key) >= 3 and _WORD.match(key) is not None and key not in self._skip and _REDACTED.match(key) is None
        self._content[key] = ok
        return ok

    def feed(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[None]:
        """Read ``texts``, yielding once per text (for a progress bar)."""
        for analysis in self.analyzer.pipe(texts, batch_size=batch_size, write_doc=False):
            self.add(analysis)
            yield None

    def add(self, analysis: Analysis) -> None:
        """Count the candidates of one analyzed text."""
        from .sections import PLAIN, counted, layout

        document = self._documents
        self._documents += 1
        keys, orths = analysis.keys, analysis.orths
        matches = self.matcher.match(keys)
        self._matched.update(k for m in matches if m.end - m.start == 1 and (k := keys[m.start]) is not None)
        if not matches and not analysis.bookmarks:
            return
        sent_starts = analysis.sent_starts
        if analysis.bookmarks:
            rows = list(dict.fromkeys(analysis.sentence_of(t) for t in analysis.bookmarks))
        else:
            held = {bisect_right(sent_starts, m.start) - 1 for m in matches}
            rows = [(0, len(keys))]
            sentences = [analysis.sentence_of(sent_starts[k]) for k in sorted(held)]
        plan = layout(analysis, matches, self.graph)
        content_of = self._content.get
        for lo, hi in rows:
            self._rows += 1
            inside = [m for m in matches if lo <= m.start and m.end <= hi]
            covered = {i for m in inside for i in range(m.start, m.end)}
            row = _Row(self._rows, document, self.graph, {m.label for m in inside})
            for s_lo, s_hi in [(lo, hi)] if analysis.bookmarks else sentences:
                if plan is not PLAIN and not counted([plan.section(s_lo)], self._include, self._exclude)[0]:
                    continue
                last: tuple[int, str] | None = None  # the previous candidate word, while no other word follows it
                for i in range(s_lo, s_hi):
                    key = keys[i]
                    if key is None:
                        continue
                    content = content_of(key)
                    if content is None:
                        content = self._is_content(key)
                    if not content or i in covered:
                        last = None
                        continue
                    self._count((key,), (orths[i],), analysis, i, i + 1, s_lo, s_hi, row)
                    if last is not None:
                        j, before = last
                        self._count((before, key), (orths[j], orths[i]), analysis, j, i + 1, s_lo, s_hi, row)
                    last = (i, key)

    def _count(
        self,
        candidate: tuple[str, ...],
        orths: tuple[int, ...],
        analysis: Analysis,
        start: int,
        end: int,
        s_lo: int,
        s_hi: int,
        row: _Row,
    ) -> None:
        """One occurrence of ``candidate`` (tokens ``[start, end)`` of the sentence ``[s_lo, s_hi)``) in ``row``."""
        seen = self._seen.get(candidate)
        if seen is None:
            seen = self._seen[candidate] = _Seen(self.proposer(candidate))
        seen.frequency += 1
        seen.spellings[orths] += 1
        if seen.last_document != row.document:
            seen.documents += 1
            seen.last_document = row.document
            if len(seen.examples) < _EXAMPLES:
                seen.examples.append(_example(analysis.text, *analysis.chars(s_lo, s_hi), *analysis.chars(start, end)))
        proposal = seen.proposal
        if proposal is not None and seen.last_row != row.number and row.lacks(proposal.label):
            seen.changed += 1
            seen.last_row = row.number

    def suggestions(self, *, min_count: int = 5) -> list[Suggestion]:
        """Candidates with a proposal, ranked by mentions changed (then frequency), then those
        without one that occur at least ``min_count`` times, by frequency. A misspelling is
        proposed only when the corpus holds the word it misspells more often."""
        strings = self.analyzer.tokenizer.vocab.strings
        out = []
        for seen in self._seen.values():
            proposal = seen.proposal
            if (
                proposal is not None
                and proposal.rule == "misspelling"
                and self._matched[proposal.word] <= seen.frequency
            ):
                proposal = None
            if proposal is None and seen.frequency < min_count:
                continue
            spellings: Counter[str] = Counter()
            for orths, n in seen.spellings.items():
                spellings[" ".join(strings[o] for o in orths).lower()] += n
            spelling = spellings.most_common(1)[0][0]
            changed = seen.changed if proposal else 0
            out.append(Suggestion(spelling, seen.frequency, seen.documents, changed, tuple(seen.examples), proposal))
        out.sort(key=lambda s: (s.proposal is None, -s.mentions_changed, -s.frequency, s.synonym))
        return out


def _example(text: str, start: int, end: int, first: int, last: int) -> str:
    """The sentence ``text[start:end]`` around the word ``text[first:last]`` (marked with brackets),
    cut to about :data:`_EXAMPLE_CHARS` characters, blanks collapsed."""
    half = _EXAMPLE_CHARS // 2
    lo, hi = max(start, first - half), min(end, last + half)
    before = ("…" if lo > start else "") + text[lo:first]
    after = text[last:hi] + ("…" if hi < end else "")
    return " ".join(f"{before}[{text[first:last]}]{after}".split())


def write_suggestions(suggestions: Iterable[Suggestion], handle: IO[str]) -> None:
    """``suggestions`` as CSV with the header :data:`SUGGESTION_COLUMNS`."""
    writer = csv.DictWriter(handle, fieldnames=list(SUGGESTION_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for suggestion in suggestions:
        writer.writerow(suggestion.row())
