"""Refinement: statuses that depend on what the labels are (body parts, lesion types), on
clauses, on differentials and exceptions, and on report headers; and descriptors ("nodular")
that describe a shape rather than assert a finding. Applied after :mod:`.scopes`.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, NamedTuple

from ..mentions import Mention
from .relevance import HEAD_CATEGORY
from .rules import STATUS_KINDS, STATUS_OF, ContextRules, Folded, Trigger, found_within
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
_WORD = re.compile(r"\w+")
#: A letter or digit: the text under a header says something ("LIVER: ___" says nothing).
_ALNUM = re.compile(r"[^\W_]")
#: Before a body part said normal right after it: a comma that makes it a clause of its own
#: ("node in the right axilla, breasts unremarkable", "lytic lesion, adjacent soft tissues normal";
#: "kidneys otherwise normal" says more).
_COMMA_LEAD = re.compile(r",\s*(?:the\s+)?(?:[a-z]+\s+)?\Z", re.IGNORECASE)
#: Between two body parts said normal by one cue: "and", "or", a comma ("spleen, pancreas and kidneys").
_JOINER = re.compile(r"\s*(?:,\s*)?(?:(?:and|or)\s+)?(?:the\s+|both\s+)?", re.IGNORECASE)
_PREDICATE_GAP = re.compile(r"\s*(?:(?:is|are|appears?|remains?)\s+)?", re.IGNORECASE)
#: Before a body part that opens a sentence: blanks, "the".
_LEADING = re.compile(r"\s*(?:the\s+)?", re.IGNORECASE)
#: What may come before the first word of a sentence: blanks and a list label ("1.", "(2)", "-").
_LIST_LABEL = re.compile(r"\s*(?:\(?\d{1,2}[.)]|-|\*)?\s*")
#: The kinds of trigger a nature hedge may be ("likely", "unlikely"): not ``normal``.
_HEDGE_KINDS = ("uncertain", "negated")
_FINDING_RANK = {"positive": 0, "uncertain": 1, "negated": 2, "normal": 3, "irrelevant": 4}
#: What may separate a body part written before the lesion type it locates, or two such body
#: parts ("hepatic cyst", "hepatic and splenic cysts", "left adrenal adenoma").
_PART_BEFORE = re.compile(r"[\s,/]*(?:(?:and|or)\s+)?", re.IGNORECASE)
#: After a mention, a reporting system's name ("Lung-RADS", "LI-RADS"), not the organ.
_SCORE_SYSTEM = re.compile(r"[-‐]RADS\b", re.IGNORECASE)
#: What may separate a lesion type from a body part written after it ("cyst in the liver",
#: "hemangioma of the spleen", "cyst in the lower pole of the left kidney", "in the right hepatic lobe").
_PART_AFTER = re.compile(
    r"\s+(?:in|within|of|involving|at|along)\s+(?:the\s+)?(?:(?:[\w-]+\s+){1,3}?of\s+(?:the\s+)?)?"
    r"(?:(?:right|left|upper|lower|anterior|posterior|medial|lateral)\s+)?",
    re.IGNORECASE,
)
#: After a mention, a resemblance to it ("mass-like", "nodule-like"), not the thing itself.
_RESEMBLING = re.compile(r"[-‐]like\b", re.IGNORECASE)
#: Just before an organ's removal, a word that leaves part of the organ ("partial thyroidectomy").
_PARTIAL = re.compile(r"(?:partial|subtotal|hemi|sleeve|distal|proximal)[\s-]*\Z", re.IGNORECASE)
#: After a mention, the place it leaves once removed ("splenic bed", "tumor bed", "renal fossa",
#: "gallbladder fossa") or its removal ("prior sarcoma resection", "RUL lobectomy", "axillary lymph
#: node dissection"; not "aortic dissection"; "hernia repair"), not the thing
#: itself; but a resection bed lies in the region before it ("right thigh resection bed").
_VACATED = re.compile(
    r"\s+(?:bed|resection(?!\s+bed)|excision(?!\s+bed)|removal|lobectomy|segmentectomy)\b|(?<=node)s?\s+dissection\b|(?<=hernia)\s+repair\b"
    r"|(?:(?<=gallbladder)|(?<=\bgb)|(?<=renal))\s+fossa\b",
    re.IGNORECASE,
)
#: What may separate two body parts written after a lesion type ("in the right lobe of the liver").
_PART_NEXT = re.compile(f"{_PART_AFTER.pattern}|{_PART_BEFORE.pattern}", re.IGNORECASE)
#: Just before a finding, a past state ("the previously enlarged node", "formerly dilated ducts").
_PAST = re.compile(r"(?:previously|formerly)\s+\Z", re.IGNORECASE)
#: "or" between two nouns offers an alternative ("likely cysts or hemangiomas"), not the lesion one qualifies.
_ALTERNATIVE = re.compile(r"(?<!\w)or(?!\w)", re.IGNORECASE)
#: After a mass-effect cue: the passive voice ("the IVC is compressed by", "displaced to the right by").
_BY = re.compile(r"(?:\s+[\w-]+){0,3}?\s+by(?!\w)", re.IGNORECASE)
#: The categories of a mention that may press on a structure: a lesion type, or an attribute such
#: as an enlargement.
_BULGING = frozenset({HEAD_CATEGORY, "attribute"})
#: A mass-effect cue that is a noun after the structure it moves ("mediastinal shift", "tracheal
#: deviation"), and what may come between them.
_COMPOUND_EFFECT = re.compile(r"shift|deviation", re.IGNORECASE)
_BLANKS = re.compile(r"\s*")
#: Between a mass-effect cue and its object (or the object and a passive cue): at most five words,
#: no punctuation ("compressing the upper pole of the left kidney").
_OBJECT_GAP = re.compile(r"\s*(?:[\w-]+\s+){0,5}")
#: Between two coordinated objects: "the IVC and the right atrium", "the trachea, esophagus".
_COORDINATED = re.compile(
    r"\s*(?:,|/|and|or)\s*(?:(?:and|or)\s+)?(?:(?:the|both|left|right|bilateral|adjacent|proximal|distal|main)\s+){0,2}",
    re.IGNORECASE,
)


def describe(
    mentions: list[Mention],
    rules: ContextRules,
    text: str | None = None,
    categories: Mapping[str, str | None] | None = None,
) -> list[Mention]:
    """Positive mentions written as one of the rules' ``descriptors`` become ``uncertain`` (their
    own text is the trigger): "nodular opacity" describes a shape, it does not assert a nodule.
    Given the ``text`` of the mentions, so do those followed by "-like" ("mass-like consolidation":
    a resemblance), and those followed by "bed" (or "fossa" after "renal" and "gallbladder")
    become ``irrelevant``: the place a removed organ or lesion leaves ("clips in the splenic
    bed", "the right renal fossa"; the procedure stays: "nephrectomy bed"), as do those followed
    by "resection", "excision" or "removal": what a procedure removed ("prior sarcoma resection"; a lobe
    before "lobectomy" is ``negated``: it is gone), and so do those
    followed by "-RADS": a reporting system's name ("Lung-RADS 2"). Given the ``categories`` of
    the labels, a body part named by its removal ("splenectomy", "hysterectomy") is ``negated``:
    the organ is gone; after "partial", "subtotal", "hemi-", "sleeve", "distal" or "proximal"
    ("partial thyroidectomy") it is ``irrelevant``: part of it remains, and so it is when hedged
    ("clips, perhaps from cholecystectomy"); a past removal is as any ("history of splenectomy").
    ``mentions`` is updated in place and returned."""
    descriptors = rules.descriptors
    if descriptors or text is not None or categories is not None:
        for p, m in enumerate(mentions):
            removed = _removal(m) and categories is not None and categories.get(m.label) == "bodypart"
            if removed and m.status == "uncertain":  # "clips, perhaps from cholecystectomy"
                mentions[p] = _status(m, Context("irrelevant", m.text, m.start, m.end))
            elif removed and (
                m.status == "normal"  # "left upper lobectomy for carcinoma": no finding in it, and gone
                or (m.status == "irrelevant" and rules.kind_of(m.trigger or "") == "historical")
            ):
                m = mentions[p] = _status(m, POSITIVE)  # "history of splenectomy": negated below
            if m.status != "positive":
                continue
            if m.text.lower() in descriptors or (text is not None and _RESEMBLING.match(text, m.end)):
                mentions[p] = _status(m, Context("uncertain", m.text, m.start, m.end))
            elif removed:
                partial = text is not None and _PARTIAL.search(text, max(0, m.start - 12), m.start)
                mentions[p] = _status(m, Context("irrelevant" if partial else "negated", m.text, m.start, m.end))
            elif text is not None and (
                (not _removal(m) and (vacated := _VACATED.match(text, m.end)))
                or (vacated := _SCORE_SYSTEM.match(text, m.end))
            ):
                word = vacated.group().strip(" \t\n-‐")  # "bed", "resection", "RADS": the trigger, alone
                status = "negated" if word.lower() == "lobectomy" else "irrelevant"  # "RUL lobectomy": the lobe is gone
                mentions[p] = _status(m, Context(status, word, vacated.end() - len(word), vacated.end()))
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

    - A lesion type is never ``normal`` ("normal" before "hemangioma" says nothing of its presence):
      it takes the status of the other cues that reach it ("no effusion or consolidation, lungs
      clear"), else positive; but for a word inside its normal cue ("adequate opacification of").
    - Hedges on a nature: a nature hedge whose object is a nature ("are likely reactive", "low
      suspicion for malignancy in", "is likely a granuloma") sets the status of that nature only,
      not of the lesion it is said of (its subject, or the lesion the nature word qualifies after
      it and the body parts that locate that lesion).
    - Differentials ("versus", "and/or"): the alternatives are uncertain when they interpret a
      lesion (a lesion noun before the cue or among them: "adrenal nodule, adenoma versus
      metastasis"); between processes they are positive, as the image shows one or both
      ("streaky opacity, atelectasis versus scarring", "effusion and/or atelectasis").
    - Hedged natures and attributes: a body part that locates a lesion type hedged by one of
      the rules' ``nature_hedges`` is positive when the lesion type is one of the rules'
      ``lesion_natures`` ("likely hepatic cyst", "presumed hemangioma of the spleen": the lesion
      is there, what it is is uncertain; not "probable hepatic metastases"); so is a body part named by a
      lesion noun that a hedge of the next word reaches ("borderline 11 mm subcarinal node":
      the hedge bears on its size).
    - Definite places: a lesion written with "the" as the place of a finding a cue negates or
      hedges before it is positive, with its noun phrase and location ("no enhancement within the
      right renal cyst"); a body part whose clause only gives its size is normal ("the spleen
      measures 12 cm").
    - Exceptions: mentions negated before "apart from", "other than", "except" ... are positive
      again when what the cue excepts (up to the end of its clause) is a lesion without a body
      part of its own (the body parts: "no splenic lesions apart from a small cyst"), a lesion
      in a body part (the negated body parts that are it, hold it or lie in it), or names no
      lesion at all (all of them: "no free fluid except for a small amount in the pelvis").
    - Clauses (a sentence cut at ";" and at a clause boundary before an opener such as "and a"):
      a body part or attribute said to be normal is positive again when its clause holds a
      lesion ("the liver is normal in size with a 2 cm hypodense lesion"; after an exception
      cue that names a body part, only the normal parts that are it, hold it or lie in it); a
      positive body part whose clause holds findings, all negated or normal, and no lesion is
      ``normal`` ("the spleen is not enlarged", "the lungs are free of nodules"), and so is one
      that is the subject of a negated lesion noun ("the liver shows no focal lesion"). A plural
      lesion noun inside a body part's mention names that part, not a lesion ("mediastinal lymph
      nodes are not enlarged").
    - Headers: the mentions of a header take the status of the status cues of the first
      sentence under it, when they are of one kind and that sentence names no label, nor a lesion
      noun under an organ header ("Pneumothorax: none.", "Liver: normal in size.", "Bladder:
      decompressed, not well evaluated.", but not "Liver: normal in size.
      2 cm cyst.": a lesion under an organ header keeps its organ); else an organ header's body
      parts take the best status of the findings and lesion nouns under it, in the sentences
      that no other body part opens ("LUNGS: No nodules." → negated; not "Bladder wall
      thickened" under "Kidneys:"), and the other mentions of a header the status of the first
      mention of their label (or of their last words) in that sentence ("Ascites: No ascites.",
      "Pleural effusion: No effusion." → negated). A header that is a status cue and nothing else
      gives its status to the first sentence under it ("Within normal limits: liver, spleen."); an
      organ header with no word under it, a title ("CHEST:\nLungs: Normal.") or a template's field
      left empty ("LIVER: [ ]"), says nothing: its body parts are ``irrelevant``.
    """
    if not mentions:
        return mentions
    if folded is None:
        folded = rules.fold(text)
    if found is None:
        found = rules.scan(folded, sentences[0][0], sentences[-1][1])
    natures = [t for t in found if t.kind in _HEDGE_KINDS and rules.is_nature_hedge(text[t.start : t.end])]
    effects = rules.mass_effect_cues(folded, sentences[0][0], sentences[-1][1])
    if (
        not headers
        and not natures
        and not effects
        and all(m.status == "positive" for m in mentions)
        and all(t.kind != "negated" for t in found)
        and not _sized(folded, sentences[0][0], sentences[-1][1])
        and _SIZE.search(text, sentences[0][0], sentences[-1][1]) is None
    ):
        return mentions  # (a negation may cover a lesion noun: "the liver shows no lesion"; a size, a part)
    if categories is None:
        categories = {m.label: graph.category(m.label) for m in mentions if m.label in graph}
    kinds = [categories.get(m.label) for m in mentions]
    is_part = [k == _BODYPART_CATEGORY for k in kinds]
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
        for p in members:  # a lesion type is never normal: the status of the other cues reaching it
            m = mentions[p]
            if m.status == "normal" and kinds[p] == HEAD_CATEGORY and not _in_cue(m):
                context = _without_cue(text, mentions, members, m.trigger_start, rules, found, folded, sentences[k])[p]
                mentions[p] = _status(m, POSITIVE if context.status == "normal" else context)
        _past_states(text, mentions, members, is_part, rules, found, sentences[k])
        if all(is_part[p] and mentions[p].status == "positive" for p in members):
            _size_alone(text, mentions, members, graph, sentences[k])
        if effects:
            _mass_effects(text, mentions, members, kinds, graph, rules, sentences[k], effects)
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
        if uncertain or negated:
            _definite_places(text, mentions, members, kinds, rules, found, sentences[k])
        if uncertain and rules.differentials:
            _differentials(text, mentions, members, kinds, graph, rules, found, folded, sentences[k])
        if uncertain:
            _hedged_natures(text, mentions, members, kinds, graph, rules)
        if negated and exceptions:
            _exceptions(text, mentions, members, is_part, graph, rules, found, folded, sentences[k][1])
        if normal or (
            positive_part
            and (unfound or rules.head_pattern.search(text, *sentences[k]) or _sized(folded, *sentences[k]))
        ):
            _clauses(text, mentions, members, is_part, graph, rules, found, folded, sentences[k], bookmark)
        # last: the clause rules above read the status the nature hedge set on the lesion
        for cue in _starting_in(natures, *sentences[k]) if natures else ():
            _nature_object(text, mentions, members, kinds, graph, rules, found, folded, sentences[k], cue)
    for header in headers:
        _header(text, mentions, is_part, graph, rules, found, folded, header, sentences)
    return mentions


#: Before a lesion named as the place of what a cue negates or hedges: a preposition and "the"
#: ("no enhancement within the right renal cyst", "possible thrombus in the aneurysm sac",
#: "possibly infiltration from the adjacent mass", "no invasion by the tumor", "differential
#: considerations for this nodule").
_DEFINITE_PLACE = re.compile(
    r"(?<!\w)(?:in|within|inside|into|of|along|involving|for|from|by)\s+(?:the|this|these)\s+", re.IGNORECASE
)
#: The words of a noun phrase after "the" up to its head ("2.2 cm pancreatic tail cyst"): no
#: punctuation, no coordination, at most six words.
_PHRASE = re.compile(r"(?:(?!(?:and|or|with|without|which|that)\b)[\w.-]+\s*){1,6}", re.IGNORECASE)
#: A cue that names the lesion its alternatives are for ("differential diagnosis for the mass").
_DIFFERENTIAL_OF = re.compile(r"(?:differential|ddx)\b", re.IGNORECASE)
#: A size in a noun phrase: what it describes was seen.
_SIZE = re.compile(r"\d\s*(?:mm|cm)\b", re.IGNORECASE)
#: A lymph node: anatomy as much as a lesion ("no enlargement of the hilar nodes").
_NODE = re.compile(r"\bnodes?\b|\blymph\b", re.IGNORECASE)


def _definite_places(
    text: str,
    mentions: list[Mention],
    members: list[int],
    kinds: list[str | None],
    rules: ContextRules,
    found: Sequence[Trigger],
    sentence: tuple[int, int],
) -> None:
    """A lesion written with "the" as the place of a finding that a cue negates or hedges before
    it ("no enhancement within the right renal cyst", "cannot exclude an enhancing component in the
    septation of the left adnexal cyst", "possible malignancy in the 5 mm nodule", "differential
    includes metastasis and abscess for the rim-enhancing lesion in hepatic segment 6") is
    presupposed: the words of its noun phrase up to its head (a lesion type or lesion noun, not a
    lymph node unless measured; no trigger among them), and the body parts written next after it, are positive.
    So is the lesion a differential is for ("differential diagnosis for the 3 cm hepatic mass
    includes HCC"). Not what another cue itself names ("no evidence of the previously seen
    nodule", "may have been passage of the stone")."""
    cues = [mentions[p].trigger_start for p in members if mentions[p].status in _HEDGE_KINDS]
    if len(cues) == len(set(cues)):
        return  # no cue reaches two mentions: none reaches a finding and the lesion it lies in
    for place in _DEFINITE_PLACE.finditer(text, *sentence):
        phrase = _PHRASE.match(text, place.end(), sentence[1])
        if phrase is None:
            continue
        cue = next((t for t in found if t.start < place.start() < t.end), None)  # "differential for the ..."
        if cue is not None and not _DIFFERENTIAL_OF.match(text, cue.start, cue.end):
            continue
        stop = _starting_in(found, place.end(), phrase.end())
        phrase_end = stop[0].start if stop else phrase.end()
        inside = [p for p in members if place.end() <= mentions[p].start and mentions[p].end <= phrase_end]
        heads = [mentions[p].end for p in inside if kinds[p] == HEAD_CATEGORY]
        noun = rules.head_pattern.search(text, place.end(), phrase_end)
        ends = heads + ([noun.end()] if noun is not None else [])
        if not ends or (_NODE.search(text, place.end(), min(ends)) and not _SIZE.search(text, place.end(), min(ends))):
            continue  # (a node is a place unless measured: "metastasis in the 8 mm left axillary node")
        said = {  # the cues of the findings said of the lesion, before it, or of its differential
            mentions[q].trigger_start
            for q in members
            if mentions[q].end <= place.start() and mentions[q].status in _HEDGE_KINDS
            and (mentions[q].trigger_end or 0) <= mentions[q].start
        } if cue is None else {cue.start}  # fmt: skip
        head_end, edge, gap = min(ends), min(ends), _PART_AFTER
        for p in members:
            m = mentions[p]
            if m.start < place.end() or m.status not in _HEDGE_KINDS or m.trigger_start not in said:
                continue
            if m.end > head_end:  # after the head: the body parts that locate it, one after the other
                if kinds[p] != _BODYPART_CATEGORY or not gap.fullmatch(text, edge, m.start):
                    break
                edge, gap = m.end, _PART_NEXT
            mentions[p] = _status(m, POSITIVE)


def _past_states(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    rules: ContextRules,
    found: Sequence[Trigger],
    sentence: tuple[int, int],
) -> None:
    """A finding said of the past ("the previously enlarged node") takes, in its clause, the
    status of a later mention of its label that is negated or normal ("... is no longer
    enlarged"), or is negated by a later normal cue ("... now measures 11 cm, within normal
    limits"); with neither it stays positive ("the previously enlarged node has grown")."""
    if all(mentions[p].status == "positive" for p in members):
        return
    for i, p in enumerate(members):
        m = mentions[p]
        if is_part[p] or m.status != "positive" or not _PAST.search(text, max(m.start - 12, sentence[0]), m.start):
            continue
        cut = next((c.start() for c in rules.clause_pattern.finditer(text, m.end, sentence[1])), sentence[1])
        later = [q for q in members[i + 1 :] if mentions[q].start < cut and mentions[q].label == m.label]
        said = next((mentions[q] for q in later if mentions[q].status in ("negated", "normal")), None)
        if said is not None:
            mentions[p] = _status(m, _context_of(said))
            continue
        cue = next((t for t in _starting_in(found, m.end, cut) if t.kind == "normal"), None)
        if cue is not None:
            mentions[p] = _status(m, Context("negated", text[cue.start : cue.end], cue.start, cue.end))


def _denied_nature(mention: Mention, rules: ContextRules) -> bool:
    """Whether ``mention`` is negated by a nature hedge: what a finding is not ("soft tissue cuff,
    not consistent with hematoma"; "nodes, reactive rather than lymphomatous"), which leaves the
    finding there."""
    return mention.status == "negated" and mention.trigger is not None and rules.is_nature_hedge(mention.trigger)


def _in_cue(mention: Mention) -> bool:
    """Whether ``mention`` lies inside the cue that set its status: part of what the cue says
    ("adequate opacification of the pulmonary arteries": contrast, no opacity)."""
    cue = mention.trigger_start
    return cue is not None and cue <= mention.start and mention.end <= (mention.trigger_end or 0)


def _status(mention: Mention, context: Context) -> Mention:
    """``mention`` with the status and trigger of ``context``."""
    m, c = mention, context
    fields = m.label, m.text, m.start, m.end, c.status, c.trigger, c.trigger_start, c.trigger_end, m.section
    return _new(Mention, fields)


def _context_of(mention: Mention) -> Context:
    """The status and trigger of ``mention``."""
    return Context(mention.status, mention.trigger, mention.trigger_start, mention.trigger_end)


def _without_cue(
    text: str,
    mentions: Sequence[Mention],
    members: Sequence[int],
    cue: int | None,
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    sentence: tuple[int, int],
) -> dict[int, Context]:
    """The contexts of the mentions ``members`` of one sentence (position → context) when the
    trigger starting at ``cue`` sets no status: it only ends scopes, as a terminator does."""
    inside = found_within(found, *sentence)
    triggers = [
        _new(Trigger, (t.start, t.end, "terminate", True, False, False, False)) if t.start == cue else t
        for t in (rules.scan(folded, *sentence) if inside is None else inside)
    ]
    spans = [(mentions[p].start, mentions[p].end) for p in members]
    contexts = statuses(text, spans, rules, [sentence[0]], [sentence[1]], None, found=triggers, folded=folded)
    return {p: contexts.get(n, POSITIVE) for n, p in enumerate(members)}


def _lesion_nouns(
    text: str,
    start: int,
    end: int,
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    parts: Sequence[Mention] = (),
) -> list[Context]:
    """The contexts of the lesion nouns of ``text[start:end]`` that are not part of a trigger
    (``found``: the triggers of the text around; ``folded``: the text by ``rules.fold``), nor
    in the plural inside one of the body part mentions ``parts`` whose label names it ("hilar
    lymph nodes" names the nodes of a station; "the hilar node", one node, may be a lesion; "the
    hepatic lesions", a synonym of liver, are lesions)."""
    heads = [match.span() for match in rules.head_pattern.finditer(text, start, end)]
    if not heads:
        return []
    near = found[bisect_right(found, start, key=_end) : bisect_left(found, end, key=_start)]
    heads = [
        h
        for h in heads
        if not any(t.start < h[1] and h[0] < t.end for t in near)
        and not (
            text[h[1] - 1] in "sSiI" and any(m.start <= h[0] and h[1] <= m.end and _named_by(m, text, h) for m in parts)
        )
    ]
    if not heads:
        return []
    inside = found_within(found, start, end)  # not searched for again where they are known
    if inside is None:
        inside = rules.scan(folded, start, end)
    contexts = statuses(text, heads, rules, [start], [end], None, found=inside, folded=folded)
    out = [contexts.get(p, POSITIVE) for p in range(len(heads))]
    said_normal = {c.trigger_start for c in out if c.status == "normal"}
    if said_normal:  # a lesion is never normal: the other cues that reach it ("Without focal lesions, normal size")
        others = [t for t in inside if t.start not in said_normal]
        again = statuses(text, heads, rules, [start], [end], None, found=others, folded=folded)
        out = [again.get(p, POSITIVE) if c.status == "normal" else c for p, c in enumerate(out)]
    return [POSITIVE if c.status == "normal" else c for c in out]


def _named_by(part: Mention, text: str, head: tuple[int, int]) -> bool:
    """Whether the label of ``part`` holds the lesion noun ``text[head[0]:head[1]]`` (plural): "nodes"
    in a lymph node's mention, not "lesions" in the liver's "hepatic lesions"."""
    return text[head[0] : head[1] - 1].lower() in part.label.lower()


def _asserted(contexts: Iterable[Context]) -> bool:
    """Whether one of the lesion nouns of ``contexts`` is neither negated nor another person's
    (a lesion is never normal)."""
    return any(c.status not in ("negated", "irrelevant") for c in contexts)


def _differentials(
    text: str,
    mentions: list[Mention],
    members: list[int],
    kinds: list[str | None],
    graph: LabelGraph,
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    sentence: tuple[int, int],
) -> None:
    """The differential rule of :func:`refine` for the mentions ``members`` of one sentence: the
    alternatives of a differential between processes take the status they have without it; those
    of a lesion's differential stay uncertain, with what is written right before one of them and
    describes it, no body part ("hemorrhagic cyst versus endometrioma": the hemorrhage too)."""
    alternatives: dict[int, list[int]] = {}  # trigger start → the mentions it made uncertain
    for p in members:
        m = mentions[p]
        if m.status == "uncertain" and m.trigger is not None and rules.is_differential(m.trigger):
            alternatives.setdefault(m.trigger_start or 0, []).append(p)
    for trigger, group in alternatives.items():
        lesion = (
            any(rules.head_pattern.search(text, mentions[p].start, mentions[p].end) for p in group)
            or any(kinds[p] == HEAD_CATEGORY and _is_nature(mentions[p].label, graph, rules) for p in group)
            or _asserted(_lesion_nouns(text, sentence[0], trigger, rules, found, folded))
        )  # (alternatives that are lesion natures interpret a lesion: "seroma vs. hematoma")
        if not lesion:  # the status the alternatives have without the differential cues
            spans = [(mentions[p].start, mentions[p].end) for p in members]  # all: enumerations chain
            plain = rules.without_differential_cues(folded, found, *sentence)
            bounds = [sentence[0]], [sentence[1]]
            if plain is None:
                contexts = statuses(text, spans, rules.without_differentials(), *bounds, None)
            else:
                contexts = statuses(text, spans, rules, *bounds, None, found=plain)
            for p in group:
                mentions[p] = _status(mentions[p], contexts.get(members.index(p), POSITIVE))
            continue
        for p in group:  # what describes an alternative: "hemorrhagic" of "hemorrhagic cyst versus ..."
            hedge, start = _context_of(mentions[p]), mentions[p].start
            for q in reversed(members[: members.index(p)]):
                b = mentions[q]
                if b.status != "positive" or kinds[q] == _BODYPART_CATEGORY or text[b.end : start].strip():
                    break
                mentions[q] = _status(b, hedge)
                start = b.start


#: After an exception cue, a preposition of place: what is excepted is a place where the negated
#: finding is ("no bowel wall thickening except in the sigmoid colon, where there is diverticulosis").
_PLACE_NEXT = re.compile(r"\s+(?:for\s+)?(?:in|within|at|along|involving|over)\b", re.IGNORECASE)
#: In what an exception cue excepts: changes that no vocabulary names, not the negated finding
#: ("no masses in the chest, except postoperative changes at the mastectomy site").
_CHANGES = re.compile(r"\b(?:changes?|post-?operative|post-?surgical|surgical|degenerative)\b", re.IGNORECASE)


def _exceptions(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    graph: LabelGraph,
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
        cut = rules.clause_pattern.search(text, cue.end, sentence_end)
        stop = sentence_end if cut is None else cut.start()  # what the cue excepts ends with its clause
        after = [q for q in members if cue.end <= mentions[q].start < stop]
        lesion = any(not is_part[q] and mentions[q].status == "positive" for q in after) or _asserted(
            _lesion_nouns(text, cue.end, stop, rules, found, folded)
        )
        if not lesion and _CHANGES.search(text, cue.end, stop):
            continue  # what is excepted is another thing: "no masses, except postoperative changes"
        where = [mentions[q].label for q in after if is_part[q] and not _lesion_itself(text, graph, rules, mentions[q])]
        named = [mentions[q] for q in after if mentions[q].status == "positive"]
        held = graph.expand(m.label for m in named)
        not_so = _NOT_WORD.search(text, cue.end, stop) is not None
        qualified = not_so or bool(_starting_in(found, cue.end, stop))
        # (a place excepted keeps the finding named last before the cue: "except in the sigmoid colon, where ...")
        findings = [p for p in negated if not is_part[p] and mentions[p].end <= cue.start]
        placed = findings[-1] if findings and _PLACE_NEXT.match(text, cue.end) else None
        restored = []
        for p in negated:
            m = mentions[p]
            if (
                m.status == "negated"
                and m.end <= cue.start
                and (
                    p == placed
                    or (
                        (is_part[p] or placed is None)
                        and (
                            not lesion
                            or (is_part[p] and (not where or _related(graph, m.label, where)))
                            or (not is_part[p] and _member_named(text, graph, rules, m.label, named, held, qualified))
                        )
                    )
                )
            ):
                mentions[p] = _status(m, POSITIVE)
                restored.append(p)
        for q in reversed(restored):  # the words of a restored noun phrase: "no enlarged nodes except ..."
            while q and mentions[q - 1].status == "negated" and _adjacent(text, mentions[q - 1], mentions[q]):
                q -= 1
                if is_part[q] and where and not _related(graph, mentions[q].label, where):
                    break  # another place: "no hilar or axillary lymphadenopathy except a paratracheal node"
                if not_so and not is_part[q]:
                    break  # not so: "no enlarged nodes aside from a few prominent mesenteric nodes"
                mentions[q] = _status(mentions[q], POSITIVE)


def _lesion_itself(text: str, graph: LabelGraph, rules: ContextRules, part: Mention) -> bool:
    """Whether the body part ``part`` is the excepted lesion itself, not where it lies: a body part
    of no parent written as a lesion noun ("a 1.6 cm left level III node")."""
    return (
        part.label in graph
        and not graph.parents(part.label)
        and bool(rules.head_pattern.search(text, part.start, part.end))
    )


def _adjacent(text: str, first: Mention, second: Mention) -> bool:
    """Whether only blanks and hyphens come between ``first`` and ``second``."""
    return not text[first.end : second.start].strip(" -")


def _member_named(
    text: str,
    graph: LabelGraph,
    rules: ContextRules,
    label: str,
    named: list[Mention],
    held: frozenset[str],
    qualified: bool,
) -> bool:
    """Whether the positive mentions ``named`` (``held``: their labels with ancestors) name a
    ``label``: a finding of an organ (lung nodule, lymphadenopathy) whose organs are all named,
    with the finding's type ("no pulmonary nodules except a 4 mm nodule in the right lower lobe")
    or, unless ``qualified`` (a trigger or a negative word such as "nonenlarged" among them), as a
    lesion noun ("no lymphadenopathy except a 1.6 cm iliac node")."""
    if label not in graph:
        return False
    parents = graph.parents(label)
    organs = {b for b in parents if graph.category(b) == _BODYPART_CATEGORY}
    if not organs or not organs <= held:
        return False
    return not (parents - organs).isdisjoint(held) or (
        not qualified
        and any(
            not organs.isdisjoint(graph.expand([m.label])) and rules.head_pattern.search(text, m.start, m.end)
            for m in named
        )
    )


#: A word that qualifies what follows as not so, or short of it: "nonenlarged", "non-enlarged",
#: "not enlarged", "mildly prominent", "subcentimeter", "borderline".
_NOT_WORD = re.compile(r"(?<![\w-])(?:non|not(?!\w)|prominent|subcentimeter|borderline)", re.IGNORECASE)


def _places(graph: LabelGraph, label: str) -> list[str]:
    """The nearest body parts above the finding ``label`` in ``graph`` (pleura for "pleural
    effusion"; none for "hernia")."""
    if label not in graph:
        return []
    parts = {a for a in graph.ancestors(label) if graph.category(a) == _BODYPART_CATEGORY}
    return [a for a in parts if not any(a in graph.ancestors(b) for b in parts)]


def _related(graph: LabelGraph, label: str, others: Iterable[str]) -> bool:
    """Whether ``label`` is one of ``others``, holds one of them or lies in one (in ``graph``)."""
    if label not in graph:
        return label in others
    above = graph.ancestors(label)
    return any(o == label or o in above or (o in graph and label in graph.ancestors(o)) for o in others)


def _hedged_natures(
    text: str,
    mentions: list[Mention],
    members: list[int],
    kinds: list[str | None],
    graph: LabelGraph,
    rules: ContextRules,
) -> None:
    """The hedged-nature rule of :func:`refine` for the mentions ``members`` of one sentence."""
    for i, q in enumerate(members):
        lesion = mentions[q]
        if lesion.status != "uncertain" or lesion.trigger is None:
            continue
        if (
            kinds[q] == _BODYPART_CATEGORY
            and rules.hedges_next(lesion.trigger)
            and rules.head_pattern.search(text, lesion.start, lesion.end)
        ):
            mentions[q] = _status(lesion, POSITIVE)  # "borderline subcarinal node": its size is hedged
        elif (
            kinds[q] == HEAD_CATEGORY
            and rules.is_nature_hedge(lesion.trigger)
            and _is_nature(lesion.label, graph, rules)
        ):
            _locate(text, mentions, kinds, lesion, reversed(members[:i]), forward=False)
            _locate(text, mentions, kinds, lesion, members[i + 1 :], forward=True)


def _is_nature(label: str, graph: LabelGraph, rules: ContextRules) -> bool:
    """Whether ``label`` is one of the rules' ``lesion_natures`` or lies below one."""
    return label in rules.lesion_natures or not rules.lesion_natures.isdisjoint(graph.ancestors(label))


#: Words that may qualify a nature named after a hedge: "is likely a postoperative seroma".
_MODIFIERS = re.compile(r"(?:[A-Za-z][\w-]*\s+){1,2}")


def _modified(text: str, mentions: Sequence[Mention], members: Sequence[int], start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is one or two words that qualify what follows and name nothing
    ("postoperative" in "a postoperative seroma"; not "right adrenal" in "a right adrenal adenoma")."""
    return _MODIFIERS.fullmatch(text, start, end) is not None and not any(
        start <= mentions[p].start < end for p in members
    )


def _nature_object(
    text: str,
    mentions: list[Mention],
    members: list[int],
    kinds: list[str | None],
    graph: LabelGraph,
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    sentence: tuple[int, int],
    cue: Trigger,
) -> None:
    """The rule of :func:`refine` for a nature hedge ``cue`` whose object is a nature ("are likely
    reactive", "low suspicion for malignancy in", "is probably a hemangioma"): the cue sets the
    status of that nature only, not of the lesion it is said of: its subject before the cue, or
    the lesion it qualifies after it (the next lesion noun or lesion type of its clause, and the
    body parts that locate it: "probably benign 6 mm nodule in the left lower lobe"); nor what
    follows the comma that closes it ("nodes, likely reactive, the largest in the subcarinal station")."""
    lead = rules.nature_pattern.match(text, cue.end) or rules.nature_lead.match(text, cue.end)
    if lead is None:
        return
    end = lead.end()
    if lead.re is rules.nature_lead:  # the object may be a lesion nature the ontology holds ("a granuloma")
        named = [
            p
            for p in members
            if (mentions[p].start == end or _modified(text, mentions, members, end, mentions[p].start))
            and kinds[p] == HEAD_CATEGORY
            and _is_nature(mentions[p].label, graph, rules)
        ]
        if not named:
            return
        end = max(mentions[p].end for p in named)
    context = Context(STATUS_OF[cue.kind], text[cue.start : cue.end], cue.start, cue.end)
    for p in members:  # the nature itself, which a backward cue did not reach
        if cue.end <= mentions[p].start < end and mentions[p].status == "positive":
            mentions[p] = _status(mentions[p], context)
    spared = [p for p in members if mentions[p].trigger_start == cue.start and mentions[p].end <= cue.start]
    if _CLOSED.match(text, end):  # an aside that a comma closes: "nodes, likely reactive, the largest 11 mm in ..."
        spared += [p for p in members if mentions[p].trigger_start == cue.start and mentions[p].start >= end]
    predicate = _PREDICATE.match(text, cue.end) or _PREDICATE_CUE.search(text, cue.start, cue.end)
    if lead.re is rules.nature_pattern and not predicate:
        # (a lesion nature, "likely cysts or hemangiomas", qualifies nothing after it; nor does a
        # nature said of a subject: "likely to represent benign cysts" hedges the cysts too)
        spared += _qualified(text, mentions, members, kinds, rules, found, cue.start, end, sentence[1])
    if spared:
        contexts = _without_cue(text, mentions, members, cue.start, rules, found, folded, sentence)
        for p in spared:
            mentions[p] = _status(mentions[p], contexts[p])


#: After a nature hedge's object: a comma that ends it, and the start of what is said next ("likely
#: a cyst, and splenomegaly").
_CLOSED = re.compile(r"\s*,\s*(?:the|which|measuring|largest|up\s+to|and|\d)\b", re.IGNORECASE)
#: After a nature hedge, or ending it: a verb or article that makes what follows the subject's
#: interpretation ("is likely to represent benign cysts", "favored to represent a benign adenoma").
_PREDICATE = re.compile(r"\s*(?:(?:to\s+)?(?:be|represents?|reflects?)|an?)\b", re.IGNORECASE)
_PREDICATE_CUE = re.compile(r"(?:represent|reflect|be)\s*\Z", re.IGNORECASE)


def _qualified(
    text: str,
    mentions: Sequence[Mention],
    members: Sequence[int],
    kinds: Sequence[str | None],
    rules: ContextRules,
    found: Sequence[Trigger],
    cue: int,
    start: int,
    end: int,
) -> list[int]:
    """The mentions hedged by the cue starting at ``cue`` that name the lesion a nature word ending
    at ``start`` qualifies: the next lesion noun or lesion type of its clause (not after "or": an
    alternative), what is written up to it ("benign 6 mm right lower lobe nodule", "malignancy in
    the 2 cm breast mass") and the body parts that locate it ("nodule in the left lower lobe");
    ``end``: the sentence end."""
    stop = min((t.start for t in _starting_in(found, start, end)), default=end)
    cut = rules.boundary_pattern.search(text, start, stop) or _ALTERNATIVE.search(text, start, stop)
    stop = stop if cut is None else cut.start()
    head = rules.head_pattern.search(text, start, stop)
    lesion = min(
        [
            *([head.end()] if head else ()),
            *(mentions[p].end for p in members if start <= mentions[p].start < stop and kinds[p] == HEAD_CATEGORY),
        ],
        default=None,
    )
    if lesion is None:
        return []
    hedged = [p for p in members if mentions[p].trigger_start == cue and mentions[p].start >= start]
    out = [p for p in hedged if mentions[p].start < lesion]  # hedged is sorted by start: a prefix
    edge, gap = max([lesion, *(mentions[p].end for p in out)]), _PART_AFTER
    for p in hedged[len(out) :]:
        if not (kinds[p] == _BODYPART_CATEGORY and gap.fullmatch(text, edge, mentions[p].start)):
            break
        out.append(p)
        edge, gap = mentions[p].end, _PART_NEXT
    return out


def _locate(
    text: str,
    mentions: list[Mention],
    kinds: list[str | None],
    lesion: Mention,
    side: Iterable[int],
    *,
    forward: bool,
) -> None:
    """Makes positive the body parts of ``side`` (positions, nearest first) written one after the
    other next to ``lesion`` (after it when ``forward``) and hedged by the same trigger."""
    edge, gap = (lesion.end, _PART_AFTER) if forward else (lesion.start, _PART_BEFORE)
    for p in side:
        m = mentions[p]
        if m.start < lesion.end and lesion.start < m.end:  # shares words with the lesion type ("right renal" cyst)
            if kinds[p] == _BODYPART_CATEGORY and m.status == "uncertain" and m.trigger_start == lesion.trigger_start:
                mentions[p] = _status(m, POSITIVE)
                edge = max(edge, m.end) if forward else min(edge, m.start)
            continue
        if m.start < edge if forward else m.end > edge:
            continue  # overlaps the body part next to it
        lo, hi = (edge, m.start) if forward else (m.end, edge)
        if not (
            kinds[p] == _BODYPART_CATEGORY
            and m.status == "uncertain"
            and m.trigger_start == lesion.trigger_start
            and gap.fullmatch(text, lo, hi)
        ):
            return
        mentions[p] = _status(m, POSITIVE)
        edge, gap = (m.end, _PART_NEXT) if forward else (m.start, gap)


def _mass_effects(
    text: str,
    mentions: list[Mention],
    members: list[int],
    kinds: list[str | None],
    graph: LabelGraph,
    rules: ContextRules,
    sentence: tuple[int, int],
    cues: Sequence[re.Match[str]],
) -> None:
    """The positive body parts that a lesion of their clause presses on, written as the object
    of one of the ``cues`` (:meth:`ContextRules.mass_effect_cues`; within five words after it,
    and those coordinated with it), as the subject of its passive ("... by"), or written just before
    a noun cue ("mediastinal shift"), become
    ``irrelevant``, the cue their trigger: they are not where the lesion lies ("mass
    compressing the IVC and the right atrium", "the trachea is displaced to the right by a
    thyroid mass"). So do those a lesion touches (a cue of the rules' ``contacts``) when a body
    part of the clause before the cue is the lesion's own place ("cyst in the pancreatic tail
    abutting the left kidney"; not "mass abutting the liver", where the liver is all that
    places it, nor "soft tissue mass abutting the liver": a tissue of no place)."""
    start, end = sentence
    cuts = [match.end() for match in rules.clause_pattern.finditer(text, start, end)]
    bounds = [start, *cuts, end]
    for cue in (c for c in cues if start <= c.start() < end):
        if rules.head_pattern.match(text, _after_blanks(text, cue.end())):
            continue  # an attribute of the lesion noun after it: "displaced fracture of the rib"
        c = bisect_right(cuts, cue.start())
        lo, hi = bounds[c], bounds[c + 1]
        inside = [p for p in members if lo <= mentions[p].start and mentions[p].end <= hi]
        passive = _BY.match(text, cue.end())
        compound = _COMPOUND_EFFECT.fullmatch(cue.group())  # the structure written before it: "mediastinal shift"
        if passive or compound:
            side = [p for p in inside if mentions[p].start >= passive.end()] if passive else inside
            span = (passive.end(), hi) if passive else (lo, hi)
            objects = [p for p in members if mentions[p].end <= cue.start()][::-1]  # nearest first
        else:
            side = [p for p in inside if mentions[p].end <= cue.start()]
            span = lo, cue.start()
            objects = [p for p in members if mentions[p].start >= cue.end()]  # the gaps bound them
        lesion = any(  # a lesion type, or what makes a structure bulge ("enlarged, ... indenting the bladder")
            kinds[p] in _BULGING and mentions[p].status in ("positive", "uncertain") for p in side
        )
        if not (lesion or rules.head_pattern.search(text, *span)):
            continue
        if rules.is_contact(cue.group()) and not any(
            kinds[p] == _BODYPART_CATEGORY
            and mentions[p].status == "positive"
            and not _of_no_place(graph, mentions[p].label)
            for p in side
        ):
            continue  # a lesion of no place of its own lies where it touches: "mass abutting the liver"
        context = Context("irrelevant", text[cue.start() : cue.end()], cue.start(), cue.end())
        backward = bool(passive or compound)
        edge, gap = (cue.start() if backward else cue.end()), (_BLANKS if compound else _OBJECT_GAP)
        for p in objects:
            m = mentions[p]
            lo_gap, hi_gap = (m.end, edge) if backward else (edge, m.start)
            if kinds[p] != _BODYPART_CATEGORY or gap.fullmatch(text, lo_gap, hi_gap) is None:
                break  # the object ends here
            if m.status == "positive":
                mentions[p] = _status(m, context)
            edge, gap = (m.start if backward else m.end), _COORDINATED


def _clauses(
    text: str,
    mentions: list[Mention],
    members: list[int],
    is_part: list[bool],
    graph: LabelGraph,
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
    for p in members:  # "lymph node in the right axilla, breasts unremarkable": a clause of its own
        m = mentions[p]  # (so is "cyst in the liver, spleen without lesions": a part and a negation)
        said = (
            m.trigger_start
            if m.status == "normal"
            else _negation_after(found, m.end)
            if m.status == "positive"
            else None
        )
        if (
            said is not None
            and is_part[p]
            and said >= m.end
            and _predicate_next(text, mentions, members, p, said)
            and not (m.trigger or "").lower().startswith("otherwise")
            and (comma := _COMMA_LEAD.search(text, start, m.start)) is not None
            and not any(comma.start() < cut <= m.start for cut in cuts)  # (", the liver is ...": cut already)
        ):
            insort(cuts, comma.start() + 1)
    cue = _front_exception(text, found, start, cuts[0]) if cuts else None
    front = None if cue is None else (cue, cuts[0])
    if front is not None:  # "Except for a cyst, the liver is normal": one clause, as "... normal except for a cyst"
        cuts = cuts[1:]
    bounds = [start, *cuts, end]
    for c, group in itertools.groupby(members, key=lambda p: bisect_right(cuts, mentions[p].start)):
        inside = list(group)  # members are sorted by start: their clauses come in order
        findings = [mentions[p].status for p in inside if not is_part[p] and not _denied_nature(mentions[p], rules)]
        normal = [p for p in inside if mentions[p].status == "normal"]
        unfound = all(s in ("negated", "normal") for s in findings)
        bare = [p for p in inside if is_part[p] and mentions[p].status == "positive"] if unfound else []
        if not normal and not bare:
            continue
        lo, hi = bounds[c], bounds[c + 1]
        nouns = _lesion_nouns(text, lo, hi, rules, found, folded, [mentions[p] for p in inside if is_part[p]])
        if "positive" in findings or (bookmark is not None and lo <= bookmark < hi) or _asserted(nouns):
            cues = _starting_in(found, lo, hi)
            excepting = (front is not None and c == 0) or any(t.kind == "exception" for t in cues)
            places = [mentions[q].label for q in inside if is_part[q] and mentions[q].status == "positive"]
            places = [] if excepting else places  # (where an exception cue excepts, the lesion lies in them)
            for p in _excepted(
                text, mentions, normal, is_part, graph, members, inside, found, hi, front if c == 0 else None
            ):
                if not _said_of_it(text, mentions[p]) or all(_related(graph, mentions[p].label, [q]) for q in places):
                    mentions[p] = _status(mentions[p], POSITIVE)  # (not a subject said normal, the lesion elsewhere)
        elif findings or (bare and nouns and _subject(text, lo, mentions[bare[0]], mentions[bare[-1]], nouns[0])):
            for p in bare:
                mentions[p] = _status(mentions[p], Context("normal"))
        elif (
            bare
            and not nouns
            and _SUBJECT_START.fullmatch(text, lo, mentions[bare[0]].start)
            and (size := _MEASURED.match(text, _after_blanks(text, mentions[bare[-1]].end)))
            and not any(_NODE_LABEL in graph.expand([mentions[p].label]) for p in bare)
        ):
            verb = size.start(1), size.end(1)  # "the spleen measures 12 cm": a size, no lesion
            for p in bare:
                mentions[p] = _status(mentions[p], Context("normal", text[verb[0] : verb[1]], *verb))


#: After a body part, its size ("the spleen measures 12 cm", "the main pancreatic duct measures 2 mm",
#: "small bowel loops measure up to 2 cm").
_MEASURED = re.compile(
    r"(?:(?:duct|ducts|gland|glands|loop|loops)\s+)?(?:(?:is|are)\s+)?(?:now\s+)?(measures|measure|measuring|measured)\s+"
    r"(?:up\s+to\s+|approximately\s+|approx\.?\s+|about\s+)?\d+(?:\.\d+)?\s*(?:mm|cm)\b",
    re.IGNORECASE,
)

#: What may come before the subject of a clause: "The spleen ...", "both kidneys ...", "the common
#: bile duct ..." (not "the largest in the right lower lobe").
_SUBJECT_START = re.compile(
    r"[\W\d]*(?:(?:the|both)\s+)?(?:(?!(?:in|of|at|on|with|within)\b)[a-z-]+\s+)?", re.IGNORECASE
)
#: Under an organ header, or after a body part that opens its sentence, a size and nothing else
#: ("Spleen: 11 cm.", "Liver: measures 16 cm in length", "Spleen 10.1 cm.").
_SIZE_ONLY = re.compile(
    r"\s*(?:(?:measures|measuring|is)\s+)?(?:approximately\s+|about\s+)?(\d+(?:\.\d+)?\s*(?:mm|cm))"
    r"(?:\s+in\s+(?:length|size|craniocaudal\s+(?:length|dimension)))?\s*\.?\s*",
    re.IGNORECASE,
)
#: A lymph node's size is a finding ("the largest mesenteric node measures 9 mm").
_NODE_LABEL = "lymph node"


def _sized(folded: Folded, start: int, end: int) -> bool:
    """Whether ``folded.text[start:end]`` may give a size (:data:`_MEASURED`; "measur" first, cheaply)."""
    text = folded.text
    if folded.exact and text.find("measur", start, end) < 0:  # (an exact fold is lower case)
        return False
    return _MEASURED.search(text, start, end) is not None


def _predicate_next(text: str, mentions: list[Mention], members: list[int], p: int, said: int) -> bool:
    """Whether the cue at ``said`` is the predicate of the body part ``mentions[p]``: a copula at
    most between, or body parts coordinated with it that the same cue says normal ("spleen and
    pancreas unremarkable")."""
    m, at = mentions[p], mentions[p].end
    if m.status == "normal":
        for q in members:
            other = mentions[q]
            if at <= other.start and other.end <= said and other.trigger_start == said:
                if not _JOINER.fullmatch(text, at, other.start):
                    return False
                at = other.end
    return _PREDICATE_GAP.fullmatch(text, at, said) is not None


def _negation_after(found: Sequence[Trigger], at: int) -> int | None:
    """The start of the first trigger from ``at`` on if it negates forward ("without", "with no")."""
    k = bisect_left(found, at, key=_start)
    return found[k].start if k < len(found) and found[k].kind == "negated" and found[k].forward else None


def _after_blanks(text: str, at: int) -> int:
    """The position of the first character from ``at`` that is not a blank."""
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _said_of_it(text: str, part: Mention) -> bool:
    """Whether the normal cue of ``part`` follows it within two words: its predicate ("heart size
    within normal limits", "the spleen is unremarkable", "liver normal")."""
    cue = part.trigger_start
    return cue is not None and cue >= part.end and len(_WORD.findall(text, part.end, cue)) <= 2


def _subject(text: str, start: int, first: Mention, last: Mention, lesion: Context) -> bool:
    """Whether the body parts ``first`` to ``last`` of a clause starting at ``start`` are the
    subject of the negation of the lesion noun of context ``lesion``: at most two words before
    them, six from the first to the negation ("the visualized bones show no acute abnormality";
    not "degenerative changes of the spine without acute abnormality")."""
    return (
        lesion.trigger_start is not None
        and lesion.trigger_start >= last.end
        and len(_WORD.findall(text, start, first.start)) <= 2
        and len(_WORD.findall(text, first.start, lesion.trigger_start)) <= 6
    )


def _excepted(
    text: str,
    mentions: list[Mention],
    normal: list[int],
    is_part: list[bool],
    graph: LabelGraph,
    members: list[int],
    inside: list[int],
    found: Sequence[Trigger],
    hi: int,
    front: tuple[Trigger, int] | None = None,
) -> list[int]:
    """The ``normal`` mentions of a clause ending at ``hi`` (its mentions: ``inside``; those of its
    sentence: ``members``) that a lesion in it makes positive again: all of them, or when an
    exception cue excepts what names body parts from several said normal ("the spleen and kidneys
    are unremarkable except for a cyst in the left kidney"), those outside what it excepts related
    to one (one said normal holds it: "the aorta is normal in caliber except for an infrarenal
    aneurysm"). ``front``: the exception cue that opens the clause and the end of what it excepts
    ("Except for a renal cyst, the abdomen is unremarkable"); else a cue after the first normal
    mention excepts up to ``hi``."""
    if not normal:
        return normal
    if front is None:
        start = min(mentions[p].end for p in normal)
        after = next((t for t in _starting_in(found, start, hi) if t.kind == "exception"), None)
        if after is None:
            return normal
        front = after, hi
    cue, cut = front
    excepted = [q for q in inside if cue.end <= mentions[q].start < cut]
    where = [mentions[q].label for q in excepted if is_part[q]]
    if where and _said_normal(text, mentions, members, normal, is_part, excepted) == 1:
        return normal  # (one body part said normal holds what is excepted from it)
    # (a place at the root of the hierarchy is a system, "blood vessel" for a hemangioma: no organ)
    where = where or [place for q in excepted for place in _places(graph, mentions[q].label) if graph.parents(place)]
    if not where:
        return normal
    return [p for p in normal if p in excepted or _related(graph, mentions[p].label, where)]


def _said_normal(
    text: str, mentions: list[Mention], members: list[int], normal: list[int], is_part: list[bool], excepted: list[int]
) -> int:
    """How many body parts among ``members`` the cues of the mentions ``normal`` say normal (in
    clauses before theirs too: "both kidneys and the spleen are normal"), outside ``excepted``;
    mentions only blanks apart count as one ("the subcutaneous soft tissues")."""
    cues = {mentions[p].trigger_start for p in normal}
    spans = sorted(
        (mentions[q].start, mentions[q].end)
        for q in members
        if is_part[q] and mentions[q].status == "normal" and mentions[q].trigger_start in cues and q not in excepted
    )
    return sum(1 for k, (start, _) in enumerate(spans) if not k or text[spans[k - 1][1] : start].strip())


def _front_exception(text: str, found: Sequence[Trigger], start: int, cut: int) -> Trigger | None:
    """The exception cue that opens the sentence starting at ``start`` (after a list label, if
    any) and whose clause ends at ``cut``, if there is one."""
    cue = next((t for t in _starting_in(found, start, cut) if t.kind == "exception"), None)
    return cue if cue is not None and _LIST_LABEL.fullmatch(text, start, cue.start) else None


def _size_alone(
    text: str, mentions: list[Mention], members: list[int], graph: LabelGraph, sentence: tuple[int, int]
) -> None:
    """A body part that opens its sentence, then its size and nothing else ("Spleen 10.1 cm.", "The
    liver measures 16 cm."), is ``normal``: a measurement, no lesion (not a lymph node's size).
    ``members``: the sentence's mentions, body parts all positive."""
    first, end = mentions[members[0]].start, max(mentions[p].end for p in members)
    if (
        _LEADING.fullmatch(text, sentence[0], first)
        and (size := _SIZE_ONLY.fullmatch(text, end, sentence[1])) is not None
        and _NODE_LABEL not in graph.expand([mentions[p].label for p in members])
    ):
        for p in members:
            mentions[p] = _status(mentions[p], Context("normal", size.group(1), *size.span(1)))


def _header(
    text: str,
    mentions: list[Mention],
    is_part: list[bool],
    graph: LabelGraph,
    rules: ContextRules,
    found: Sequence[Trigger],
    folded: Folded,
    header: Header,
    sentences: Sequence[tuple[int, int]],
) -> None:
    """The header rules of :func:`refine` for one header."""
    within = _mentions_in(mentions, header.start, header.end)
    own = [p for p in within if mentions[p].end <= header.end]
    header_cues = [t for t in _starting_in(found, header.start, header.end) if t.kind in STATUS_KINDS]
    k = bisect_left(sentences, header.end, key=itemgetter(0))
    body = (sentences[k][0], min(sentences[k][1], header.body_end)) if k < len(sentences) else (0, 0)
    if not own and header_cues and not _WORD.search(text, header.start, header_cues[0].start):
        t = header_cues[0]  # a header that is a status cue: "Normal: liver, spleen.", "Resolved: hilar adenopathy."
        if not _WORD.search(text, t.end, header.end) and body[0] < body[1]:
            titled_by = Context(STATUS_OF[t.kind], text[t.start : t.end], t.start, t.end)
            for p in _mentions_in(mentions, *body):
                if mentions[p].status == "positive" and (t.kind != "normal" or is_part[p]):
                    mentions[p] = _status(mentions[p], titled_by)
        return
    if not own or header_cues:
        return  # (a status cue in it: a statement before a colon, "Suspicious for HCC:", not a title)
    if header.organ and not _ALNUM.search(text, header.end, header.body_end):  # "CHEST:\nLungs: Clear.", "LIVER: [ ]"
        for p in own:
            if is_part[p]:
                m = mentions[p]
                mentions[p] = _status(m, Context("irrelevant", m.text, m.start, m.end))
        return
    under = _mentions_in(mentions, *sentences[k]) if k < len(sentences) and sentences[k][0] < header.body_end else None
    value = None
    if under is not None and not under:
        cues = [  # (not a hedge on a nature: "Enlarged node: likely reactive" keeps the node)
            t
            for t in _starting_in(found, *sentences[k])
            if t.kind in STATUS_KINDS
            and not (rules.is_nature_hedge(text[t.start : t.end]) and rules.nature_pattern.match(text, t.end))
        ]
        excepted = any(t.kind == "exception" for t in _starting_in(found, *sentences[k]))  # "normal except for ..."
        if (
            len({t.kind for t in cues}) == 1
            and not excepted
            and not (header.organ and _lesion_nouns(text, *sentences[k], rules, found, folded))
        ):
            # (under an organ header a lesion noun is evidence like the others, read below with all of them)
            t = cues[0]
            value = Context(STATUS_OF[t.kind], text[t.start : t.end], t.start, t.end)
        elif (
            not cues
            and header.organ
            and (size := _SIZE_ONLY.fullmatch(text, *sentences[k])) is not None
            and not any(_NODE_LABEL in graph.expand([mentions[p].label]) for p in own)
        ):
            value = Context("normal", size.group(1), *size.span(1))  # "Spleen: 11 cm": a size, no lesion
    if value is not None and header.organ:  # a lesion later under it: "LIVER: Normal in size. 2 cm cyst."
        organs = [mentions[p].label for p in own if is_part[p]]
        for lo, hi in itertools.takewhile(lambda s: s[0] < header.body_end, sentences[k + 1 :]):
            hi = min(hi, header.body_end)
            inside = _mentions_in(mentions, lo, hi)
            elsewhere = [  # (a tissue of no place is the organ's: "Simple cortical cyst" under "KIDNEYS:")
                p
                for p in inside
                if is_part[p] and mentions[p].status == "positive" and not _of_no_place(graph, mentions[p].label)
            ]
            if any(not _related(graph, mentions[p].label, organs) for p in elsewhere):
                continue  # another organ's: "Pancreas: normal. 1 cm cyst in the right kidney."
            if any(not is_part[p] and mentions[p].status == "positive" for p in inside) or (
                _asserted(_lesion_nouns(text, lo, hi, rules, found, folded))
            ):
                value = None
                break
    if value is not None:
        for p in own:
            mentions[p] = _status(mentions[p], value)
        return
    for p in own:
        m = mentions[p]
        same = None if header.organ and is_part[p] else next((q for q in under or () if _names(m, mentions[q])), None)
        if same is not None:
            mentions[p] = _status(m, _context_of(mentions[same]))
    if header.organ:
        organs = [mentions[p].label for p in own if is_part[p]]
        block = _mentions_in(mentions, header.end, header.body_end)
        removed = next((q for q in block if _removal(mentions[q]) and mentions[q].label in organs), None)
        if removed is not None:  # "GALLBLADDER: Status post cholecystectomy.": the organ is gone
            r = mentions[removed]
            for p in own:
                if is_part[p]:
                    mentions[p] = _status(mentions[p], Context("negated", r.text, r.start, r.end))
            return
        evidence: list[Context] = []
        nouns: list[Context] = []
        for lo, hi in itertools.takewhile(lambda s: s[0] < header.body_end, sentences[k:]):
            inside = _mentions_in(mentions, lo, min(hi, header.body_end))
            if inside and _subject_elsewhere(text, lo, mentions[inside[0]], is_part[inside[0]], graph, organs):
                continue  # about another organ: "Kidneys: no stones. Bladder wall thickened."
            evidence += [_context_of(mentions[p]) for p in inside if not is_part[p] and not _removal(mentions[p])]
            nouns += _lesion_nouns(text, lo, min(hi, header.body_end), rules, found, folded)
        evidence += nouns  # (an asserted lesion noun counts with the findings: "cirrhotic morphology; no focal mass")
        best = min(evidence, key=lambda c: _FINDING_RANK.get(c.status, 0), default=POSITIVE)
        if best.status != "positive":
            for p in own:
                if is_part[p]:
                    mentions[p] = _status(mentions[p], best)
        elif not evidence:  # no finding under it: its organ is as the text under it says ("LUNGS: Clear lungs.")
            below = [mentions[q] for q in _mentions_in(mentions, header.end, header.body_end) if is_part[q]]
            block_cues = _starting_in(found, header.end, header.body_end)
            cues = [t for t in block_cues if t.kind in STATUS_KINDS]
            if any(t.kind == "exception" for t in block_cues):
                cues = []  # "Kidneys: unremarkable except for a duplex collecting system"
            for p in own:
                said = [m for m in below if is_part[p] and _related(graph, mentions[p].label, [m.label])]
                if said and all(m.status != "positive" for m in said):
                    mentions[p] = _status(mentions[p], _context_of(said[0]))
                elif not below and cues and all(t.kind == "normal" for t in cues) and is_part[p]:
                    t = cues[0]  # normal cues alone under it: "RENAL ARTERIES: Single bilaterally. Patent."
                    mentions[p] = _status(mentions[p], Context("normal", text[t.start : t.end], t.start, t.end))
        _unnamed_organs(mentions, [p for p in own if is_part[p]], is_part, graph, header)


def _of_no_place(graph: LabelGraph, label: str) -> bool:
    """Whether the body part ``label`` is a tissue of no place: alone in the hierarchy ("soft
    tissue", "cortex")."""
    return not graph.parents(label) and not graph.children(label)


def _removal(mention: Mention) -> bool:
    """Whether ``mention`` names an organ's removal ("left nephrectomy"): no finding in it."""
    return mention.text.lower().endswith("ectomy")


def _subject_elsewhere(
    text: str, start: int, first: Mention, part: bool, graph: LabelGraph, organs: Sequence[str]
) -> bool:
    """Whether a sentence starting at ``start`` whose first mention is ``first`` (a body part when
    ``part``) is about a body part that is none of ``organs`` nor related to one: it opens the
    sentence, after one word at most that is no negation ("Bladder wall thickened", "The spleen is
    normal"; not "No cervical lymphadenopathy"), and a tissue of no place (a body part alone in the
    hierarchy: "Bilateral cortical cysts" under "KIDNEYS:" are the kidneys' cortex) is none."""
    if not part or _related(graph, first.label, organs):
        return False
    if _of_no_place(graph, first.label):
        return False
    words = _WORD.findall(text, start, first.start)
    return not words or (len(words) == 1 and words[0].lower() not in _NEGATION_WORDS)


#: A word before a sentence's first body part that makes it part of what is negated, not its subject.
_NEGATION_WORDS = frozenset({"no", "without", "nil"})


def _unnamed_organs(
    mentions: list[Mention], organs: list[int], is_part: list[bool], graph: LabelGraph, header: Header
) -> None:
    """Under a header of several ``organs`` ("ADRENALS/KIDNEYS:"), a body part said positive in the
    text under it ("2 cm left adrenal nodule") names where the finding is: the header's other organs,
    listed as examined, are normal."""
    if len(organs) < 2:
        return
    below = [
        m.label
        for q in _mentions_in(mentions, header.end, header.body_end)
        if is_part[q] and (m := mentions[q]).status == "positive"
    ]
    named = [p for p in organs if _related(graph, mentions[p].label, below)]
    if named:
        for p in organs:
            if p not in named and mentions[p].status == "positive":
                mentions[p] = _status(mentions[p], Context("normal"))


def _names(header: Mention, mention: Mention) -> bool:
    """Whether ``mention`` names what the mention ``header`` of a header does: the same label, or
    the last words of its text ("Pleural effusion: no effusion")."""
    if header.label == mention.label:
        return True
    said, short = header.text.lower().split(), mention.text.lower().split()
    return said[-len(short) :] == short


_start = attrgetter("start")
_end = attrgetter("end")


def _starting_in(found: Sequence[Trigger], start: int, end: int) -> Sequence[Trigger]:
    """The triggers of ``found`` (sorted, not overlapping) that start in ``[start, end)``."""
    return found[bisect_left(found, start, key=_start) : bisect_left(found, end, key=_start)]


def _mentions_in(mentions: Sequence[Mention], start: int, end: int) -> range:
    """Positions of the ``mentions`` (sorted by start) that start in ``[start, end)``."""
    return range(bisect_left(mentions, start, key=_start), bisect_left(mentions, end, key=_start))
