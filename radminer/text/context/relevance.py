"""Relevance: which mentions of a bookmarked sentence are about another lesion than the bookmarked one."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING

from ..mentions import Mention
from .rules import ContextRules, Folded
from .scopes import Context, with_context

if TYPE_CHECKING:
    from ...ontology.graph import LabelGraph

__all__ = ["BODYPART_CATEGORY", "HEAD_CATEGORY", "mark_irrelevant"]

#: Category of the labels that name a lesion (heads of clauses in :func:`mark_irrelevant`).
HEAD_CATEGORY = "type"
#: Category of the labels that name a body part (a location).
BODYPART_CATEGORY = "bodypart"


def mark_irrelevant(
    text: str,
    mentions: Sequence[Mention],
    graph: LabelGraph,
    *,
    bookmark: int,
    rules: ContextRules | None = None,
    folded: Folded | None = None,
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
    two clauses: unchanged. ``folded``: ``rules.fold(text)``, when the caller keeps it.
    ``categories``: label → category of the graph's labels, when the caller keeps it. ``made``:
    mention → its irrelevant copy, taken from and added to (the rows of one sentence share them).
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
        + [match.span() for match in rules.head_pattern.finditer(text, lo, hi)]
    )
    merged: list[tuple[int, int]] = []
    for start, end in heads:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    if len(merged) < 2:
        return list(mentions)
    boundaries = [match.span() for match in rules.boundary_pattern.finditer(text, lo, hi)]
    boundary_starts = [b[0] for b in boundaries]
    scanned = rules.fold(text) if folded is None else folded

    def cut_after(n: int) -> int | None:
        """The cut between heads ``n`` and ``n + 1``, if any (it lies between them)."""
        left_end, right_start = merged[n][1], merged[n + 1][0]
        last = bisect_left(boundary_starts, right_start) - 1  # the last boundary starting before the next head
        if last < 0 or boundary_starts[last] < left_end:
            return None
        cut, after = boundaries[last]
        same = rules.same_lesion_pattern.search(text, after, right_start) or any(
            t.kind == "uncertain" for t in rules.scan(scanned, after, right_start)
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
