"""Negation accuracy of radminer on the NegEx test kit's development half (reports 1-60).

    python benchmarks/eval_negex.py [--data ../shared/data/negex_dev/negex_annotations_reports_1-60.tsv] [-v]

As the reference data's README prescribes: the kit's concepts become a user vocabulary CSV
(``term,synonyms,parents,category``, written to a temporary file), every sentence goes through
``Extractor(vocab.csv, bookmark=None)`` (what ``radminer extract --ontology vocab.csv`` does),
and a pair is right when the mention over the concept's span (the concept is written in upper
case inside the sentence) has the gold status, Negated against anything else. A concept that is
not found counts as wrong. ``-v`` lists the errors grouped by cause.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scoring import group_by_cause, print_causes

from radminer import Extractor
from radminer.text.analysis import Analyzer
from radminer.text.context import ContextRules, assign_context
from radminer.text.mentions import Mention

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "negex_dev" / "negex_annotations_reports_1-60.tsv"
COLUMNS = ("Report No.", "Concept", "Sentence", "Negation")
NEGATED = "Negated"
#: What between a trigger and the concept means that they are in different sentences (or sections).
_SENTENCE_BREAK = re.compile(r"[.:;!?]\s|\n")
#: What between a trigger and the concept means that they are in different clauses.
_CLAUSE_BREAK = re.compile(r"[,()]|\b(?:and|or|but|with|which|who|that|while|although|because|as)\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_PUNCTUATION = re.compile(r"[^\w\s]")

ExtractorFactory = Callable[[Path], Extractor]


def default_factory(vocabulary: Path) -> Extractor:
    """The Extractor of ``radminer extract --ontology vocabulary`` on texts without bookmarks."""
    return Extractor(vocabulary, bookmark=None)


@dataclass(frozen=True)
class Pair:
    """One gold concept/sentence pair of the kit."""

    report: str
    concept: str
    sentence: str
    negated: bool


@dataclass(frozen=True)
class Error:
    """A wrong pair: its cause, the mention over the concept (None when not found) and the trigger
    (the mention's, or for a missed negation the rules' negation trigger the cause is about)."""

    cause: str
    pair: Pair
    mention: Mention | None
    trigger: str | None = None


@dataclass
class Result:
    """Accuracy figures; ``errors`` lists every wrong pair."""

    pairs: int = 0
    right: int = 0
    gold_negated: int = 0
    right_negated: int = 0
    not_found: int = 0
    errors: list[Error] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.pairs if self.pairs else 0.0

    @property
    def gold_affirmed(self) -> int:
        return self.pairs - self.gold_negated

    @property
    def right_affirmed(self) -> int:
        return self.right - self.right_negated

    def by_cause(self) -> dict[str, list[Error]]:
        """The errors grouped by cause, the largest group first."""
        return group_by_cause(self.errors, lambda error: error.cause)


def read_pairs(path: Path) -> list[Pair]:
    """The pairs of a NegEx annotation TSV (columns ``Report No., Concept, Sentence, Negation``)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (the NegEx development set; see ../shared/data/README.md)")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        pairs = []
        for line, row in enumerate(reader, start=2):
            if row["Negation"] not in ("Affirmed", NEGATED):
                raise ValueError(
                    f"{path}: line {line}, column Negation: expected Affirmed or Negated, found {row['Negation']!r}"
                )
            pairs.append(Pair(row["Report No."], row["Concept"], row["Sentence"], row["Negation"] == NEGATED))
    return pairs


def normalize(concept: str) -> str:
    """The vocabulary name of a concept: lower case, single blanks."""
    return " ".join(concept.lower().split())


def write_vocabulary(concepts: Iterable[str], path: Path) -> None:
    """A vocabulary CSV with one term per distinct concept, category ``finding``.

    Concepts that radminer matches alike ("cough" / "coughing", "fever" / "fevers": the same
    match keys after lemmatization) become one term, the first name in sorted order: a pair is
    scored on the mention over its span whatever the mention's label.
    """
    analyzer = Analyzer(bookmark=None)
    names: dict[tuple[str, ...], str] = {}
    for name in sorted({normalize(c) for c in concepts}):
        names.setdefault(analyzer.phrase_keys(name) or (name,), name)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("term", "synonyms", "parents", "category"))
        for name in sorted(names.values()):
            writer.writerow((name, "", "", "finding"))


def locate(concept: str, sentence: str) -> tuple[int, int] | None:
    """Span of the concept in the sentence, blanks flexible, case-insensitive; the occurrence
    written in upper case (how the kit marks it) wins over others."""
    words = concept.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    found = list(pattern.finditer(sentence))
    if not found:
        return None
    upper = [m for m in found if m.group() == m.group().upper()]
    best = (upper or found)[0]
    return best.start(), best.end()


def mention_over(mentions: Iterable[Mention], start: int, end: int) -> Mention | None:
    """The mention that overlaps ``[start, end)`` most (the first on a tie), or None."""
    best, overlap = None, 0
    for m in mentions:
        shared = min(end, m.end) - max(start, m.start)
        if shared > overlap:
            best, overlap = m, shared
    return best


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def reads(trigger: str, rules: ContextRules) -> tuple[bool, bool]:
    """Whether a negation trigger (as written) negates a target after it, and one before it:
    probed with :func:`radminer.text.context.assign_context` on ``"alpha <trigger> omega"``."""
    text = f"alpha {trigger} omega"
    before, after = assign_context(text, [(0, 5), (len(text) - 5, len(text))], rules=rules, sentences=[(0, len(text))])
    return after.status == "negated", before.status == "negated"


def _missed_negation(text: str, start: int, end: int, rules: ContextRules) -> tuple[str, str | None]:
    """Why a negated concept was not read as negated, and the trigger concerned, from the rules'
    own triggers in the sentence."""
    triggers = rules.find_triggers(text)
    inside = [text[s:e] for s, e, _ in triggers if s < end and start < e]
    if inside:
        return "missed negation: a trigger overlapping the concept is ignored", inside[0]
    negations = [(s, e) for s, e, kind in triggers if kind == "negated"]
    before = [(s, e) for s, e in negations if e <= start]
    if not before:
        if not negations:
            pseudo = [text[s:e] for s, e, kind in triggers if kind == "pseudo"]
            if pseudo:
                return "missed negation: no negation trigger known (a pseudo-trigger in the sentence)", pseudo[0]
            return "missed negation: no negation trigger known", None
        s, e = negations[0]
        if not reads(text[s:e], rules)[1]:
            return "missed negation: trigger after the concept reads forward only", text[s:e]
        return "missed negation: trigger after the concept did not reach it", text[s:e]
    s, e = before[-1]
    trigger, between = text[s:e], text[e:start]
    if not reads(trigger, rules)[0]:
        return "missed negation: trigger before the concept reads backward only", trigger
    if any(e <= s2 and e2 <= start and kind in ("pseudo", "terminate") for s2, e2, kind in triggers):
        return "missed negation: scope ended by a terminator or pseudo-trigger", trigger
    if _SENTENCE_BREAK.search(between):
        return "missed negation: trigger in another sentence or section", trigger
    if _words(between) > rules.window:
        return "missed negation: concept beyond the window", trigger
    return "missed negation: trigger before the concept did not reach it", trigger


def cause_of(
    pair: Pair, span: tuple[int, int] | None, mention: Mention | None, rules: ContextRules
) -> tuple[str, str | None]:
    """Why a pair is wrong, and the trigger concerned: from the mention's status and trigger and
    what lies between the trigger and the concept (for missed negations, the rules' triggers
    found in the sentence)."""
    if span is None:
        return "concept not found: not in the sentence text", None
    if mention is None:
        if _PUNCTUATION.search(pair.concept):
            return "concept not found: no mention over its span (the concept holds punctuation)", None
        return "concept not found: no mention over its span", None
    start, end = span
    if pair.negated:
        if mention.status == "uncertain":
            return "missed negation: read as uncertain", mention.trigger
        return _missed_negation(pair.sentence, start, end, rules)
    if mention.trigger_start is None or mention.trigger_end is None:
        return "false negation: no trigger recorded", None
    if mention.trigger_start >= end:
        between = pair.sentence[end : mention.trigger_start]
        where = "after the concept (backward)"
    else:
        between = pair.sentence[mention.trigger_end : start]
        where = "before the concept"
    if _SENTENCE_BREAK.search(between):
        return f"false negation: trigger {where} in another sentence or section", mention.trigger
    if _CLAUSE_BREAK.search(between):
        return f"false negation: trigger {where} in another clause", mention.trigger
    return f"false negation: trigger {where} in the same clause (pseudo-trigger or scope not known)", mention.trigger


def evaluate(path: Path = DEFAULT, extractor_factory: ExtractorFactory = default_factory) -> Result:
    """Accuracy of the Extractor that ``extractor_factory(vocabulary_csv)`` builds on the pairs of ``path``."""
    pairs = read_pairs(path)
    with tempfile.TemporaryDirectory() as folder:
        vocabulary = Path(folder) / "vocab.csv"
        write_vocabulary((p.concept for p in pairs), vocabulary)
        extractor = extractor_factory(vocabulary)
    rules = ContextRules.default()
    result = Result()
    rows = extractor.pipe(p.sentence for p in pairs)
    for pair, (row, *_) in zip(pairs, rows, strict=True):
        span = locate(pair.concept, pair.sentence)
        mention = mention_over(row.mentions, *span) if span else None
        result.pairs += 1
        result.gold_negated += pair.negated
        if mention is not None and (mention.status == "negated") == pair.negated:
            result.right += 1
            result.right_negated += pair.negated
            continue
        result.not_found += mention is None
        cause, trigger = cause_of(pair, span, mention, rules)
        result.errors.append(Error(cause, pair, mention, trigger))
    return result


def _excerpt(pair: Pair, limit: int = 300) -> str:
    """The sentence with blanks collapsed; long ones cut around the concept."""
    text = " ".join(pair.sentence.split())
    if len(text) <= limit:
        return text
    at = text.lower().find(normalize(pair.concept))
    begin = max(0, min(at, len(text) - limit) if at >= 0 else 0)
    return ("…" if begin else "") + text[begin : begin + limit] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT, help="NegEx annotation TSV (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the errors grouped by cause")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"eval_negex: {args.data} is absent (the NegEx development set of ../shared/data)", file=sys.stderr)
        return 1
    result = evaluate(args.data)
    print(
        f"pairs {result.pairs}: right {result.right}, wrong {len(result.errors)} "
        f"({result.not_found} concepts not found)"
    )
    print(f"accuracy {result.accuracy:.4f}")
    print(
        f"gold Negated {result.gold_negated}: right {result.right_negated}; "
        f"gold Affirmed {result.gold_affirmed}: right {result.right_affirmed}"
    )
    print_causes(result.by_cause(), verbose=args.verbose, line=_error_line)
    return 0


def _error_line(e: Error) -> str:
    status = e.mention.status if e.mention else "not found"
    trigger = f", trigger {e.trigger!r}" if e.trigger else ""
    gold = "Negated" if e.pair.negated else "Affirmed"
    return f"- [{e.pair.report}] {e.pair.concept!r}: gold {gold}, found {status}{trigger}\n    {_excerpt(e.pair)}"


if __name__ == "__main__":
    sys.exit(main())
