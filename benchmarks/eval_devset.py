"""Micro precision / recall / F1 of the Extractor on LesaNet's hand-labeled development set.

    python benchmarks/eval_devset.py [--data ../shared/data/lesanet/hand_labeled_dev.json] [--misses 15]
                                     [--curation accepted.csv]

Predicted: ``labels ∪ uncertain`` of the whole description; gold: ``expanded_terms``. Gold
labels that are not terms of the shipped ontology (LesaNet's dangling parent names such as
"gastrointestinal" or "neoplasm") cannot be predicted: the script reports them separately, as
it reports predictions that are ancestors LesaNet's unclosed parent lists left out of the gold
set (the shipped ontology closes them, see ontologies/source/BUILD_REPORT.md).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scoring import Counts

from radminer import Extractor

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lesanet" / "hand_labeled_dev.json"


@dataclass
class Scores(Counts):
    """Micro counts, with the labels missed and added, for the listing."""

    misses: Counter = field(default_factory=Counter)
    extras: Counter = field(default_factory=Counter)
    not_in_ontology: Counter = field(default_factory=Counter)
    closure: Counter = field(default_factory=Counter)


def evaluate(path: Path = DEFAULT, extractor: Extractor | None = None) -> tuple[Scores, Scores]:
    """Scores against the gold as given, and against the gold closed under the ontology's ancestors
    with labels the ontology lacks left out."""
    extractor = extractor or Extractor(bookmark=None)
    graph = extractor.graph
    raw, fair = Scores(), Scores()
    for item in json.loads(path.read_text(encoding="utf-8")):
        (row,) = extractor(item["text"])
        predicted = set(row.labels) | set(row.uncertain)
        gold = set(item["expanded_terms"])
        known = {g for g in gold if g in graph}
        closed = set(graph.expand(known))
        for scores, truth in ((raw, gold), (fair, closed)):
            scores.tp += len(predicted & truth)
            scores.fp += len(predicted - truth)
            scores.fn += len(truth - predicted)
            scores.misses.update(f"{label}  ← {item['text']!r}" for label in truth - predicted)
            scores.extras.update(f"{label}  ← {item['text']!r}" for label in predicted - truth)
        raw.not_in_ontology.update(gold - known)
        raw.closure.update((predicted & closed) - gold)
    return raw, fair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--misses", type=int, default=15, help="how many misses and extras to list")
    parser.add_argument("--curation", type=Path, help="synonyms CSV applied on top of the shipped curation")
    args = parser.parse_args()
    raw, fair = evaluate(args.data, Extractor(bookmark=None, extra_synonyms=args.curation))
    for name, s in (("gold as given", raw), ("gold closed under ancestors, known labels", fair)):
        print(f"{name}: P {s.precision:.4f}  R {s.recall:.4f}  F1 {s.f1:.4f}  (tp {s.tp}, fp {s.fp}, fn {s.fn})")
    print(f"gold labels not in the ontology ({sum(raw.not_in_ontology.values())}):", dict(raw.not_in_ontology))
    print(f"predicted ancestors missing from unclosed gold sets ({sum(raw.closure.values())}):", dict(raw.closure))
    print("misses (against the closed gold):")
    for miss, n in fair.misses.most_common(args.misses):
        print(f"  {n} × {miss}")
    print("extras (against the closed gold):")
    for extra, n in fair.extras.most_common(args.misses):
        print(f"  {n} × {extra}")


if __name__ == "__main__":
    main()
