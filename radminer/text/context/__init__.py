"""Context of mentions: negation, uncertainty, relevance to the bookmarked lesion, exclusive labels.

ConText-style (Harkema et al. 2009) on character offsets, so the stage does not depend on how
the text was tokenized or how mentions were matched. One module per step:

- :mod:`.rules`: the rules file, validated and compiled (:class:`ContextRules`);
- :mod:`.scopes`: the status each target takes from the trigger scopes around it;
- :mod:`.refine`: statuses that need the labels' categories, clauses, headers, and descriptors;
- :mod:`.relevance`: mentions about another lesion than the bookmarked one;
- :mod:`.aggregation`: exclusive labels resolved, a lesion's labels aggregated.

Interface for the Extractor (all offsets are character offsets into ``text``)::

    rules = ContextRules.default()                          # once; read-only, picklable
    ctx = assign_context(text, [(m.start, m.end) for m in mentions],
                         rules=rules, sentences=[(s.start_char, s.end_char) for s in doc.sents])
    mentions = [with_context(m, c) for m, c in zip(mentions, ctx)]
    refine(text, mentions, graph, rules=rules, sentences=..., headers=..., bookmark=offset)
    describe(mentions, rules, text)                         # "nodular", "mass-like": uncertain
    # bookmark mode, on the mentions of the bookmarked sentence (bookmark: its char offset):
    mentions = mark_irrelevant(text, mentions, graph, bookmark=offset, rules=rules)
    mentions = resolve_exclusive(mentions, graph, bookmark=offset)
    labels, uncertain, negated = aggregate(mentions, graph)

``apply_context(doc, spans)`` does the first two lines for a spaCy ``Doc`` and its ``Span``\\ s.
A caller that mines one text many times (one row per bookmark) folds it once
(:meth:`ContextRules.fold`), scans its triggers (:meth:`ContextRules.scan`) and gives both to
:func:`statuses`, :func:`refine` and :func:`mark_irrelevant`. See docs/context.md for the rules.
"""

from .aggregation import aggregate, resolve_exclusive
from .refine import Header, describe, refine
from .relevance import HEAD_CATEGORY, mark_irrelevant
from .rules import STATUS_KINDS, STATUS_OF, ContextRules, ContextRulesError, Folded, Trigger
from .scopes import POSITIVE, Context, apply_context, assign_context, split_sentences, statuses, with_context

__all__ = [
    "HEAD_CATEGORY",
    "POSITIVE",
    "STATUS_KINDS",
    "STATUS_OF",
    "Context",
    "ContextRules",
    "ContextRulesError",
    "Folded",
    "Header",
    "Trigger",
    "aggregate",
    "apply_context",
    "assign_context",
    "describe",
    "mark_irrelevant",
    "refine",
    "resolve_exclusive",
    "split_sentences",
    "statuses",
    "with_context",
]
