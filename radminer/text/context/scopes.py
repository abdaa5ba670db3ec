"""Trigger scopes: the status (negated / uncertain / normal / irrelevant) each target takes from the triggers around it.

A forward trigger ("no", "possible") covers the targets after it, a backward trigger ("is not
seen", "cannot be excluded") those before it; a scope ends at the sentence end, at the next
trigger of any kind (terminators "but", "however", "which", ";" and pseudo-triggers such as "no
change in" exist only to end scopes), or when more than ``window`` words separate the trigger,
or the previous target in scope, from the next target (so enumerations chain: "No
consolidation, effusion, or pneumothorax" negates all three). A target in several scopes takes
the nearest trigger (negation first on a tie). An ``other_person`` trigger ("family history of",
"brother had") makes its targets ``irrelevant``: they are another person's; so does a
``historical`` one ("history of", "hx"): the patient's history is no finding of the exam.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from ..mentions import Mention
from .rules import STATUS_KINDS, STATUS_OF, ContextRules, Folded, Trigger

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["POSITIVE", "Context", "apply_context", "assign_context", "split_sentences", "statuses", "with_context"]

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
#: The opening of a pseudo-trigger that denies a change it holds ("no interval enlargement", "has not grown").
_DENIAL = re.compile(r"(?:no|none|neither|not|without|(?:has|have|had|is|are|was|were)\s+not)\b", re.IGNORECASE)
#: In such a cue, a change said to have happened before ("no further enlargement": the node is still enlarged).
_FURTHER = re.compile(r"\bfurther\b", re.IGNORECASE)
#: Where the clause of a backward negation turned forward ends (see ``_turned``).
_CLAUSE_CUT = re.compile(r"[,;]")
#: Between a forward normal cue and its first target: a comma only ("liver normal, right kidney").
_COMMA_ONLY = re.compile(r"\s*[,;]\s*")
#: Between a forward hedge's first target and the next: ", and" opens another item ("probably a
#: cyst, and splenomegaly"; not the last of a list: "possible atelectasis, scarring, and edema").
_COMMA_AND = re.compile(r"\s*,\s*and\s+(?:an?\s+|the\s+)?", re.IGNORECASE)
#: Between two targets of a scope: what joins them in one list ("no effusion or pneumothorax",
#: "no consolidation, effusion").
_JOINED = re.compile(r"[,/&]|\b(?:and|or|nor|as well as)\b", re.IGNORECASE)
#: Between two targets not joined: what opens another finding in dictation without stops, a
#: word of degree or size ("no consolidation or effusion mild bronchiectasis"), or a line break
#: ("no ureteral stone seen\nbladder wall thickened"; see :func:`_another_finding`).
_ANOTHER_FINDING = re.compile(
    r"\b(?:mild|mildly|moderate|moderately|severe|severely|small|large|minimal|trace|tiny|marked|extensive)\b",
    re.IGNORECASE,
)
#: Just before the next target of a scope: a measurement, which describes a finding seen ("no
#: effusion, 3 mm calcified granuloma", "suspicious for metastasis and a second 5 mm hypodensity").
_MEASURED_NEXT = re.compile(
    r"\d(?:[\d.]*\d)?\s*(?:mm|cm)(?:\s+(?!(?:in|of|within|at|on)\b)[\w-]+){0,2}\s*\Z", re.IGNORECASE
)
_MEASURED_KINDS = frozenset({"negated", "uncertain"})
#: Between two targets of a negation or hedge: ", and" before a word that opens another finding
#: ("possibly representing metastasis, and multiple enlarged retroperitoneal nodes").
_AND_ANOTHER = re.compile(r",\s*and\s+(?:a|an|another|multiple|several|numerous|few|two|three|\d)\b", re.IGNORECASE)
#: After a trigger, the rest of its sentence when it ends it.
_ENDS = re.compile(r"[\s.;:!?]*")
#: Right before a negation: a comma, so the negation is one of a series ("no adenopathy, no ascites").
_SERIES = re.compile(r",\s*\Z")
#: In the scope of "no": "the" right after a target, or one word that is no preposition and "the"
#: right after the cue, then a verb, a new clause in dictation without stops ("no pneumothorax the
#: right 8th rib has a lytic lesion"; not a dropped preposition, "no fracture the rest of the femur").
_CLAUSE_AHEAD = (
    r"(?P<the>the)\s+(?:[\w-]+\s+){0,5}(?:is|are|was|were|has|have|shows?|demonstrates?|contains?|measures?)\b"
)
_NEW_SUBJECT = re.compile(rf"\s+{_CLAUSE_AHEAD}", re.IGNORECASE)
_RUN_ON = re.compile(
    r"\s+(?!(?:of|in|into|within|to|on|at|by|for|from|with|without|involving|including|than|and|or|nor)\b)[\w-]+\s+"
    + _CLAUSE_AHEAD,
    re.IGNORECASE,
)
#: Between a differential cue and the target before it: an alternative that names no label ("nodes,
#: reactive vs neoplastic"; in lower case: not a bookmark).
_LOWER_WORD = re.compile(r"(?<!\w)[a-z][a-z-]+\b")
#: Between the first two targets of "not": a word that makes the second the object of the first
#: ("does not invade the pericardium"); without one, "not" bears on its word only ("not enlarged
#: right paratracheal node": the node is there).
_FUNCTION_WORD = re.compile(r"\b(?:the|a|an|of|in|on|at|to|for|with|by|from|into|within|any)\b", re.IGNORECASE)
#: Between a target and the place written after it: "mass in the RUL", "lesion of the pancreatic head".
_PLACED = re.compile(r"\s+(?:in|within|of|at|involving)\s+(?:the\s+)?", re.IGNORECASE)
#: Between a forward ``normal`` cue and a target, or a hedged target and the next: "with", which
#: adds another finding ("heart size normal with coronary artery calcification").
_WITH = re.compile(r"\bwith\b", re.IGNORECASE)
#: Just before a line break: a word that needs the next line (text wrapped inside a phrase,
#: "without invasion of the\nrenal vein"), so the break opens nothing.
_WRAPPED = re.compile(r"\b(?:the|a|an|of|in|into|within|to|with|without|for|at|on|by|from)[ \t]*\Z", re.IGNORECASE)


class Context(NamedTuple):
    """Status of one target and the trigger that set it (``None`` fields when positive).

    Field names are those of :class:`~radminer.text.mentions.Mention`, so
    :func:`with_context` applies it to a mention.
    """

    status: str = "positive"
    trigger: str | None = None
    trigger_start: int | None = None
    trigger_end: int | None = None


#: ``tuple.__new__``: builds a named tuple from all its fields without the Python-level
#: ``__new__`` that ``collections.namedtuple`` generates (one interpreted call less per tuple,
#: in the pure and the compiled build; same object).
_new = tuple.__new__

#: The context of a target that no trigger covers.
POSITIVE = Context()


def with_context(mention: Mention, context: Context) -> Mention:
    """``mention`` with the status and trigger of ``context`` (itself when nothing changes)."""
    if context is POSITIVE and mention.status == "positive" and mention.trigger is None:
        return mention
    m, c = mention, context
    fields = m.label, m.text, m.start, m.end, c.status, c.trigger, c.trigger_start, c.trigger_end, m.section
    return _new(Mention, fields)


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
    found: Sequence[Trigger] | None = None,
    folded: Folded | None = None,
) -> dict[int, Context]:
    """:func:`assign_context` for the non-empty ``targets``, sentences given as their starts and
    ends: position in ``targets`` → context, for the targets that are not positive. ``found``:
    the triggers of the sentences, when the caller has looked for them already (from
    :meth:`ContextRules.scan`); ``folded``: ``rules.fold(text)``, when the caller keeps it."""
    spans = sorted(targets)
    order = None if spans == targets else sorted(range(len(targets)), key=targets.__getitem__)
    if found is None:
        first = sentence_starts[max(bisect_right(sentence_starts, spans[0][0]) - 1, 0)]
        last = max(sentence_ends[max(bisect_right(sentence_starts, spans[-1][0]) - 1, 0)], *map(itemgetter(1), spans))
        found = rules.scan(rules.fold(text) if folded is None else folded, first, last, trigger_starts)
    triggers = found
    starts = list(map(itemgetter(0), spans))
    best: dict[int, tuple[int, int, Trigger]] = {}  # position in spans → (distance, tie-break, trigger)
    if triggers:  # a trigger inside a target (a term holding "other than") neither sets nor ends scopes
        kept = []
        for t in triggers:
            if not _overlaps(spans, starts, t.start, t.end):
                kept.append(t)
            elif (held := _held(t, spans, text)) is not None:  # "symmetric enhancement of": a cue holding targets
                if t.kind == "negated":  # "nephrectomy for": the cue starts after the removal it names
                    t = t._replace(start=max(end for start, end in spans if start < t.end and end > t.start))
                kept.append(t)
                status = t if t.kind == "normal" else t._replace(kind="negated")  # "has not enlarged"
                best.update((p, (0, STATUS_KINDS.index(status.kind), status)) for p in held)
        triggers = kept
    window = rules.window
    brackets = _brackets(text, triggers, sentence_starts, sentence_ends) if "(" in text else None
    for n, trigger in enumerate(triggers):
        if trigger.kind not in STATUS_KINDS:
            continue
        j = bisect_right(starts, trigger.start)  # spans[j:] start after the trigger's start
        k = max(bisect_right(sentence_starts, trigger.start) - 1, 0)
        following, preceding = n + 1, n - 1
        if brackets is not None:  # a trigger in brackets after or before this one does not end its scope
            while following < len(triggers) and (b := brackets[following]) is not None and b[0] > trigger.end:
                following += 1
            while preceding >= 0 and (b := brackets[preceding]) is not None and b[1] < trigger.start:
                preceding -= 1
        after = min(triggers[following].start, sentence_ends[k]) if following < len(triggers) else sentence_ends[k]
        before = max(triggers[preceding].end, sentence_starts[k]) if preceding >= 0 else sentence_starts[k]
        if brackets is not None and (b := brackets[n]) is not None:  # in brackets: within them
            before, after = max(before, b[0] + 1), min(after, b[1])
        if n > 0 and trigger.kind == "normal" and trigger.backward and triggers[n - 1].start >= sentence_starts[k]:
            previous = triggers[n - 1]  # a cue before it in its sentence
            if previous.kind in STATUS_KINDS:
                before = _clause_start(text, rules, before, trigger.start)
            elif previous.kind == "exception" and (cut := _CLAUSE_CUT.search(text, previous.end, trigger.start)):
                before = cut.end()  # "aside from coronary calcification, the heart is unremarkable": excepted
        rank = STATUS_KINDS.index(trigger.kind)
        series = (
            trigger.kind == "negated"
            and n > 0
            and triggers[n - 1].kind == "negated"
            and triggers[n - 1].start >= sentence_starts[k]
            and _SERIES.search(text, triggers[n - 1].end, trigger.start) is not None
        )
        reaches = []
        for forward in (True, False):
            limit = after if forward else before
            if trigger.forward if forward else trigger.backward:
                # a resolution that ends its sentence reaches its subject over a long description: "the
                # hematoma in the left rectus sheath described on the 6/2018 study has completely resorbed"
                gap = 2 * window if not forward and _ENDS.fullmatch(text, trigger.end, sentence_ends[k]) else window
                judged = (
                    not forward
                    and trigger.kind == "negated"
                    and rules.is_nature_hedge(text[trigger.start : trigger.end])
                )
                reaches.append(
                    _reach(text, spans, j, trigger, forward, limit, gap, chain=True, series=series, judged=judged)
                )
            elif trigger.adjacent or (forward and trigger.next):
                phrase = forward and trigger.adjacent  # "calculus vs vascular calcification": the alternative whole
                reaches.append(_reach(text, spans, j, trigger, forward, limit, window, chain=False, phrase=phrase))
        if not any(reaches) and (turned := _turned(trigger, spans, j, after, before)) is not None:
            if turned:  # a negation read forward: within its clause
                after = next((cut.start() for cut in _CLAUSE_CUT.finditer(text, trigger.end, after)), after)
            reaches.append(_reach(text, spans, j, trigger, turned, after if turned else before, window, chain=True))
        for reach in reaches:
            for p, distance in reach:
                if p not in best or (distance, rank) < best[p][:2]:
                    best[p] = (distance, rank, trigger)
    return {
        p if order is None else order[p]: _new(
            Context, (STATUS_OF[trigger.kind], text[trigger.start : trigger.end], trigger.start, trigger.end)
        )
        for p, (_, _, trigger) in best.items()
    }


def _brackets(
    text: str, triggers: Sequence[Trigger], sentence_starts: Sequence[int], sentence_ends: Sequence[int]
) -> list[tuple[int, int] | None]:
    """For each trigger, the offsets of the "(" and ")" of the brackets it is written in within its
    sentence, or None: a trigger in brackets governs what they hold ("calcified nodule (likely
    granuloma), right lower lobe" hedges the granuloma only), and does not end the scope of a
    trigger outside them ("-ve for weight loss, bleeding (occult nor overt), anemia")."""
    out: list[tuple[int, int] | None] = []
    for trigger in triggers:
        k = max(bisect_right(sentence_starts, trigger.start) - 1, 0)
        opened = text.rfind("(", sentence_starts[k], trigger.start)
        closed = text.find(")", trigger.end, sentence_ends[k]) if opened >= 0 else -1
        inside = closed >= 0 and text.find(")", opened, trigger.start) < 0
        out.append((opened, closed) if inside else None)
    return out


def _clause_start(text: str, rules: ContextRules, start: int, end: int) -> int:
    """Where the last clause of ``text[start:end]`` begins (after ";" or a boundary before an opener:
    ", and the"), ``start`` when it has one clause only. A backward ``normal`` cue stops there when a
    status cue comes before it: "no nodules or consolidation, and the pleural spaces are clear" says
    nothing normal of the consolidation."""
    return max((cut.end() for cut in rules.clause_pattern.finditer(text, start, end)), default=start)


def _turned(trigger: Trigger, spans: Sequence[tuple[int, int]], j: int, after: int, before: int) -> bool | None:
    """The direction a one-way trigger reads in against its own when its own side holds no target
    and the other side does (True: forward), else None. Two word orders turn a cue round: a forward
    ``normal`` cue after its organ ("the liver is otherwise normal", "adrenals grossly
    unremarkable"), and a backward negation before its finding ("no longer seen is the effusion",
    "findings are unlikely to represent a neoplasm", "lymph nodes: none enlarged"). Nothing else
    turns: a forward negation or hedge, or a backward ``normal`` cue, often governs words that no
    vocabulary holds ("cardiomegaly without acute disease", "calcifications suggest a previous
    granulomatous process", "silhouette within normal limits, with a calcified aorta"), and the
    finding on the other side stands. A negation turned forward reaches no further than its
    clause (up to "," or ";": "a net negative balance, complicated by kidney injury" negates no
    injury). ``spans[j:]`` start after the trigger; ``after`` /
    ``before``: its scope's limits (sentence bounds, or the next / previous trigger)."""
    if trigger.adjacent or trigger.next or trigger.forward == trigger.backward:
        return None
    if not ((trigger.kind == "normal" and trigger.forward) or (trigger.kind == "negated" and trigger.backward)):
        return None
    ahead = any(spans[p][0] < after for p in range(j, len(spans)))
    behind = any(spans[p][1] > before for p in range(j))
    own, other = (ahead, behind) if trigger.forward else (behind, ahead)
    return trigger.backward if other and not own else None  # the other way: backward for a forward cue


def _held(trigger: Trigger, spans: Sequence[tuple[int, int]], text: str) -> list[int] | None:
    """The positions of the targets that a ``normal`` cue holds whole ("symmetric enhancement of",
    "enhance homogeneously": what it calls normal is part of the cue), or a pseudo-trigger that
    opens with a negation ("no interval enlargement of", "has not enlarged": the change it denies is
    part of the cue, and is negated; what the cue keeps positive lies outside it; not "no further
    enlargement", which says the change happened before); none for a forward negation that holds
    the name of a removal ("nephrectomy for": the procedure stays as it is); None when
    ``trigger`` is another kind or crosses a target's bound (a cue inside a target, "normal pressure
    hydrocephalus", is no cue)."""
    removal = trigger.kind == "negated" and trigger.forward
    if (
        trigger.kind != "normal"
        and not removal
        and not (
            trigger.kind == "pseudo" and _DENIAL.match(text, trigger.start) and not _FURTHER.search(text, *trigger[:2])
        )
    ):
        return None
    inside = [p for p, (start, end) in enumerate(spans) if start < trigger.end and end > trigger.start]
    if removal:  # (the removal may start before the cue: "left upper lobectomy for")
        named = all(spans[p][1] <= trigger.end and text[slice(*spans[p])].lower().endswith("ectomy") for p in inside)
        return [] if named else None
    if any(spans[p][0] < trigger.start or spans[p][1] > trigger.end for p in inside):
        return None
    return inside


def _overlaps(spans: Sequence[tuple[int, int]], starts: list[int], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted ``spans`` (``starts``: their starts)."""
    j = bisect_right(starts, start)
    return (j < len(spans) and spans[j][0] < end) or (j > 0 and spans[j - 1][1] > start)


def _reach(
    text: str,
    spans: Sequence[tuple[int, int]],
    j: int,
    trigger: Trigger,
    forward: bool,
    limit: int,
    window: int,
    *,
    chain: bool,
    phrase: bool = False,
    series: bool = False,
    judged: bool = False,
) -> list[tuple[int, int]]:
    """``(position, distance)`` of the sorted ``spans`` in one direction of ``trigger``'s scope.

    ``spans[j:]`` start after the trigger. The scope stops at ``limit``, or at a gap of more
    than ``window`` words from the trigger or the previous target; ``chain=False`` keeps only
    the nearest target (and those overlapping it), and with ``phrase`` those that follow it with
    blanks only between (one noun phrase: "vascular calcification"). An ``adjacent`` trigger
    reaches no target that a comma or a semicolon separates from it; backward, it reaches the
    lesion whose place is the nearest target too ("mass in the RUL vs. consolidation"). A
    negation stops at a comma that a word of degree or size (or a side) follows when it is one of
    a ``series`` ("no adenopathy, no ascites, trace effusion") or no "or" or "and" comes later in
    its scope ("no pleural effusion, moderate ascites"; not "no focal consolidation, large pleural
    effusion, or pneumothorax"): that item has no negation of its own; so does any negation
    at an item said known or stable ("no infiltrates, known bronchiectasis"), after a slash and a
    word of degree or size, or after a dash between blanks. A negation stops before a target after
    a comma that a verb such as "shows", "with" or a predicate adjective ("enlarged") follows: a
    clause of its own ("no ascites, liver shows multiple metastases"). A backward hedge stops at a
    comma with words, or at a bare comma after its first target when no "and" or "or" comes
    between ("thickening, mesothelioma not excluded"), and so does a negation that is a judgement
    (``judged``: "liver lesion, metastasis unlikely"); a forward hedge stops at ", and" after its
    first target.
    """
    out: list[tuple[int, int]] = []
    anchor = trigger.end if forward else trigger.start
    cue = text[trigger.start : trigger.end].lower() if forward and trigger.end - trigger.start <= 3 else ""
    for p in range(j, len(spans)) if forward else range(j - 1, -1, -1):
        start, end = spans[p]
        if forward:
            beyond, gap = end > limit, (anchor, start)
        else:
            beyond, gap = start < limit, (end, anchor)
        if not beyond and len(out) == 1 and not forward and trigger.adjacent and _PLACED.fullmatch(text, *gap):
            out.append((p, trigger.start - end))  # the lesion its place belongs to: "mass in the RUL vs. consolidation"
            break
        if beyond or (
            gap[1] > gap[0]
            and (
                (out and not chain and not (phrase and text[gap[0] : gap[1]].isspace()))
                or _more_words(text, *gap, window)
            )
        ):
            break
        if (
            out
            and forward
            and (
                (trigger.kind == "negated" and _another_finding(text, *gap))
                or text.find(":", *gap) >= 0
                or (trigger.kind in _MEASURED_KINDS and _MEASURED_NEXT.search(text, *gap) is not None)
                or (trigger.kind in _MEASURED_KINDS and _AND_ANOTHER.search(text, *gap) is not None)
                or (trigger.kind == "uncertain" and _WITH.search(text, *gap) is not None)
            )
        ):
            break  # (a colon after a target opens what it leads to: "worrisome for RCC: 3 cm mass"; "with"
            # after a hedged target adds what is seen: "probable ureteral stone with upstream hydronephrosis")
        if (
            forward
            and trigger.kind == "negated"
            and (
                (
                    (
                        _SERIES_BREAK.search(text, *gap)
                        or (_COMMA_THE.search(text, *gap) and _SIDE_AT.match(text, start))
                    )
                    and (series or not _OR.search(text, end, limit))
                )
                or _NEW_ITEM.search(text, *gap)
                or _SPACED_DASH.search(text, *gap)
                or ((stop := _STOP_LEFT_OUT.match(text, gap[0])) is not None and stop.end() - 2 <= gap[1])
                or (_COMMA_THE.search(text, *gap) and _SUBJECT_OF.match(text, end))
            )
        ):
            break  # "no ascites, no free air, small effusion", "no ascites, spleen enlarged": said present
        if not out and not forward and trigger.kind == "uncertain" and _WITH.search(text, *gap):
            break  # a hedge after "with" is on what follows it: "mass with suspected internal hemorrhage"
        if (
            out
            and not forward
            and (trigger.kind == "uncertain" or judged)
            and (
                _SPACED_DASH.search(text, *gap)
                or (_AND_A.search(text, *gap) and "both" not in text[trigger.start : trigger.end].lower())
                or (
                    text.find(",", *gap) >= 0
                    and (not _LIST_GAP.fullmatch(text, *gap) or (len(out) == 1 and not _OR.search(text, *gap)))
                )
            )
        ):
            break  # a hedge after its object stops at a comma with words: "thickening, mesothelioma not excluded"
            # (so does a judgement that negates: "hypodense liver lesion, metastasis unlikely")
        if (
            not out
            and forward
            and trigger.kind == "uncertain"
            and (colon := text.find(":", *gap)) >= 0
            and _WORD.search(text, trigger.end, colon)
        ):
            break  # so after the hedge's object: "suspicious for recurrence at the anastomosis: 2.5 cm mass"
        if out and cue == "not":
            first = spans[out[0][0]][0]  # "not" written just before its first target, and no object after it
            if (
                text[trigger.end : first].isspace()
                and not _JOINED.search(text, *gap)
                and not _FUNCTION_WORD.search(text, *gap)
            ):
                break  # "not" bears on its word: "prominent but not enlarged right paratracheal node"
        if cue == "no":
            run_on = (_NEW_SUBJECT if out else _RUN_ON).match(text, gap[0])
            if run_on is not None and run_on.end("the") <= gap[1]:
                break  # "no pneumothorax the right 8th rib has ...", "no effusion the heart is enlarged"
        if (
            not out
            and trigger.adjacent
            and (_CLAUSE_CUT.search(text, *gap) or (not forward and _LOWER_WORD.search(text, *gap)))
        ):
            break  # an alternative next to its cue: "tail lesion, IPMN vs. pseudocyst", "nodes, reactive vs neoplastic"
        if len(out) == 1 and forward and trigger.kind == "uncertain" and _COMMA_AND.fullmatch(text, *gap):
            break  # ", and" after one hedged target opens another item: "probably a cyst, and splenomegaly"
        if forward and trigger.kind == "normal":
            if not out and _COMMA_ONLY.fullmatch(text, *gap):
                break  # a normal cue, a comma, a target: said of what precedes it, "liver normal, right kidney ..."
            if _WITH.search(text, *gap):
                break  # "normal heart size with coronary calcification": the calcification is not normal
        out.append((p, start - trigger.end if forward else trigger.start - end))
        anchor = max(anchor, end) if forward else min(anchor, start)
    return out


#: After a target that a comma alone separates from the previous one in a negation's scope: a verb,
#: "with" or a predicate adjective that makes it the subject of a clause of its own ("no e/o
#: ascites, liver shows metastases", "no ascites, spleen enlarged", "gallbladder with stones"), or
#: its size: a lesion measured is one seen ("no effusion, mass 4 cm in the right kidney").
_COMMA_THE = re.compile(r",\s*(?:the\s+)?\Z", re.IGNORECASE)
_SUBJECT_OF = re.compile(
    r"\s+(?:shows?|demonstrates?|reveals?|contains?|has|have|measures?|with|enlarged|dilated|distended|thickened)\b"
    r"|\s*\d+(?:[.,]\d+)?\s*(?:mm|cm)\b",
    re.IGNORECASE,
)
#: Between two targets in a negation's scope, what opens an item said present: a comma before a
#: finding known or seen before ("no infiltrates, known bronchiectasis") or said to be the only one ("no
#: consolidation, only atelectasis in the lingula"), a slash between blanks before a word of degree
#: or size ("no pericardial effusion / small pleural effusions"); and (:data:`_SPACED_DASH`) a dash
#: between blanks ("no pneumothorax -- large effusion"), (:data:`_STOP_LEFT_OUT`) a slash and a
#: blank or a comma, then a capitalized word ("no ascites/ Fatty liver", "Without
#: lymphadenopathy, Metastasis in the liver").
_NEW_ITEM = re.compile(
    r"\s*,\s*(?:only\b|(?:the\s+|a\s+)?(?:known|stable|unchanged|persistent|residual)\b)"
    rf"|\s/\s+(?:{_ANOTHER_FINDING.pattern})",
    re.IGNORECASE,
)
#: After a target: a stop left out, a comma (or a slash and a blank) before a capitalized word.
_STOP_LEFT_OUT = re.compile(r"\s*(?:,|/\s)\s*(?-i:[A-Z][a-z])")
#: Between two targets of a list: commas and "and" / "or" only ("nodules, masses, or adenopathy"),
#: the last two joined by "and" / "or" (:data:`_OR`; "fluid in the pelvis, abscess cannot be
#: ruled out" is no list).
_LIST_GAP = re.compile(r"[\s,]*(?:(?:and|or|and/or)\s*)?", re.IGNORECASE)
#: A dash (or a telegraphic plus: "no mass in the pancreas + dilated CBD") between blanks, "and a":
#: what a hedge after its object does not reach over ("thickening - neoplasm not excluded", "a lucency
#: in the right hemidiaphragm and a small amount of free air may be present"; not "a cyst and a
#: carcinoma are both possible").
_SPACED_DASH = re.compile(r"\s[-–—+]+\s")
_AND_A = re.compile(r"\band\s+an?\b", re.IGNORECASE)
#: A side, which opens an item after a negated one ("no hydronephrosis, right renal stone").
_SIDE = r"\b(?:right|left|rt|lt|bilateral)\b"
_SIDE_AT = re.compile(_SIDE, re.IGNORECASE)
#: What joins the last item of a list ("no focal consolidation, large pleural effusion, or
#: pneumothorax"; "no right renal cyst, left adrenal nodule and hepatic mass"; "nodules, masses
#: or adenopathy cannot be excluded").
_OR = re.compile(r"\b(?:or|nor|and)\b", re.IGNORECASE)
#: After a target in a negation's scope: a comma, then a word of degree or size, or a side.
_SERIES_BREAK = re.compile(rf"\s*,\s*(?:{_ANOTHER_FINDING.pattern}|{_SIDE})", re.IGNORECASE)


def _another_finding(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]``, between two targets after a forward negation, opens another
    finding: no list joins them, and a line break or a word of degree or size comes between (a
    hedge's object may follow its first target: "could obscure a small nodule"; a line break
    after a word that needs the next line, such as "the", does not)."""
    if _JOINED.search(text, start, end) is not None:
        return False
    if _ANOTHER_FINDING.search(text, start, end) is not None:
        return True
    newline = text.find("\n", start, end)
    return newline >= 0 and _WRAPPED.search(text, max(0, newline - 12), newline) is None


def apply_context(doc: Doc, spans: Iterable[Span], *, rules: ContextRules | None = None) -> list[Context]:
    """:func:`assign_context` for spaCy ``spans`` of ``doc`` (sentences from ``doc.sents`` when set)."""
    bounds = [(s.start_char, s.end_char) for s in doc.sents] if doc.has_annotation("SENT_START") else None
    return assign_context(doc.text, [(s.start_char, s.end_char) for s in spans], rules=rules, sentences=bounds)
