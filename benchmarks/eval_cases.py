"""Share of the behavioural report cases (tests/data/report_cases.jsonl) the Extractor gets right.

    python benchmarks/eval_cases.py [--data tests/data/report_cases.jsonl] [-v]

Each case is one report text mined whole (``Extractor(bookmark=None)``, the shipped ontology, with
the case's ``options`` if it has any):
``positive`` must all be in ``row.labels``, ``negated`` in ``row.negated``, ``uncertain`` in
``row.uncertain`` and ``not_positive`` none in ``row.labels``. Prints the share of cases right
per category and overall; ``-v`` also prints each failing case with its row.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from radminer import Extractor

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "report_cases.jsonl"


def load_cases(path: Path = DEFAULT) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def problems(case: dict, row) -> list[str]:
    """What the row gets wrong about the case (empty when it is right)."""
    found = []
    labels, negated, uncertain = set(row.labels), set(row.negated), set(row.uncertain)
    for label in case["positive"]:
        if label not in labels:
            found.append(f"{label!r} not positive")
    for label in case["negated"]:
        if label not in negated:
            found.append(f"{label!r} not negated")
    for label in case["uncertain"]:
        if label not in uncertain:
            found.append(f"{label!r} not uncertain")
    for label in case["not_positive"]:
        if label in labels:
            found.append(f"{label!r} positive")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failing case with its row")
    args = parser.parse_args()
    extractors: dict[str, Extractor] = {}  # by a case's options (JSON), built on first use
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    failures = []
    for case in load_cases(args.data):
        options = case.get("options", {})
        key = json.dumps(options, sort_keys=True)
        if key not in extractors:
            extractors[key] = Extractor(bookmark=None, **options)
        (row,) = extractors[key](case["text"])
        found = problems(case, row)
        total[case["category"]] += 1
        if found:
            failures.append((case, row, found))
        else:
            right[case["category"]] += 1
    width = max(len(c) for c in total)
    for category, n in total.items():
        print(f"{category:<{width}}  {right[category]:>3}/{n:<3}  {right[category] / n:6.1%}")
    n, ok = sum(total.values()), sum(right.values())
    print(f"{'overall':<{width}}  {ok:>3}/{n:<3}  {ok / n:6.1%}")
    if args.verbose:
        for case, row, found in failures:
            print(f"\n{case['id']}: {'; '.join(found)}")
            print(f"  text:      {case['text']!r}")
            expected = {k: case[k] for k in ("positive", "negated", "uncertain", "not_positive") if case[k]}
            print(f"  expected:  {expected}")
            print(f"  labels:    {list(row.labels)}")
            print(f"  uncertain: {list(row.uncertain)}")
            print(f"  negated:   {list(row.negated)}")


if __name__ == "__main__":
    main()
