"""Sections: the structure of a report, from its headers and recommendation cues.

The analyzer finds headers ("FINDINGS:", "Impression:", "LUNGS/PLEURA:"; see
:class:`~radminer.text.analysis.Analysis`); each header is a sentence of its own, so no
negation or uncertainty scope crosses it. This stage reads them:

- a **section header** names the section of the text under it, up to the next section header;
  one of :data:`DEFAULT_EXCLUDED` (history, indication, comparison, technique, recommendation:
  they hold no findings) whose text follows its header on the header's line ends with that line
  (a comparison's, with its first sentence: a comparison names a prior study; a history's or an
  indication's, at a later sentence that holds a measurement: a finding) or at an organ header
  (what follows is the findings: section ``None``).
  Common names are canonical (:data:`SECTION_NAMES`: "Clinical history:" → ``history``,
  "Conclusion:" → ``impression``); other headers that name no label ("ALLERGIES:",
  "Physical examination:") start a section of their own name, lower-cased. A header that
  names labels ("Pneumothorax: none.") stays in the enclosing section.
- an **organ header** ("LIVER:", "Lymph nodes:") names a body part of the ontology: its
  section stays the enclosing one, and its body part is the location of the findings under
  it, up to the next header (its *block*; see :class:`~radminer.text.compose.Composer` and
  :func:`~radminer.text.context.refine`).
- in a sentence with a recommendation cue ("recommend", "is advised", "consider" before an
  exam: "consider CT for further characterization"), what follows the cue up
  to the end of its clause (";") is in section ``recommendation`` ("Recommend CT of the abdomen
  and pelvis.").

Text before the first section header, or after a one-line preamble, has section ``None``.
:data:`DEFAULT_EXCLUDED` sections do not count towards a row's labels unless asked for (their
mentions are still reported, with their section).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..errors import InputError
from .matching import select

if TYPE_CHECKING:
    from ..ontology.graph import LabelGraph
    from .analysis import Analysis
    from .matching import Match

__all__ = ["DEFAULT_EXCLUDED", "PLAIN", "SECTION_NAMES", "Block", "Layout", "counted", "layout", "section_filter"]

#: Canonical section names, by the header's words (lower case, blanks single).
SECTION_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ["findings", "finding", "observations", "description", "report", "ct findings"], "findings"
    ),
    **dict.fromkeys(
        [
            "impression", "impressions", "conclusion", "conclusions", "summary", "opinion", "diagnosis",
            "interpretation", "assessment", "final impression", "final diagnosis",
        ],
        "impression",
    ),
    **dict.fromkeys(
        [
            "history", "clinical history", "medical history", "past medical history", "past history", "hx",
            "history of present illness", "hpi", "clinical information", "clinical info", "clinical data",
            "clinical details", "clinical notes", "clinical note", "clinical", "past surgical history",
            "family history", "social history", "pmh", "pmhx", "psh", "clinical hx", "relevant history",
            "relevant clinical history",
        ],
        "history",
    ),
    **dict.fromkeys(
        [
            "indication", "indications", "clinical indication", "clinical indications", "reason for exam",
            "reason for examination", "reason for study", "reason for referral", "reason", "clinical question",
            "exam reason", "reason for request", "mdt question", "clinical query",
        ],
        "indication",
    ),
    **dict.fromkeys(
        [
            "comparison", "comparisons", "prior", "priors", "prior studies", "prior study", "prior exam", "compared",
            "prior imaging", "previous imaging", "previous studies", "previous study", "previous exam",
            "previous examination", "prior examination",
        ],
        "comparison",
    ),
    **dict.fromkeys(
        ["technique", "techniques", "procedure", "protocol", "examination", "exam", "study", "contrast"],
        "technique",
    ),
    **dict.fromkeys(
        ["recommendation", "recommendations", "plan", "follow-up", "follow up", "followup", "advice"],
        "recommendation",
    ),
}  # fmt: skip
#: Sections whose mentions do not count towards a row's labels by default: the reason for the
#: exam and the history are not findings of this exam, nor are the comparison and technique
#: notes or what is recommended.
DEFAULT_EXCLUDED: frozenset[str] = frozenset({"history", "indication", "comparison", "technique", "recommendation"})
#: The sections of clinical information: written on one line, they end at a sentence with a
#: measurement, the exam's finding.
_CLINICAL = frozenset({"history", "indication"})
#: Units of a measurement.
_UNITS = frozenset({"mm", "cm"})
#: Match keys (lemmas) that open a recommendation for the rest of their sentence.
_RECOMMENDATION_CUES: frozenset[str] = frozenset({"recommend", "recommendation", "advise", "advised", "advisable"})
#: "consider" opens one too when an exam, a correlation or follow-up is among its next words
#: (:data:`_CONSIDER_REACH`): "consider dedicated rib views", "consider CT for further
#: characterization" (a redacted word there, "consider XXXX of the chest", is an exam's name);
#: else it hedges what it names ("consider hemangioma": the context rules).
_CONSIDER = "consider"
_EXAMS = frozenset({
    "ct", "cta", "mri", "mr", "pet", "cxr", "radiograph", "radiography", "film", "view", "series", "image",
    "imaging", "evaluation", "correlation", "follow", "followup", "ultrasound", "sonography", "fluoroscopic",
    "fluoroscopy", "study", "exam", "examination", "scan", "biopsy", "repeat", "xxxx",
})  # fmt: skip
_CONSIDER_REACH = 4
#: Match keys that may open a recommendation: one scan of a text's keys tells whether to look.
_CUE_KEYS = _RECOMMENDATION_CUES | {_CONSIDER}


class Block(NamedTuple):
    """An organ header and the tokens under it.

    ``header``: token range of the header (its colon included); ``end``: the token where the
    block ends (the next header, the end of the text, or for a header after ";" the next ";");
    ``labels``: the body-part labels the header names.
    """

    start: int
    header_end: int
    end: int
    labels: frozenset[str]


class Layout:
    """Sections and organ blocks of one analyzed text (see :func:`layout`)."""

    def __init__(self, starts: list[int], names: list[str | None], blocks: list[Block]) -> None:
        self._starts = starts  # token where each stretch of one section begins, ascending
        self._names = names
        self.blocks = blocks
        self._block_starts = [b.start for b in blocks]

    @property
    def section_starts(self) -> list[int]:
        """The tokens where a section begins, ascending."""
        return self._starts

    def section(self, token: int) -> str | None:
        """Section of the token ``token`` (``None`` before the first section header)."""
        k = bisect_right(self._starts, token) - 1
        return self._names[k] if k >= 0 else None

    def block(self, token: int) -> Block | None:
        """The organ block that holds ``token`` (header or body), if any."""
        k = bisect_right(self._block_starts, token) - 1
        if k >= 0 and token < self.blocks[k].end:
            return self.blocks[k]
        return None


#: The layout of a text without headers or recommendation cues.
PLAIN = Layout([], [], [])


def layout(analysis: Analysis, matches: Sequence[Match], graph: LabelGraph) -> Layout:
    """The :class:`Layout` of ``analysis``; ``matches``: its label matches (organ headers are
    those holding a match of a ``bodypart`` label of ``graph``)."""
    headers = analysis.headers
    cues = _recommendation_cues(analysis) if not _CUE_KEYS.isdisjoint(analysis.keys) else []
    if not headers and not cues:
        return PLAIN
    keys = analysis.keys
    starts: list[int] = []
    names: list[str | None] = []
    blocks: list[Block] = []
    current: str | None = None
    match_starts = [m.start for m in matches]
    for n, (first, colon_end) in enumerate(headers):
        end = headers[n + 1][0] if n + 1 < len(headers) else len(keys)
        inside = select(
            [m for m in matches[bisect_right(match_starts, first - 1) : bisect_right(match_starts, colon_end - 1)]
             if m.end <= colon_end]
        )  # fmt: skip
        words = " ".join(analysis.text[slice(*analysis.chars(first, colon_end - 1))].lower().split())
        name = SECTION_NAMES.get(words)
        if name is None and inside:  # a header naming labels ("LIVER:", "Pneumothorax:") keeps the section
            organs = frozenset(m.label for m in inside if m.label in graph and graph.category(m.label) == "bodypart")
            if organs:
                if first and keys[first - 1] == ";":  # an item of a list: "GB: calculus; pancreas: normal; ..."
                    end = next((i for i in range(colon_end, end) if keys[i] == ";"), end)
                blocks.append(Block(first, colon_end, end, organs))
                if current in DEFAULT_EXCLUDED:  # "Comparison: 01/02/2023. Liver: 3 cm mass": the findings
                    current = None
                    starts.append(first)
                    names.append(current)
            continue
        current = name or words
        starts.append(first)
        names.append(current)
        if current in DEFAULT_EXCLUDED:
            after = _inline_end(analysis, colon_end, end, current)
            if after is not None:  # "Indication: flank pain.\nNo hydronephrosis.": the findings
                current = None
                starts.append(after)
                names.append(current)
    for cue, sentence_end in cues:
        resume = bisect_right(starts, cue) - 1
        starts[resume + 1 : resume + 1] = [cue, sentence_end]
        names[resume + 1 : resume + 1] = ["recommendation", names[resume] if resume >= 0 else None]
    return Layout(starts, names, blocks)


def _inline_end(analysis: Analysis, colon_end: int, end: int, name: str) -> int | None:
    """The token where the text written on a header's line ends (the header, of section ``name``,
    has its colon before token ``colon_end``; its section ends before token ``end``): the next
    line, for a comparison the sentence after its first ("Comparison: CT 1/5/2023. There is a
    ..."), for a history or indication a later sentence that holds a measurement ("Indication:
    r/o metastases. 5 mm nodule ..."); ``None`` when nothing follows the header on its line, or
    nothing follows before ``end``."""
    starts, ends = analysis.offsets()
    text, sent_starts = analysis.text, analysis.sent_starts
    at = ends[colon_end - 1]
    stop = starts[end - 1] if end < len(starts) else len(text)
    line_end = text.find("\n", at, stop)
    if not text[at : line_end if line_end >= 0 else stop].strip():
        return None
    after = bisect_right(starts, line_end) if line_end >= 0 else end
    second = bisect_right(sent_starts, colon_end)  # the header's text's second sentence
    if name == "comparison" and second < len(sent_starts):
        after = min(after, sent_starts[second])
    elif name in _CLINICAL:
        after = _measured(analysis, second, after)
    return after if after < end else None


def _measured(analysis: Analysis, first: int, end: int) -> int:
    """The start of the first sentence from the ``first``-th one on, before token ``end``, that
    holds a measurement ("5 mm", "1.2 cm": a finding of the exam); ``end`` when none does."""
    keys, sent_starts = analysis.keys, analysis.sent_starts
    bounds = [*sent_starts, len(keys)]
    for n in range(first, len(sent_starts)):
        lo, hi = bounds[n], min(end, bounds[n + 1])
        if lo >= end:
            break
        if any(
            keys[i] is not None and keys[i][:1].isdigit() and keys[i + 1] in _UNITS  # type: ignore[index]
            for i in range(lo, hi - 1)
        ):
            return lo
    return end


def _recommendation_cues(analysis: Analysis) -> list[tuple[int, int]]:
    """``(cue token, end of its clause)`` of the first recommendation cue of each sentence: what
    follows a ";" is a clause of its own ("follow-up advised; a 4 mm nodule in the RLL")."""
    out: list[tuple[int, int]] = []
    starts, ends = analysis.offsets()
    keys = analysis.keys
    for i, key in enumerate(keys):
        if (not out or i >= out[-1][1]) and (
            key in _RECOMMENDATION_CUES
            or (key == _CONSIDER and not _EXAMS.isdisjoint(keys[i + 1 : i + 1 + _CONSIDER_REACH]))
        ):
            end = analysis.sentence_of(i)[1]
            semicolon = analysis.text.find(";", ends[i], starts[end - 1])
            if semicolon >= 0:
                end = bisect_right(starts, semicolon)
            out.append((i, end))
    return out


def section_filter(sections: str | Iterable[str] | None) -> tuple[frozenset[str] | None, frozenset[str]]:
    """``(include, exclude)`` for :func:`counted` from the Extractor's ``sections`` option:
    ``None`` (all but :data:`DEFAULT_EXCLUDED`), ``"all"``, or section names (a list, or one
    string of comma-separated names)."""
    if sections is None:
        return None, DEFAULT_EXCLUDED
    if not isinstance(sections, (str, list, tuple, set, frozenset)):
        raise InputError(f"sections: expected 'all' or section names, found {type(sections).__name__}")
    names = sections.split(",") if isinstance(sections, str) else list(sections)
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError(f"sections: expected section names, found {sections!r}")
    chosen = frozenset(n.strip().lower() for n in names)
    if "all" in chosen:
        return None, frozenset()
    return chosen, frozenset()


def counted(sections: Iterable[str | None], include: frozenset[str] | None, exclude: frozenset[str]) -> list[bool]:
    """Whether mentions in each of ``sections`` count towards a row's labels (see
    :func:`section_filter`); text outside any section (``None``) always counts."""
    if include is None:
        return [s is None or s not in exclude for s in sections]
    return [s is None or s in include for s in sections]
