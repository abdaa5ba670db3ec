"""What extraction produces: :class:`Mention` (one matched label), :class:`LesionLabels` (one row
per lesion or report) and :class:`SentenceLabels` (one row per sentence).

Both are immutable named tuples (cheap to build: an extraction makes one per match).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import InputError

__all__ = ["PER", "STATUSES", "LesionLabels", "Mention", "SentenceLabels", "per_sentence"]

#: Mention statuses. ``normal``: a body part or attribute said to be normal ("unremarkable
#: spleen"): no lesion there. ``irrelevant``: about another lesion than the bookmarked one,
#: another person's ("family history of colon cancer"), or a structure a lesion presses on.
STATUSES: tuple[str, ...] = ("positive", "negated", "uncertain", "normal", "irrelevant")


class Mention(NamedTuple):
    """A label found in the text; ``start``/``end`` are character offsets into the input text.

    ``section``: the report section that holds it ("findings", "impression", "history", ...;
    ``None`` outside any section header, see :mod:`radminer.text.sections`).
    """

    label: str
    text: str
    start: int
    end: int
    status: str = "positive"
    trigger: str | None = None
    trigger_start: int | None = None
    trigger_end: int | None = None
    section: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mention's record: label, text, start, end, status, and the trigger fields and section when set."""
        out: dict[str, Any] = {
            "label": self.label,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "status": self.status,
        }
        if self.trigger is not None:
            out.update(trigger=self.trigger, trigger_start=self.trigger_start, trigger_end=self.trigger_end)
        if self.section is not None:
            out["section"] = self.section
        return out


class LesionLabels(NamedTuple):
    """Labels of one lesion (one bookmark) or, without bookmarks, of a whole report.

    ``labels``: positive labels expanded to all ancestors, sorted. ``uncertain`` and
    ``negated``: labels (expanded likewise) that are not already positive, sorted.
    ``bookmark``: index of the bookmark in the text, ``None`` when the text holds none.
    """

    bookmark: int | None
    sentence: str
    labels: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()

    def to_dict(self, report_id: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The JSONL record of ``radminer extract`` (docs/cli.md; ``id`` first when given)."""
        return _record(self, report_id)


class SentenceLabels(NamedTuple):
    """Labels of one sentence of a report (``radminer extract --per sentence``).

    ``sentence_index``: its number in the report (0, 1, ...); ``start``/``end``: character
    offsets of ``sentence`` in the report (blanks at its ends left out; ``sentence`` is cut
    to the extractor's ``max_sentence_chars``, "…" marking the cut); ``section``: the report
    section of its first token (``None`` outside any section header). ``labels``,
    ``uncertain``, ``negated`` and ``mentions`` as in :class:`LesionLabels`, of this sentence.
    """

    sentence_index: int
    start: int
    end: int
    section: str | None
    sentence: str
    labels: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()

    def to_dict(self, report_id: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The JSONL record of ``radminer extract --per sentence`` (docs/cli.md; ``id`` first when given)."""
        return _record(self, report_id)


def _record(row: LesionLabels | SentenceLabels, report_id: str | None) -> dict[str, Any]:
    """``row``'s fields in order (``id`` first when given), lists for tuples, mentions as dicts."""
    out: dict[str, Any] = {} if report_id is None else {"id": report_id}
    for name, value in row._asdict().items():
        if name == "mentions":
            value = [m.to_dict() for m in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


#: What an output row stands for: a lesion (or a report without bookmarks), or a sentence.
PER: tuple[str, ...] = ("report", "sentence")


def per_sentence(per: str) -> bool:
    """Whether ``per`` (one of :data:`PER`) asks for a row per sentence; :class:`InputError` for another value."""
    if per not in PER:
        raise InputError(f"per: expected one of {', '.join(PER)}, found {per!r}")
    return per == "sentence"
