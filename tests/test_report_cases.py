"""Behavioural corpus: how radminer must read real radiology report text.

Each line of ``tests/data/report_cases.jsonl`` is a report text mined whole
(``Extractor(bookmark=None)``, the shipped ontology) with what a radiologist expects of its row:
``positive`` all in ``row.labels`` (labels are expanded to ancestors), ``negated`` all in
``row.negated``, ``uncertain`` all in ``row.uncertain``, ``not_positive`` none in ``row.labels``.
``benchmarks/eval_cases.py`` prints the share of cases right per category. A case may carry a
``known_failure`` reason: a known limitation, tested as a strict xfail; and ``options``: Extractor
options of its own (``{"organ_parts": true}``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import radminer

CASES_FILE = Path(__file__).resolve().parent / "data" / "report_cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
KEYS = ("positive", "negated", "uncertain", "not_positive")
CATEGORIES = (
    "headers",
    "sections",
    "normal",
    "pseudo_negation",
    "resolution",
    "uncertainty_scope",
    "composition_scope",
    "exceptions",
    "sentence_splitting",
    "lemmas_synonyms",
    "clinical_cues",
    "coverage",
    "negation_uncertainty_basics",
)


@pytest.fixture(scope="module")
def extractors() -> dict[str, radminer.Extractor]:
    """Extractors by their options (as JSON), built on first use."""
    return {}


def _extractor(case: dict, extractors: dict[str, radminer.Extractor]) -> radminer.Extractor:
    options = case.get("options", {})
    key = json.dumps(options, sort_keys=True)
    if key not in extractors:
        extractors[key] = radminer.Extractor(bookmark=None, **options)
    return extractors[key]


def test_corpus_shape() -> None:
    assert len(CASES) >= 200
    ids = Counter(case["id"] for case in CASES)
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids"
    per_category = Counter(case["category"] for case in CASES)
    assert set(per_category) == set(CATEGORIES), per_category
    assert min(per_category.values()) >= 10, per_category
    labels = set(radminer.load_ontology().labels)
    for case in CASES:
        assert set(case) >= {"id", "category", "text", "note", *KEYS}, case["id"]
        assert case["text"].strip(), case["id"]
        assert any(case[key] for key in KEYS), f"{case['id']} asserts nothing"
        assert set(case) <= {"id", "category", "text", "note", "known_failure", "options", *KEYS}, case["id"]
        unknown = {label for key in KEYS for label in case[key]} - labels
        assert not unknown, f"{case['id']}: not labels of the shipped ontology: {sorted(unknown)}"
        # a label cannot be both required and forbidden positive, negated and uncertain, ...
        assert not set(case["positive"]) & set(case["not_positive"]), case["id"]
        assert not set(case["positive"]) & (set(case["negated"]) | set(case["uncertain"])), case["id"]
        assert not set(case["negated"]) & set(case["uncertain"]), case["id"]


def _param(case: dict) -> object:
    """A case as a test parameter: a known failure is a strict xfail with its reason (it must be
    fixed, or its reason revised, when it starts to pass)."""
    marks = [pytest.mark.xfail(strict=True, reason=case["known_failure"])] if "known_failure" in case else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_report_case(case: dict, extractors: dict[str, radminer.Extractor]) -> None:
    (row,) = _extractor(case, extractors)(case["text"])
    labels, negated, uncertain = set(row.labels), set(row.negated), set(row.uncertain)
    problems = [f"{label!r} not positive" for label in case["positive"] if label not in labels]
    problems += [f"{label!r} not negated" for label in case["negated"] if label not in negated]
    problems += [f"{label!r} not uncertain" for label in case["uncertain"] if label not in uncertain]
    problems += [f"{label!r} positive" for label in case["not_positive"] if label in labels]
    expected = {key: case[key] for key in KEYS if case[key]}
    assert not problems, (
        f"{case['id']} ({case['category']}): {'; '.join(problems)}\n"
        f"text:      {case['text']!r}\n"
        f"expected:  {expected}   ({case['note']})\n"
        f"labels:    {list(row.labels)}\n"
        f"uncertain: {list(row.uncertain)}\n"
        f"negated:   {list(row.negated)}"
    )
