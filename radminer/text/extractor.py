"""The :class:`Extractor`: report text → one :class:`~radminer.text.mentions.LesionLabels` per lesion.

Stages (one module each): analysis (:mod:`radminer.text.analysis`) → matching
(:mod:`radminer.text.matching`) → context (:mod:`radminer.text.context`: negated / uncertain /
irrelevant) → compositions (:mod:`radminer.text.compose`) → aggregation and expansion to
ancestors. A text with bookmarks gives one row per bookmark, mined from the sentence that
holds it; a text without gives one row for the whole text. Work and output stay linear in
the text whatever its shape: see :data:`~radminer.text.analysis.MAX_SENTENCE_TOKENS`,
:data:`BOOKMARK_REACH` and :data:`BOOKMARK_WINDOW_CHARS` (a text that hits a cap is named in a
:class:`RadminerWarning`).

    >>> from radminer import Extractor
    >>> extractor = Extractor()
    >>> [row.labels for row in extractor("Low density left adrenal nodule BOOKMARK.")][0][:3]
    ('abdomen', 'adrenal gland', 'hypoattenuation')
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ..errors import InputError, RadminerWarning
from ..ontology.graph import LabelGraph
from ..ontology.labelspace import LabelSpace
from ..ontology.loader import load_ontology
from .analysis import MAX_SENTENCE_TOKENS, Analysis, Analyzer
from .compose import Composed, Composer
from .context import (
    HEAD_CATEGORY,
    POSITIVE,
    Context,
    ContextRules,
    Folded,
    Header,
    aggregate,
    describe,
    mark_irrelevant,
    refine,
    resolve_exclusive,
    statuses,
    with_context,
)
from .lexicon import check_match_keys
from .matching import Match, Matcher, select
from .mentions import LesionLabels, Mention, SentenceLabels
from .sections import PLAIN, Layout, counted, layout, section_filter

if TYPE_CHECKING:
    from spacy.vocab import Vocab

__all__ = ["BOOKMARK_REACH", "BOOKMARK_WINDOW_CHARS", "Extractor", "chunks"]

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

#: Default cap on ``LesionLabels.sentence`` when a whole text is mined (no bookmark).
_MAX_SENTENCE_CHARS = 2000
#: Most characters in the ``sentence`` of a bookmark row: a longer sentence (hostile input: the
#: longest of 4,827 Open-i and CMC 2007 reports has 270) is cut to this many characters around
#: the bookmark, "…" marking a cut end, so that no row repeats a huge sentence (a 1 MB token of
#: glued bookmarks would otherwise give each of its 131,072 rows a 1 MB sentence).
BOOKMARK_WINDOW_CHARS = 1000
#: In a sentence cut into pieces (over :data:`~radminer.text.analysis.MAX_SENTENCE_TOKENS` tokens:
#: hostile input, such as thousands of bookmarks in one sentence), a bookmark row is mined from
#: the tokens of its piece within this many of its bookmark, so that each row costs and weighs
#: little: enough for a lesion's description ("2.1 x 1.5 cm hypodense lesion in the right hepatic
#: lobe BOOKMARK" is 12 tokens).
BOOKMARK_REACH = 12
#: Default number of recent distinct texts whose rows an Extractor keeps (see ``cache_size``).
_CACHE_SIZE = 1024
#: Distinct sentences whose mentions an Extractor keeps, per text of ``cache_size``.
_SENTENCES_PER_TEXT = 4
_STATUS_RANK = {"positive": 0, "uncertain": 1, "negated": 2, "normal": 3, "irrelevant": 4}
#: For a composed lesion type, which is never normal: its normal body part says nothing of it
#: ("Lungs without nodules": a negated lung nodule).
_LESION_TYPE_RANK = {**_STATUS_RANK, "normal": 0}


class Extractor:
    """Mines the labels of an ontology from report texts.

    ``ontology``: ``None`` (the shipped lesion ontology), a path (OWL or vocabulary CSV,
    read with the shipped curation tables) or a :class:`LabelGraph`. ``label_set``: labels
    kept in the output rows (``"all"``, a shipped set such as ``"lesanet171"``, a file or a
    list; mentions are kept whatever their label). ``bookmark``: regular expression of the
    lesion marks (``None``: none; every text is mined whole). ``lemmatizer``: ``"spacy"`` or
    ``"wordnet"``. ``context``: ``True`` for radminer's negation / uncertainty / relevance
    stage, ``False`` for every mention positive. ``compositions``: apply the curated
    compositions. ``organ_parts``: in a composition that makes a finding, a part of the organ
    stands for it ("right lower lobe nodule" → lung nodule, "nodule in the lingula"); off by
    default, as LesaNet's labels compose a finding with an organ only where the organ is named
    ("right lower lobe nodule": nodule, right lower lobe, lung). ``spelling``: a long word that
    is no term and no English word, one letter from a one-word term, is read as that term
    ("lymphadenapathy", "hydronephorsis"; see :class:`~radminer.text.matching.Speller`); ``False``
    matches terms as written only. ``max_sentence_chars``: cap on
    the ``sentence`` of a whole-text row.
    ``vocab``: a spaCy ``Vocab`` to share (the spaCy component passes its pipeline's).
    ``cache_size``: the rows of that many recent distinct texts are kept and given again for
    a repeated text (templated reports such as "No acute cardiopulmonary abnormality." recur
    often), and the mentions of four times as many recent distinct sentences (mined again only
    where their surroundings differ); 0 turns both off. The rows do not depend on them.
    ``context_rules``: the negation / uncertainty rules (``None``: the shipped ones; a path to a
    rules file, see docs/context.md; or a :class:`~radminer.text.context.ContextRules`).
    ``sections``: the report sections whose mentions count towards the labels (``None``: all but
    history, indication, comparison, technique and recommendation; ``"all"``; or a list of
    section names, see :mod:`radminer.text.sections`); text outside any section always counts,
    and every mention is reported whatever its section. ``extra_synonyms``: a synonyms CSV applied on top of the
    shipped curation when the ontology is loaded here (see :func:`radminer.load_ontology`).

    An Extractor is picklable (it is rebuilt from its configuration, see :attr:`config`), so
    it can be sent to worker processes.
    """

    def __init__(
        self,
        ontology: str | Path | LabelGraph | None = None,
        *,
        label_set: str | Sequence[str] | Path = "all",
        bookmark: str | None = "BOOKMARK",
        lemmatizer: str = "spacy",
        context: bool = True,
        compositions: bool = True,
        organ_parts: bool = False,
        spelling: bool = True,
        max_sentence_chars: int = _MAX_SENTENCE_CHARS,
        cache_size: int = _CACHE_SIZE,
        context_rules: ContextRules | str | Path | None = None,
        sections: str | Sequence[str] | None = None,
        vocab: Vocab | None = None,
        extra_synonyms: str | Path | None = None,
    ) -> None:
        if isinstance(ontology, LabelGraph) and extra_synonyms is not None:
            raise InputError("extra_synonyms: give them to load_ontology when the ontology is a LabelGraph")
        if isinstance(ontology, LabelGraph):
            graph = ontology if label_set == "all" else ontology.with_label_set(label_set)
        elif ontology is None or isinstance(ontology, (str, Path)):
            graph = load_ontology(ontology, label_set=label_set, extra_synonyms=extra_synonyms)
        else:
            raise InputError(f"ontology: expected None, a path or a LabelGraph, found {type(ontology).__name__}")
        if not isinstance(max_sentence_chars, int) or max_sentence_chars < 1:
            raise InputError(f"max_sentence_chars: expected a positive integer, found {max_sentence_chars!r}")
        if not isinstance(cache_size, int) or cache_size < 0:
            raise InputError(f"cache_size: expected a non-negative integer, found {cache_size!r}")
        self._config: dict[str, Any] = {
            "ontology": ontology if not isinstance(ontology, Path) else str(ontology),
            "label_set": label_set if not isinstance(label_set, Path) else str(label_set),
            "bookmark": bookmark,
            "lemmatizer": lemmatizer,
            "context": bool(context),
            "compositions": bool(compositions),
            "organ_parts": bool(organ_parts),
            "spelling": bool(spelling),
            "max_sentence_chars": max_sentence_chars,
            "cache_size": cache_size,
            "context_rules": str(context_rules) if isinstance(context_rules, Path) else context_rules,
            "sections": sections if sections is None or isinstance(sections, str) else list(sections),
            "extra_synonyms": str(extra_synonyms) if extra_synonyms is not None else None,
        }
        self._include, self._exclude = section_filter(sections)
        self.graph = graph
        self.analyzer = Analyzer(bookmark=bookmark, lemmatizer=lemmatizer, vocab=vocab)
        self.matcher = Matcher(graph, self.analyzer)
        if isinstance(ontology, (str, Path)):  # a user's file: its phrases checked against the analyzer
            check_match_keys(graph, self.analyzer)
        self.composer = Composer(
            graph, self.analyzer, compositions=None if compositions else (), with_parts=organ_parts
        )
        if spelling:  # after the lexicon's own words are analysed: those are never corrected
            self.analyzer.speller = self.matcher.speller()
        self._context = _ContextStage(graph, _rules(context_rules)) if context else None
        self._max_chars = max_sentence_chars
        self._keep = frozenset(graph.label_space)
        self._all_labels = len(self._keep) == len(graph)
        self._caches: tuple[dict[str, _Mined], ...] = ({}, {})  # rows, sentence rows: text → them, oldest first
        self._cache_size = cache_size
        # sentence key (see _found_by_sentence) → (the character start of the sentence it was mined
        # in, its tokens, its mentions there); least recently used first
        self._sentence_cache: dict[tuple[Any, ...], tuple[int, list[int], tuple[Mention, ...]]] = {}
        self._sentence_cache_size = _SENTENCES_PER_TEXT * cache_size
        self._cache_lock = threading.Lock()  # threads may share an extractor (a Dask worker's, say)

    # -- configuration and pickling ---------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this extractor (``ontology`` may be a LabelGraph)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Extractor:
        """An Extractor built from :attr:`config` (unknown keys raise :class:`InputError`)."""
        allowed = {
            "ontology", "label_set", "bookmark", "lemmatizer", "context", "compositions", "organ_parts", "spelling",
            "max_sentence_chars", "cache_size", "context_rules", "sections", "extra_synonyms",
        }  # fmt: skip
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise InputError(f"unknown Extractor option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        options = dict(config)
        return cls(options.pop("ontology", None), **options)

    def __reduce__(self) -> tuple[Callable[..., Extractor], tuple[Any, ...]]:
        config = self.config
        graph = config["ontology"]
        if isinstance(graph, LabelGraph):
            terms = [graph.term(label) for label in graph.labels]
            config["ontology"] = (terms, graph.source, graph.curation, graph.curation_skipped)
        return (_rebuild, (config,))

    def __repr__(self) -> str:
        return f"<Extractor {self.graph.source!r}: {len(self.graph)} labels, bookmark={self._config['bookmark']!r}>"

    @property
    def label_space(self) -> LabelSpace:
        """The labels of the output rows (the ``label_set``), in order: the columns of label matrices."""
        return self.graph.label_space

    # -- extraction -------------------------------------------------------------------------
    def __call__(self, text: str) -> list[LesionLabels]:
        """Rows of one text: one per bookmark, or one for the whole text."""
        return next(self.pipe([text]))

    def sentences(self, text: str) -> list[SentenceLabels]:
        """Rows of one text, one per sentence (none for a text without one).

        The text is mined whole, as without bookmarks (a bookmark is a token that matches
        nothing), then each mention goes to the sentence of its last character, and each
        sentence's labels are aggregated from its own mentions. Every sentence gives a row,
        with or without mentions.
        """
        return next(self.pipe_sentences([text]))

    def pipe(
        self, texts: Iterable[str], *, batch_size: int = 256, names: Iterable[str] | None = None
    ) -> Iterator[list[LesionLabels]]:
        """:meth:`__call__` over a stream of texts, in order. ``names``: a name for each text
        (its report id), given in the warning of a text that hits a cap on hostile input."""
        return self._pipe(texts, batch_size, names, sentences=False)

    def pipe_sentences(
        self, texts: Iterable[str], *, batch_size: int = 256, names: Iterable[str] | None = None
    ) -> Iterator[list[SentenceLabels]]:
        """:meth:`sentences` over a stream of texts, in order; ``names`` as in :meth:`pipe`."""
        return self._pipe(texts, batch_size, names, sentences=True)

    def _pipe(
        self, texts: Iterable[str], batch_size: int, names: Iterable[str] | None, *, sentences: bool
    ) -> Iterator[list[Any]]:
        named = iter(names) if names is not None else None
        if not self._cache_size:
            for analysis in self.analyzer.pipe(texts, batch_size=batch_size, write_doc=False):
                rows, capped = self._mine(analysis, sentences)
                name = next(named, None) if named is not None else None
                if capped:
                    _warn_capped(capped, name, analysis.text)
                yield rows
            return
        for batch in chunks(texts, batch_size):
            found = self._cached(batch, sentences)
            for text in batch:
                rows, capped = found[text]
                name = next(named, None) if named is not None else None
                if capped:
                    _warn_capped(capped, name, text)
                yield list(rows)

    def _cached(self, batch: list[str], sentences: bool) -> dict[str, _Mined]:
        """Rows of each distinct text of ``batch`` (per sentence or not): from the cache, or mined and then cached."""
        for text in batch:
            if not isinstance(text, str):
                raise InputError(f"expected each text as str, found {type(text).__name__}")
        cache, found = self._caches[sentences], {}
        with self._cache_lock:
            for text in batch:
                rows = cache.pop(text, None)  # re-inserted below: most recently used
                if rows is not None:
                    found[text] = rows
        todo = [text for text in dict.fromkeys(batch) if text not in found]
        analyses = self.analyzer.pipe(todo, batch_size=len(todo) or 1, write_doc=False)
        for text, analysis in zip(todo, analyses, strict=True):
            found[text] = self._mine(analysis, sentences)
        with self._cache_lock:
            cache.update(found)
            for text in list(itertools.islice(cache, max(0, len(cache) - self._cache_size))):
                del cache[text]
        return found

    def rows(self, analysis: Analysis) -> list[LesionLabels]:
        """Rows of an analyzed text (see :meth:`Analyzer.annotate <radminer.text.analysis.Analyzer.annotate>`)."""
        rows, capped = self._mine(analysis)
        if capped:
            _warn_capped(capped, None, analysis.text)
        return rows

    def _mine(self, analysis: Analysis, sentences: bool = False) -> _Mined:
        """Rows of an analyzed text (per sentence or not), and what the caps on hostile input cut
        in it ("": nothing)."""
        text = analysis.text
        if not analysis.keys:
            return _Mined([] if sentences else [LesionLabels(bookmark=None, sentence="")], "")
        capped = []
        if analysis.cuts:
            capped.append(
                f"sentences of over {MAX_SENTENCE_TOKENS} tokens cut into pieces ({len(analysis.cuts):,} cuts)"
            )
        matches = self.matcher.match(analysis.keys)
        plan = layout(analysis, matches, self.graph)
        if sentences:
            return _Mined(self._sentence_rows(analysis, plan, _within_sentences(matches, analysis)), "; ".join(capped))
        if not analysis.bookmarks:
            matches = _within_sentences(matches, analysis)
            sentence = text.strip()
            if len(sentence) > self._max_chars:
                sentence = sentence[: self._max_chars].rstrip() + "…"
            return _Mined(
                [self._row(analysis, plan, matches, None, 0, len(analysis.keys), sentence)], "; ".join(capped)
            )
        out = []
        match_starts = [m.start for m in matches]
        token_starts = analysis.offsets()[0]
        cuts = set(analysis.cuts)
        windows = 0
        shared = _Shared({}, {})
        last: tuple[tuple[int, int, int], tuple[str, bool]] = ((-1, -1, -1), ("", False))  # glued bookmarks share it
        for index, token in enumerate(analysis.bookmarks):
            lo, hi = analysis.sentence_of(token)
            if cuts and (lo in cuts or hi in cuts):  # a piece of a sentence too long to be real
                lo, hi = max(lo, token - BOOKMARK_REACH), min(hi, token + BOOKMARK_REACH + 1)
            inside = matches[bisect_left(match_starts, lo) : bisect_left(match_starts, hi)]
            inside = [m for m in inside if m.end <= hi]
            start, end = analysis.chars(lo, hi)
            if end - start > BOOKMARK_WINDOW_CHARS:
                if last[0] != (start, end, token):
                    last = (start, end, token), _window(text, start, end, token_starts[token], BOOKMARK_WINDOW_CHARS)
                sentence, cut = last[1]
                windows += cut
            else:
                sentence = text[start:end].strip()
            out.append(self._row(analysis, plan, inside, index, lo, hi, sentence, shared))
        if windows:
            capped.append(f"the sentence of {windows:,} bookmark row(s) cut to {BOOKMARK_WINDOW_CHARS:,} characters")
        return _Mined(out, "; ".join(capped))

    def _row(
        self,
        analysis: Analysis,
        plan: Layout,
        matches: list[Match],
        bookmark: int | None,
        lo: int,
        hi: int,
        sentence: str,
        shared: _Shared | None = None,
    ) -> LesionLabels:
        mentions = self._found(analysis, plan, matches, bookmark, lo, hi, shared)
        if not mentions:
            return LesionLabels(bookmark, sentence)
        return LesionLabels(bookmark, sentence, *self._aggregate(mentions, plan), tuple(mentions))

    def _sentence_rows(self, analysis: Analysis, plan: Layout, matches: list[Match]) -> list[SentenceLabels]:
        """One row per sentence of a text mined whole (see :meth:`sentences`)."""
        mentions = self._found(analysis, plan, matches, None, 0, len(analysis.keys))
        starts, ends = analysis.offsets()
        sent_starts = analysis.sent_starts
        char_starts = [starts[first] for first in sent_starts]
        by_sentence: dict[int, list[Mention]] = {}
        for m in mentions:
            by_sentence.setdefault(bisect_right(char_starts, m.end - 1) - 1, []).append(m)
        section = None if plan is PLAIN else plan.section
        text = analysis.text
        out: list[SentenceLabels] = []
        for k, (lo, hi) in enumerate(itertools.pairwise([*sent_starts, len(analysis.keys)])):
            start, end = starts[lo], ends[hi - 1]
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start == end:  # blanks only
                continue
            sentence = text[start : min(end, start + self._max_chars)]
            if end - start > self._max_chars:
                sentence = sentence.rstrip() + "…"
            found = by_sentence.get(k, [])
            labels = self._aggregate(found, plan) if found else ((), (), ())
            where = section and section(lo)
            out.append(SentenceLabels(len(out), start, end, where, sentence, *labels, tuple(found)))
        return out

    def _found(
        self,
        analysis: Analysis,
        plan: Layout,
        matches: list[Match],
        bookmark: int | None,
        lo: int,
        hi: int,
        shared: _Shared | None = None,
        *,
        by_sentence: bool = True,
    ) -> list[Mention]:
        """The mentions of tokens ``[lo, hi)`` with their statuses, sorted; ``bookmark``: the
        index of the row's bookmark, if any (``None``: the whole text, mined sentence by sentence
        through the sentence cache when there is one and ``by_sentence``); ``shared``: what the
        rows of the text share."""
        if not matches and not self.composer.words_in(analysis.keys, lo, hi):
            return []
        if by_sentence and bookmark is None and self._sentence_cache_size and not analysis.cuts:
            return self._found_by_sentence(analysis, plan, matches)
        chosen = select(matches)
        built, made = (None, None) if shared is None else shared
        mentions = _mentions(analysis, chosen, plan, built)
        mark = None if bookmark is None else analysis.offsets()[0][analysis.bookmarks[bookmark]]
        if self._context is not None:
            mentions = self._context.assign(analysis, mentions, mark, lo, hi, plan, made)
        composed = self.composer.compose(matches, analysis.keys, analysis.sent_starts, lo, hi, blocks=plan.blocks)
        if composed:
            statuses = _inherit(matches, chosen, mentions)
            added = _Added()
            kept = set(chosen)
            new = _mentions(analysis, [c.match for c in composed], plan, built)
            outside = _outside(matches, composed) if plan.blocks else ()  # an organ header's body part
            if self._context is not None and (outside or any(not c.components for c in composed)):
                # words only, "no splenomegaly"; a side under an organ header, "ADRENALS: ... Left normal."
                alone = [n for n, c in enumerate(composed) if not c.components or n in outside]
                found = self._context.contexts(analysis, [new[n] for n in alone], lo, hi, among=mentions)
                for n, context in zip(alone, found, strict=True):
                    new[n] = with_context(new[n], context)
            for item, mention in zip(composed, new, strict=True):
                parts = [statuses[i] for i in item.components] or _overlapping(mentions, len(chosen), added, mention)
                rank = _LESION_TYPE_RANK if self.graph.category(mention.label) == HEAD_CATEGORY else _STATUS_RANK
                worst = max(parts, key=lambda m: rank.get(m.status, 0), default=mention)
                if worst.status != "positive":
                    m, w = mention, worst  # the status and trigger of the worst
                    fields = m.label, m.text, m.start, m.end, w.status, w.trigger, w.trigger_start, w.trigger_end
                    mention = _new(Mention, (*fields, m.section))
                elif self._context is not None:  # "left nephrectomy": the organ named by its removal
                    mention = self._context.described(analysis.text, mention)
                statuses.append(mention)
                if item.match not in kept:
                    added.add(len(mentions), mention)
                    mentions.append(mention)
            mentions.sort(key=lambda m: (m.start, -m.end, m.label))
        if self._context is not None and mark is not None:
            mentions = resolve_exclusive(mentions, self.graph, bookmark=mark)
        return mentions

    def _found_by_sentence(self, analysis: Analysis, plan: Layout, matches: list[Match]) -> list[Mention]:
        """The mentions of a whole text: a sentence met before in the same place (its text and
        tokens, whether a word character comes just before it, its section) gives its mentions
        again from the sentence cache; each run of the other sentences is mined at once, and its
        sentences are cached. A sentence whose statuses may depend on another one (a header, the
        first sentence under it, a sentence under an organ header, one a section starts inside)
        is never cached."""
        starts, ends = analysis.offsets()
        text, orths, keys = analysis.text, analysis.orths, analysis.keys
        bounds = [*analysis.sent_starts, len(keys)]
        fixed = _fixed_sentences(analysis, plan) if plan is not PLAIN or analysis.headers else ()
        match_starts = [m.start for m in matches]
        cache = self._sentence_cache
        out: list[Mention] = []
        run: list[_Cacheable] = []  # the cacheable sentences of the run
        run_lo, fixed_in_run = 0, False  # a run with neither has nothing to mine
        for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if hi == lo or (
                bisect_left(match_starts, lo) == bisect_left(match_starts, hi)
                and not self.composer.words_in(keys, lo, hi)
            ):
                continue  # nothing to find in it: left in whatever run it falls in
            if k in fixed:
                fixed_in_run = True
                continue
            start, end = starts[lo], ends[hi - 1]
            key = (start > 0 and _WORD_CHAR.match(text, start - 1) is not None, text[start:end],
                   None if plan is PLAIN else plan.section(lo))  # fmt: skip
            tokens = orths[lo:hi]
            cached = cache.pop(key, None)
            if cached is None or cached[1] != tokens:  # new, or the same text tokenized otherwise
                run.append((start, end, key, tokens))
                continue
            cache[key] = cached  # put back last: the most recently used (no lock needed: one step each)
            if run or fixed_in_run:
                out += self._mined_run(analysis, plan, matches, match_starts, run_lo, lo, run)
            origin, _, mentions = cached
            out += mentions if origin == start else [_shifted(m, start - origin) for m in mentions]
            run, run_lo, fixed_in_run = [], hi, False
        if run or fixed_in_run:
            out += self._mined_run(analysis, plan, matches, match_starts, run_lo, len(keys), run)
        return out

    def _mined_run(
        self,
        analysis: Analysis,
        plan: Layout,
        matches: list[Match],
        match_starts: list[int],
        lo: int,
        hi: int,
        cacheable: list[_Cacheable],
    ) -> list[Mention]:
        """The mentions of the sentences of tokens ``[lo, hi)``, mined together; those of the
        ``cacheable`` sentences (char start, end, key, tokens) go to the sentence cache."""
        inside = matches[bisect_left(match_starts, lo) : bisect_left(match_starts, hi)]
        found = self._found(analysis, plan, inside, None, lo, hi, by_sentence=False)
        if cacheable:
            firsts = [m.start for m in found]
            new = {
                key: (start, tokens, tuple(found[bisect_left(firsts, start) : bisect_left(firsts, end)]))
                for start, end, key, tokens in cacheable
            }
            cache = self._sentence_cache
            with self._cache_lock:
                cache.update(new)
                for key in list(itertools.islice(cache, max(0, len(cache) - self._sentence_cache_size))):
                    cache.pop(key, None)  # another thread may have taken it out to put it back
        return found

    def _aggregate(
        self, mentions: list[Mention], plan: Layout
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """``(labels, uncertain, negated)`` of ``mentions``: those of the sections that count, in the label set."""
        rules = self._context.rules if self._context is not None else None
        questions, hedges, natures = (
            (rules.questions, rules.nature_hedges, rules.lesion_natures) if rules else (frozenset(),) * 3
        )
        counting: Iterable[Mention] = mentions
        if plan is not PLAIN:  # (aggregate reads them in one pass)
            counting = compress(mentions, counted((m.section for m in mentions), self._include, self._exclude))
        labels, uncertain, negated = aggregate(
            counting, self.graph, questions, nature_hedges=hedges, lesion_natures=natures
        )
        if not self._all_labels:
            keep_labels = self._keep
            labels, uncertain, negated = (
                tuple(x for x in group if x in keep_labels) for group in (labels, uncertain, negated)
            )
        return labels, uncertain, negated


class _Shared(NamedTuple):
    """What the rows of one text share: the mention of each match, the irrelevant copy of each mention."""

    mentions: dict[Match, Mention]
    irrelevant: dict[Mention, Mention]


#: A sentence to cache once mined: its character start and end, its key, its tokens (ORTH ids).
_Cacheable = tuple[int, int, tuple[Any, ...], list[int]]


class _Mined(NamedTuple):
    """The rows of one text, and what the caps on hostile input cut in it ("": nothing)."""

    rows: list[Any]  # LesionLabels, or SentenceLabels when mined per sentence
    capped: str


def _warn_capped(capped: str, name: str | None, text: str) -> None:
    """One :class:`RadminerWarning` for a text that hit a cap, naming it (by ``name``, else its size)."""
    what = f"row {name}" if name is not None else f"a text of {len(text):,} characters"
    warnings.warn(f"{what}: {capped} (hostile input? see docs/extraction.md, Limits)", RadminerWarning, stacklevel=3)


def _window(text: str, start: int, end: int, mark: int, size: int) -> tuple[str, bool]:
    """``text[start:end]`` (blanks at its ends stripped) cut to ``size`` characters around the
    character ``mark``, "…" marking a cut end; and whether it was cut."""
    first, last = start, end
    while first < last and text[first].isspace():
        first += 1
    while last > first and text[last - 1].isspace():
        last -= 1
    if last - first <= size:
        return text[first:last], False
    lo = max(first, min(mark - size // 2, last - size))
    hi = lo + size
    return ("…" if lo > first else "") + text[lo:hi].strip() + ("…" if hi < last else ""), True


def _rebuild(config: dict[str, Any]) -> Extractor:
    ontology = config["ontology"]
    if isinstance(ontology, tuple):
        terms, source, curation, skipped = ontology
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reported when the graph was first built
            graph = LabelGraph(terms, source=source, curation=curation, curation_skipped=skipped)
        config = {**config, "ontology": graph}
    return Extractor.from_config(config)


def _rules(rules: ContextRules | str | Path | None) -> ContextRules:
    """The context rules given to the Extractor: the shipped ones, a file's, or the value itself."""
    if rules is None:
        return ContextRules.default()
    if isinstance(rules, ContextRules):
        return rules
    if isinstance(rules, (str, Path)):
        return ContextRules.from_file(rules)
    raise InputError(f"context_rules: expected None, a path or a ContextRules, found {type(rules).__name__}")


def _within_sentences(matches: list[Match], analysis: Analysis) -> list[Match]:
    """``matches`` without those that run into the next sentence ("no lung\\nNODULE: none"), but
    for a term that holds a header's colon ("abdomen: soft" in a user vocabulary)."""
    sent_starts = analysis.sent_starts
    if len(sent_starts) == 1:
        return matches
    if not analysis.headers:
        return [
            m
            for m in matches
            if m.end - m.start == 1 or bisect_right(sent_starts, m.start) == bisect_right(sent_starts, m.end - 1)
        ]  # a one-token match (most are) lies in one sentence
    header_starts = {start for start, _ in analysis.headers}
    after_header = {nxt for s, nxt in itertools.pairwise(sent_starts) if s in header_starts}
    out = []
    for m in matches:
        first, last = bisect_right(sent_starts, m.start), bisect_right(sent_starts, m.end - 1)
        if first == last or all(s in after_header for s in sent_starts[first:last]):
            out.append(m)
    return out


def _mentions(
    analysis: Analysis, matches: Iterable[Match], plan: Layout = PLAIN, built: dict[Match, Mention] | None = None
) -> list[Mention]:
    """A positive mention of each match (character offsets from token offsets), in its section.
    ``built``: the mentions already made of matches of this text, taken from and added to."""
    starts, ends = analysis.offsets()
    text = analysis.text
    section = None if plan is PLAIN else plan.section
    out = []
    for m in matches:
        mention = None if built is None else built.get(m)
        if mention is None:
            start, end = starts[m.start], ends[m.end - 1]
            where = section and section(m.start)
            mention = _new(Mention, (m.label, text[start:end], start, end, "positive", None, None, None, where))
            if built is not None:
                built[m] = mention
        out.append(mention)
    return out


def _outside(matches: list[Match], composed: list[Composed]) -> set[int]:
    """The compositions (by position) with a component outside their match: an organ header's."""
    items = [*matches, *(c.match for c in composed)]
    return {
        n
        for n, c in enumerate(composed)
        if any(items[i].start < c.match.start or items[i].end > c.match.end for i in c.components)
    }


def _inherit(matches: list[Match], chosen: list[Match], mentions: list[Mention]) -> list[Mention]:
    """For each match, the mention of the first chosen match that holds it (its status source).

    Chosen matches do not nest, so sorted by start they are sorted by end too: the first
    that holds a match is the first that ends at or after it.
    """
    by_match = dict(zip(chosen, mentions, strict=True))
    ends = [c.end for c in chosen]
    return [by_match.get(m) or mentions[bisect_left(ends, m.end)] for m in matches]


class _Added:
    """Mentions added by compositions, indexed by start (for overlap queries)."""

    def __init__(self) -> None:
        self.starts: list[tuple[int, int]] = []  # (start, position in the mention list), sorted
        self.longest = 0

    def add(self, position: int, mention: Mention) -> None:
        self.starts.insert(bisect_left(self.starts, (mention.start, position)), (mention.start, position))
        self.longest = max(self.longest, mention.end - mention.start)

    def overlapping(self, start: int, end: int) -> list[int]:
        """Positions of the added mentions that may overlap ``[start, end)``, ascending."""
        lo = bisect_left(self.starts, (start - self.longest, -1))
        hi = bisect_left(self.starts, (end, -1))
        return sorted(position for _, position in self.starts[lo:hi])


def _overlapping(mentions: list[Mention], chosen: int, added: _Added, target: Mention) -> list[Mention]:
    """The mentions that overlap ``target``, in list order: ``mentions[:chosen]`` (of the chosen
    matches: sorted, non-nested) then those of ``added``."""
    out = []
    for k in range(bisect_left(mentions, target.start + 1, 0, chosen, key=_end), chosen):
        m = mentions[k]
        if m.start >= target.end:
            break
        out.append(m)
    for position in added.overlapping(target.start, target.end):
        m = mentions[position]
        if m.start < target.end and target.start < m.end:
            out.append(m)
    return out


def _shifted(mention: Mention, by: int) -> Mention:
    """``mention`` with its character offsets (and its trigger's) moved by ``by``."""
    m = mention
    trigger = (None, None) if m.trigger_start is None else (m.trigger_start + by, (m.trigger_end or 0) + by)
    return _new(Mention, (m.label, m.text, m.start + by, m.end + by, m.status, m.trigger, *trigger, m.section))


def _fixed_sentences(analysis: Analysis, plan: Layout) -> set[int]:
    """The sentences of ``analysis`` (by index) whose mentions may depend on other sentences:
    the headers, the first sentence under each, those under an organ header, and those a
    section starts inside (a recommendation cue)."""
    sent_starts = analysis.sent_starts
    out: set[int] = set()
    for first, _ in analysis.headers:
        k = bisect_right(sent_starts, first) - 1
        out.update((k, k + 1))
    for block in plan.blocks:
        out.update(range(bisect_right(sent_starts, block.start) - 1, bisect_left(sent_starts, block.end)))
    for start in plan.section_starts:
        k = bisect_right(sent_starts, start) - 1
        if sent_starts[k] != start:
            out.add(k)
    return out


def _headers(analysis: Analysis, layout: Layout, lo: int, hi: int) -> list[Header]:
    """The headers of tokens ``[lo, hi)`` in character offsets, with the end of the text under each."""
    starts, ends = analysis.offsets()
    headers = analysis.headers
    out = []
    for n in range(bisect_left(headers, lo, key=_first), bisect_left(headers, hi, key=_first)):
        h, e = headers[n]
        block = layout.block(h)  # (an organ block may end before the next header: "...; pancreas: normal; ...")
        following = headers[n + 1][0] if n + 1 < len(headers) else len(analysis.keys)
        body_end = following if block is None else block.end
        out.append(Header(starts[h], ends[e - 1], ends[body_end - 1], block is not None))
    return out


_end = attrgetter("end")
#: A word character: one just before a sentence would join a trigger's first word (``(?<!\w)``).
_WORD_CHAR = re.compile(r"\w")
#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__
_first = itemgetter(0)


class _ContextStage:
    """The adapter to :mod:`radminer.text.context` (statuses of the chosen mentions of one row).

    Triggers are only looked for where a token may start one (:meth:`ContextRules.trigger_offsets`,
    kept per token). The last text's fold (:meth:`ContextRules.fold`) is kept: the rows of one
    text (one per bookmark) fold it once.
    """

    def __init__(self, graph: LabelGraph, rules: ContextRules) -> None:
        self.graph = graph
        self.rules = rules
        self._categories = {label: graph.category(label) for label in graph.labels}
        self._offsets: dict[int, tuple[int, ...]] = {}  # ORTH → offsets where a trigger may start
        self._last_fold: tuple[str, Folded] | None = None  # (text, its fold); one tuple: safe across threads

    def _fold(self, text: str) -> Folded:
        """``rules.fold(text)``, kept for the next call on the same text."""
        last = self._last_fold
        if last is not None and last[0] is text:
            return last[1]
        folded = self.rules.fold(text)
        self._last_fold = (text, folded)
        return folded

    def assign(
        self,
        analysis: Analysis,
        mentions: list[Mention],
        mark: int | None,
        lo: int,
        hi: int,
        layout: Layout,
        made: dict[Mention, Mention] | None = None,
    ) -> list[Mention]:
        """``mentions`` (of tokens ``[lo, hi)``, sorted) with their contexts: updated in place
        (:func:`~radminer.text.context.statuses`, then :func:`~radminer.text.context.refine` and
        :func:`~radminer.text.context.describe`), then marked irrelevant (a new list, sharing the
        copies of ``made``) when ``mark`` is a bookmark's offset."""
        text = analysis.text
        if not mentions:
            return mentions
        trigger_starts = self._trigger_starts(analysis, lo, hi)
        folded = self._fold(text)
        headers = _headers(analysis, layout, lo, hi) if analysis.headers else []
        if trigger_starts or not folded.exact or any(h.organ for h in headers):
            bounds = self._sentences(analysis, lo, hi)
            triggers = self.rules.scan(folded, bounds[0][0], bounds[1][-1], trigger_starts)
            found = statuses(text, [(m.start, m.end) for m in mentions], self.rules, *bounds, None, found=triggers)
            for p, context in found.items():
                mentions[p] = with_context(mentions[p], context)
            refine(
                text,
                mentions,
                self.graph,
                rules=self.rules,
                sentences=list(zip(*bounds, strict=True)),
                headers=headers,
                bookmark=mark,
                categories=self._categories,
                found=triggers,
                folded=folded,
            )
        describe(mentions, self.rules, text, self._categories)
        if mark is not None:
            mentions = mark_irrelevant(
                text,
                mentions,
                self.graph,
                bookmark=mark,
                rules=self.rules,
                folded=folded,
                categories=self._categories,
                made=made,
            )
        return mentions

    def described(self, text: str, mention: Mention) -> Mention:
        """``mention`` (a composed one, positive) with the status :func:`describe` gives it in ``text``."""
        return describe([mention], self.rules, text, self._categories)[0]

    def contexts(
        self, analysis: Analysis, mentions: list[Mention], lo: int, hi: int, among: Sequence[Mention] = ()
    ) -> list[Context]:
        """The contexts of ``mentions`` (of tokens ``[lo, hi)``) by the trigger rules only, as
        targets among those of ``among`` (the scopes they end and chain through; a lesion type
        is never normal: "mild cardiomegaly with normal caliber vessels")."""
        if not mentions:
            return []
        spans = [(m.start, m.end) for m in (*among, *mentions)]
        text = analysis.text
        starts = self._trigger_starts(analysis, lo, hi)  # tried where a trigger may start, not searched for
        found = statuses(text, spans, self.rules, *self._sentences(analysis, lo, hi), starts, folded=self._fold(text))
        contexts = [found.get(p, POSITIVE) for p in range(len(among), len(spans))]
        return [
            POSITIVE
            if c.status == "normal"
            and (self._categories.get(m.label) == HEAD_CATEGORY or self._describes_lesion(m, c, among))
            else c
            for m, c in zip(mentions, contexts, strict=True)
        ]

    def _describes_lesion(self, mention: Mention, context: Context, among: Sequence[Mention]) -> bool:
        """Whether a backward normal cue reaches ``mention`` over a positive lesion type that lies
        between them, which it describes ("ADRENALS: Left nodule of 1.8 cm, homogeneous": the
        left adrenal gland holds the nodule)."""
        return context.trigger_start is not None and any(
            mention.end <= m.start
            and m.end <= context.trigger_start
            and m.status == "positive"
            and self._categories.get(m.label) == HEAD_CATEGORY
            for m in among
        )

    @staticmethod
    def _sentences(analysis: Analysis, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """Character starts and ends of the sentences of tokens ``[lo, hi)``."""
        starts, ends = analysis.offsets()
        sent_starts = analysis.sent_starts
        first = max(bisect_right(sent_starts, lo) - 1, 0)  # ``lo`` may be inside a sentence (BOOKMARK_REACH)
        sentences = [lo, *sent_starts[first + 1 : bisect_left(sent_starts, hi)]]
        return [starts[s] for s in sentences], [ends[e - 1] for e in [*sentences[1:], hi]]

    def _trigger_starts(self, analysis: Analysis, lo: int, hi: int) -> list[int]:
        """Character positions in tokens ``[lo, hi)`` where a trigger may start, ascending."""
        orths = analysis.orths[lo:hi]
        try:
            tokens = list(compress(range(lo, hi), map(self._offsets.__getitem__, orths)))
        except KeyError:  # a token text not seen before
            strings = analysis.doc.vocab.strings
            for orth in {o for o in orths if o not in self._offsets}:
                self._offsets[orth] = self.rules.trigger_offsets(strings[orth])
            tokens = list(compress(range(lo, hi), map(self._offsets.__getitem__, orths)))
        starts = analysis.offsets()[0]
        offsets, all_orths = self._offsets, analysis.orths
        return [starts[i] + k for i in tokens for k in offsets[all_orths[i]]]


def chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
