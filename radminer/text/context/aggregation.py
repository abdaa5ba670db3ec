"""Aggregation: a lesion's mentions → its labels (exclusive labels resolved, then positive /
uncertain / negated labels with their ancestors)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..mentions import Mention
from .relevance import BODYPART_CATEGORY, HEAD_CATEGORY
from .scopes import Context, with_context

if TYPE_CHECKING:
    from ...ontology.graph import LabelGraph

__all__ = ["aggregate", "resolve_exclusive"]

#: A negation of what is new only ("no new nodules"): the known ones may be there.
_NO_NEW = re.compile(r"no\s+new(?:ly)?\Z", re.IGNORECASE)


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


def aggregate(
    mentions: Iterable[Mention],
    graph: LabelGraph,
    questions: frozenset[str] = frozenset(),
    *,
    nature_hedges: frozenset[str] = frozenset(),
    lesion_natures: frozenset[str] = frozenset(),
) -> tuple[tuple[str, ...], ...]:
    """``(labels, uncertain, negated)`` of one row, each sorted.

    ``labels``: labels of positive mentions with all ancestors. ``uncertain``: labels of
    uncertain mentions with ancestors, minus ``labels``; a mention made uncertain by one of the
    ``questions`` (triggers as :attr:`ContextRules.questions
    <radminer.text.context.ContextRules.questions>` holds them: "evaluate for") does not count
    when a later mention of its label is negated: the question is answered ("Evaluate for
    abscess. No abscess."). ``negated``: labels of negated mentions with what they negate
    (:meth:`LabelGraph.negates <radminer.ontology.LabelGraph.negates>`: "no lung nodule" negates
    *nodule*, not *lung*), minus both; a finding negated as "no new" is positive when the row
    holds one of its kind where it lies, the known one ("No new pulmonary nodules. The known 5 mm
    lingular nodule is stable.": lung nodule positive). A lesion nature hedged by one of the
    ``nature_hedges`` (compact, as :attr:`ContextRules.nature_hedges
    <radminer.text.context.ContextRules.nature_hedges>` holds them) that is one of the
    ``lesion_natures`` or lies below one keeps its organ positive, as :func:`refine` does for an
    organ named apart: "likely renal cyst" (one label, *kidney cyst*) gives *kidney* positive, and so
    do the body parts composed over it ("renal cyst in the right ..."). ``irrelevant`` mentions
    count nowhere.
    """
    by_status: dict[str, set[str]] = {"positive": set(), "uncertain": set(), "negated": set()}
    asked: list[Mention] = []
    hedged: list[Mention] = []  # made uncertain by a nature hedge
    no_new: list[str] = []
    last_negated: dict[str, int] = {}  # label → start of its last negated mention
    for m in mentions:
        status = m.status
        if status not in by_status or m.label not in graph:
            continue
        if status == "negated":
            last_negated[m.label] = m.start
            if m.trigger and _NO_NEW.match(m.trigger):
                no_new.append(m.label)
        elif status == "uncertain" and m.trigger:
            cue = "".join(m.trigger.lower().split())
            if cue in nature_hedges:
                hedged.append(m)
            if cue in questions:
                asked.append(m)
                continue
        by_status[status].add(m.label)
    by_status["uncertain"].update(m.label for m in asked if last_negated.get(m.label, -1) < m.start)
    if hedged:
        by_status["positive"].update(_located(hedged, graph, lesion_natures))
    if no_new:
        found = graph.expand(by_status["positive"])
        by_status["positive"].update([label for label in set(no_new) if _known(label, found, graph)])
    labels = graph.expand(by_status["positive"])
    uncertain = graph.expand(by_status["uncertain"]) - labels
    negated = {x for label in by_status["negated"] for x in graph.negates(label)} - labels - uncertain
    return tuple(sorted(labels)), tuple(sorted(uncertain)), tuple(sorted(negated))


def _located(hedged: list[Mention], graph: LabelGraph, lesion_natures: frozenset[str]) -> set[str]:
    """The organs of the lesion natures among the mentions that a nature hedge made uncertain
    (``hedged``, all in ``graph``; see :func:`aggregate`)."""
    natures = [m for m in hedged if not lesion_natures.isdisjoint(graph.expand([m.label]))]
    out: set[str] = set()
    for m in natures:  # a nature in an organ, named as one ("kidney cyst"; not "hemangioma", a vessel's tumour)
        parents = graph.parents(m.label)
        if not lesion_natures.isdisjoint(parents):
            out.update(x for x in parents if graph.category(x) == BODYPART_CATEGORY)
    for m in hedged:
        if graph.category(m.label) == BODYPART_CATEGORY and any(
            n.trigger_start == m.trigger_start and m.start < n.end and n.start < m.end for n in natures
        ):
            out.add(m.label)
    return out


def _known(label: str, found: frozenset[str], graph: LabelGraph) -> bool:
    """Whether the positive labels of a row, with their ancestors (``found``), hold a finding of the
    kind of ``label`` (a finding negated as "no new") where ``label`` lies: a lesion type of its own
    or above it, and, when ``label`` names a body part, a positive label at or below it ("lung
    nodule": a nodule, and the lingula)."""
    above = graph.expand([label])
    kinds = {x for x in above if graph.category(x) == HEAD_CATEGORY}
    parts = {x for x in above if graph.category(x) == BODYPART_CATEGORY}
    where = parts - {a for x in parts for a in graph.ancestors(x)}  # the most specific ("lung", not "chest")
    return bool(kinds & found) and all(x in found for x in where)
