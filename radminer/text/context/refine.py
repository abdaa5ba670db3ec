"""Refinement: statuses that depend on what the labels are (body parts, lesion types), on
clauses, on differentials and exceptions, and on report headers; and descriptors ("nodular")
that describe a shape rather than assert a finding. Applied after :mod:`.scopes`.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, NamedTuple

from ..mentions import Mention
from .relevance import HEAD_CATEGORY
from .rules import STATUS_KINDS, ContextRules, Folded, Trigger, found_within
from .scopes import POSITIVE, Context, statuses

if TYPE_CHECKING:
    from ...ontology.graph import LabelGraph

__all__ = ["Header", "describe", "refine"]


class Header(NamedTuple):
    """A header in character offsets: ``start``-``end`` the header with its colon, ``body_end``
    the end of the text under it (the next header, or the end); ``organ``: it names a body part."""

    start: int
    end: int
    body_end: int
    organ: bool


#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__
#: Categories of the labels that refine() treats apart: body parts (locations) and lesion types.
_BODYPART_CATEGORY = "bodypart"
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
    found: Sequence[Trigger] | None = None,
    folded: Folded | None = None,
) -> list[Mention]:
    """Statuses that depend on what the labels are, on clauses and on headers (after
    :func:`assign_context`; ``mentions`` sorted by start, updated in place and returned).
    ``categories``: label → category of the graph's labels, when the caller keeps it;
    ``found``: the triggers of the sentences, when the caller has looked for them already;
    ``folded``: ``rules.fold(text)``, when the caller keeps it.

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
    is_part = [k == _BODYPART_CATEGORY for k in kinds]
    for p, m in enumerate(mentions):
        if m.status == "normal" and kinds[p] == HEAD_CATEGORY:
            mentions[p] = _status(m, POSITIVE)
    if folded is None:
        folded = rules.fold(text)
    if found is None:
        found = rules.scan(folded, sentences[0][0], sentences[-1][1])
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
            _differentials(text, mentions, members, rules, found, folded, sentences[k])
        if negated and exceptions:
            _exceptions(text, mentions, members, is_part, rules, found, folded, sentences[k][1])
        if normal or (positive_part and unfound):
            _clauses(text, mentions, members, is_part, rules, found, folded, sentences[k], bookmark)
    for header in headers:
        _header(text, mentions, is_part, rules, found, folded, header, sentences)
    return mentions


def _status(mention: Mention, context: Context) -> Mention:
    """``mention`` with the status and trigger of ``context``."""
    m, c = mention, context
    fields = m.label, m.text, m.start, m.end, c.status, c.trigger, c.trigger_start, c.trigger_end, m.section
    return _new(Mention, fields)


def _context_of(mention: Mention) -> Context:
    """The status and trigger of ``mention``."""
    return Context(mention.status, mention.trigger, mention.trigger_start, mention.trigger_end)


def _lesion_nouns(
    text: str, start: int, end: int, rules: ContextRules, found: Sequence[Trigger], folded: Folded
) -> list[Context]:
    """The contexts of the lesion nouns of ``text[start:end]`` that are not part of a trigger
    (``found``: the triggers of the text around; ``folded``: the text by ``rules.fold``)."""
    heads = [match.span() for match in rules.head_pattern.finditer(text, start, end)]
    if not heads:
        return []
    near = found[bisect_right(found, start, key=_end) : bisect_left(found, end, key=_start)]
    heads = [h for h in heads if not any(t.start < h[1] and h[0] < t.end for t in near)]
    if not heads:
        return []
    inside = found_within(found, start, end)  # not searched for again where they are known
    contexts = statuses(text, heads, rules, [start], [end], None, found=inside, folded=folded)
    return [contexts.get(p, POSITIVE) for p in range(len(heads))]


def _asserted(contexts: Iterable[Context]) -> bool:
    """Whether one of the lesion nouns of ``contexts`` is not negated (a lesion is never normal)."""
    return any(c.status != "negated" for c in contexts)


def _differentials(
    text: str,
    mentions: list[Mention],
    members: list[int],
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    sentence: tuple[int, int],
) -> None:
    """The differential rule of :func:`refine` for the mentions ``members`` of one sentence."""
    alternatives: dict[int, list[int]] = {}  # trigger start → the mentions it made uncertain
    for p in members:
        m = mentions[p]
        if m.status == "uncertain" and m.trigger is not None and rules.is_differential(m.trigger):
            alternatives.setdefault(m.trigger_start or 0, []).append(p)
    for trigger, group in alternatives.items():
        lesion = any(rules.head_pattern.search(text, mentions[p].start, mentions[p].end) for p in group) or any(
            c.status != "negated" for c in _lesion_nouns(text, sentence[0], trigger, rules, found, folded)
        )
        if not lesion:  # the status the alternatives have without the differential cues
            spans = [(mentions[p].start, mentions[p].end) for p in group]
            plain = rules.without_differential_cues(folded, found, *sentence)
            bounds = [sentence[0]], [sentence[1]]
            if plain is None:
                contexts = statuses(text, spans, rules.without_differentials(), *bounds, None)
            else:
                contexts = statuses(text, spans, rules, *bounds, None, found=plain)
            for n, p in enumerate(group):
                mentions[p] = _status(mentions[p], contexts.get(n, POSITIVE))


def _exceptions(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    sentence_end: int,
) -> None:
    """The exception rule of :func:`refine` for the mentions ``members`` of one sentence."""
    negated = [p for p in members if mentions[p].status == "negated"]
    first = min(mentions[p].end for p in negated)
    cues = [t for t in _starting_in(found, first, sentence_end) if t.kind == "exception"]
    for cue in cues:
        after = [q for q in members if mentions[q].start >= cue.end]
        lesion = any(not is_part[q] and mentions[q].status == "positive" for q in after) or _asserted(
            _lesion_nouns(text, cue.end, sentence_end, rules, found, folded)
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
    found: Sequence[Trigger],
    folded: Folded,
    sentence: tuple[int, int],
    bookmark: int | None,
) -> None:
    """The clause rules of :func:`refine` for the mentions ``members`` of one sentence."""
    start, end = sentence
    if not (
        any(mentions[p].status == "positive" and not is_part[p] for p in members)
        or (bookmark is not None and start <= bookmark < end)
        or rules.head_pattern.search(text, start, end)
    ) and not any(is_part[p] and mentions[p].status == "positive" for p in members):
        return  # no lesion to restore a normal part for, and no part to find normal
    cuts = [match.end() for match in rules.clause_pattern.finditer(text, start, end)]
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
            or _asserted(_lesion_nouns(text, lo, hi, rules, found, folded))
        )
        for p in normal if lesion else bare:
            mentions[p] = _status(mentions[p], POSITIVE if lesion else Context("normal"))


def _header(
    text: str,
    mentions: list[Mention],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
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
            _context_of(mentions[p]) for p in _mentions_in(mentions, header.end, header.body_end) if not is_part[p]
        ] or _lesion_nouns(text, header.end, header.body_end, rules, found, folded)
        best = min(evidence, key=lambda c: _FINDING_RANK.get(c.status, 0), default=POSITIVE)
        if best.status != "positive":
            for p in own:
                if is_part[p]:
                    mentions[p] = _status(mentions[p], best)


_start = attrgetter("start")
_end = attrgetter("end")


def _starting_in(found: Sequence[Trigger], start: int, end: int) -> Sequence[Trigger]:
    """The triggers of ``found`` (sorted, not overlapping) that start in ``[start, end)``."""
    return found[bisect_left(found, start, key=_start) : bisect_left(found, end, key=_start)]


def _mentions_in(mentions: Sequence[Mention], start: int, end: int) -> range:
    """Positions of the ``mentions`` (sorted by start) that start in ``[start, end)``."""
    return range(bisect_left(mentions, start, key=_start), bisect_left(mentions, end, key=_start))
