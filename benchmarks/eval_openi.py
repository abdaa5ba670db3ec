"""Report-level findings on Open-i's development split: per-class P / R / F1 and micro-F1 of six classes.

    python benchmarks/eval_openi.py [--labels ../shared/data/openi_dev/openi_labels_dev.csv]
                                    [--reports ../shared/data/reports/openi_reports.csv] [-v]
                                    [--curation accepted.csv]

As the reference data's README prescribes: findings + impression of each report (joined as
``radminer extract`` joins text columns) go through ``Extractor(bookmark=None)`` with the shipped
ontology, and a class is predicted present when one of its labels is a positive label of the
report (``labels``: positive mentions expanded to their ancestors; uncertain ones do not count).
Gold: NegBio's labels from Open-i's MeSH coding (``filename`` = ``CXR<uid>``). ``-v`` lists the
errors grouped by cause, each with the sentence concerned.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scoring import Counts, group_by_cause, print_causes

from radminer import Extractor
from radminer.io.reader import join_texts
from radminer.text.context import ContextRules, split_sentences
from radminer.text.mentions import LesionLabels, Mention

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_LABELS = SHARED / "openi_dev" / "openi_labels_dev.csv"
DEFAULT_REPORTS = SHARED / "reports" / "openi_reports.csv"
TEXT_COLUMNS = ("findings", "impression")
#: Gold class → the labels that predict it when positive.
CLASSES: dict[str, tuple[str, ...]] = {
    "Atelectasis": ("atelectasis",),
    "Effusion": ("pleural effusion", "effusion"),
    "Mass": ("mass",),
    "Nodule": ("nodule",),
    "Consolidation": ("consolidation",),
    "Infiltration": ("infiltrate",),
}
#: The class's word as radiologists write it, to tell "never written" from "written but not matched".
STEMS: dict[str, re.Pattern[str]] = {
    "Atelectasis": re.compile(r"\w*atelecta\w*", re.IGNORECASE),
    "Effusion": re.compile(r"\w*effusion\w*", re.IGNORECASE),
    "Mass": re.compile(r"\bmass\w*", re.IGNORECASE),
    "Nodule": re.compile(r"\w*nodul\w*", re.IGNORECASE),
    "Consolidation": re.compile(r"\w*consolidat\w*", re.IGNORECASE),
    "Infiltration": re.compile(r"\w*infiltra\w*", re.IGNORECASE),
}


@dataclass(frozen=True)
class Error:
    """A wrong class of one report: its cause, the sentence concerned (or the report, when the
    class is never mentioned) and the trigger or words the cause is about."""

    report: str
    cls: str
    cause: str
    sentence: str
    detail: str | None = None


@dataclass
class Result:
    """Per-class counts, their micro sum, and every error."""

    reports: int = 0
    classes: dict[str, Counts] = field(default_factory=lambda: {c: Counts() for c in CLASSES})
    errors: list[Error] = field(default_factory=list)

    @property
    def micro(self) -> Counts:
        return Counts(*(sum(getattr(c, k) for c in self.classes.values()) for k in ("tp", "fp", "fn")))

    def by_cause(self) -> dict[str, list[Error]]:
        """The errors grouped by cause and class, the largest group first."""
        return group_by_cause(self.errors, lambda error: f"{error.cause} [{error.cls}]")


def read_csv(path: Path, required: Iterable[str], what: str) -> list[dict[str, str]]:
    """The rows of a CSV, after checking that the file and the ``required`` columns exist."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file ({what}; see ../shared/data/README.md)")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)


def read_set(labels: Path, reports: Path) -> list[tuple[str, str, dict[str, bool]]]:
    """``(filename, text, gold)`` of every labelled report; a label row without its report is an error."""
    gold_rows = read_csv(labels, ("filename", *CLASSES), "the Open-i development labels")
    texts = {
        f"CXR{row['uid']}": join_texts(row[c] for c in TEXT_COLUMNS)
        for row in read_csv(reports, ("uid", *TEXT_COLUMNS), "the Open-i reports")
    }
    out = []
    for line, row in enumerate(gold_rows, start=2):
        if row["filename"] not in texts:
            raise ValueError(f"{labels}: line {line}: no report with uid {row['filename'].removeprefix('CXR')!r}")
        bad = [c for c in CLASSES if row[c] not in ("0", "1")]
        if bad:
            raise ValueError(f"{labels}: line {line}, column {bad[0]}: expected 0 or 1, found {row[bad[0]]!r}")
        out.append((row["filename"], texts[row["filename"]], {c: row[c] == "1" for c in CLASSES}))
    return out


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence of ``text`` (split after ``.``/``!``/``?`` and blanks) that holds ``[start, end)``."""
    for s, e in split_sentences(text):
        if s <= start <= e:
            return s, max(e, end)
    return 0, len(text)


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that holds ``[start, end)`` (blanks collapsed)."""
    s, e = sentence_bounds(text, start, end)
    return " ".join(text[s:e].split())


def class_mentions(row: LesionLabels, labels: tuple[str, ...], expand: dict[str, frozenset[str]]) -> list[Mention]:
    """The mentions whose label is, or has as an ancestor, one of ``labels``."""
    return [m for m in row.mentions if expand[m.label] & set(labels)]


def explain(name: str, cls: str, text: str, gold: bool, mentions: list[Mention], rules: ContextRules) -> Error:
    """The error of a wrong class: a positive mention against gold 0, or why gold 1 was missed."""
    if not gold:
        m = next(m for m in mentions if m.status == "positive")
        sentence = sentence_at(text, m.start, m.end)
        kinds = {kind for _, _, kind in rules.find_triggers(sentence)}
        if "negated" in kinds:
            cause = "false positive: positive mention, a negation trigger in its sentence"
        elif "uncertain" in kinds:
            cause = "false positive: positive mention, an uncertainty trigger in its sentence"
        else:
            cause = "false positive: positive mention, no negation or uncertainty trigger in its sentence"
        return Error(name, cls, cause, sentence, m.text)
    if mentions:
        m = next((m for m in mentions if m.status == "uncertain"), mentions[0])
        cause = f"false negative: {m.status}"
        s, e = sentence_bounds(text, m.start, m.end)
        if m.trigger_start is not None and not s <= m.trigger_start < e:
            cause += " by a trigger in another sentence"
        return Error(name, cls, cause, sentence_at(text, m.start, m.end), m.trigger)
    written = STEMS[cls].search(text)
    if written:
        cause = "false negative: not mentioned, though the class's word is written"
        return Error(name, cls, cause, sentence_at(text, written.start(), written.end()), written.group())
    return Error(name, cls, "false negative: not mentioned (other wording)", " ".join(text.split()))


def evaluate(
    labels: Path = DEFAULT_LABELS, reports: Path = DEFAULT_REPORTS, extractor: Extractor | None = None
) -> Result:
    """Scores of ``extractor`` (default ``Extractor(bookmark=None)``, the shipped ontology) on the set."""
    items = read_set(labels, reports)
    extractor = extractor or Extractor(bookmark=None)
    graph = extractor.graph
    rules = ContextRules.default()
    expand: dict[str, frozenset[str]] = {}
    result = Result()
    for (name, text, gold), (row, *_) in zip(items, extractor.pipe(t for _, t, _ in items), strict=True):
        result.reports += 1
        for m in row.mentions:
            if m.label not in expand:
                expand[m.label] = graph.expand([m.label])
        positive = set(row.labels)
        for cls, wanted in CLASSES.items():
            predicted = bool(positive.intersection(wanted))
            counts = result.classes[cls]
            if predicted and gold[cls]:
                counts.tp += 1
            elif predicted or gold[cls]:
                if predicted:
                    counts.fp += 1
                else:
                    counts.fn += 1
                mentions = class_mentions(row, wanted, expand)
                result.errors.append(explain(name, cls, text, gold[cls], mentions, rules))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="gold labels CSV (default: %(default)s)")
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="reports CSV (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the errors grouped by cause")
    parser.add_argument("--curation", type=Path, help="synonyms CSV applied on top of the shipped curation")
    args = parser.parse_args(argv)
    for path in (args.labels, args.reports):
        if not path.is_file():
            print(f"eval_openi: {path} is absent (the Open-i development set of ../shared/data)", file=sys.stderr)
            return 1
    result = evaluate(args.labels, args.reports, Extractor(bookmark=None, extra_synonyms=args.curation))
    print(f"{result.reports} reports")
    print(f"{'class':<14} {'P':>6} {'R':>6} {'F1':>6}   tp / fp / fn")
    for cls, c in [*result.classes.items(), ("micro", result.micro)]:
        print(f"{cls:<14} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}   {c.tp} / {c.fp} / {c.fn}")
    print_causes(
        result.by_cause(),
        verbose=args.verbose,
        line=lambda e: f"- {e.report}{f' ({e.detail!r})' if e.detail else ''}: {e.sentence}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
