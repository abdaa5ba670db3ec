"""benchmarks/eval_negex.py and benchmarks/eval_openi.py on tiny fixtures (tests/data, text written for the tests).

Each fixture holds right pairs and deliberate errors whose cause does not depend on fine points of
the context rules: a gold status contradicted by a plain sentence, a concept absent from its
sentence, a finding hedged with "possible", a finding written with other words.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from radminer import Extractor

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATA = Path(__file__).resolve().parent / "data"


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their shared scoring module
    spec.loader.exec_module(module)
    return module


def test_negex(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("eval_negex", monkeypatch)
    built: list[Path] = []

    def factory(vocabulary: Path) -> Extractor:
        built.append(vocabulary)
        return module.default_factory(vocabulary)

    result = module.evaluate(DATA / "negex_mini.tsv", extractor_factory=factory)
    assert len(built) == 1
    assert (result.pairs, result.right, result.gold_negated, result.right_negated) == (6, 4, 4, 3)
    assert (result.gold_affirmed, result.right_affirmed, result.not_found) == (2, 1, 1)
    assert result.accuracy == pytest.approx(4 / 6)
    causes = {cause: [e.pair.concept for e in errors] for cause, errors in result.by_cause().items()}
    assert causes == {
        "concept not found: not in the sentence text": ["rib fracture"],
        "missed negation: no negation trigger known": ["cardiomegaly"],
    }


def test_negex_locate(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("eval_negex", monkeypatch)
    sentence = "shortness of breath resolved; now SHORTNESS   OF BREATH again"
    assert module.locate("shortness of breath", sentence) == (34, 55)
    assert module.locate("cough", sentence) is None


def test_openi(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("eval_openi", monkeypatch)
    result = module.evaluate(DATA / "openi_mini_labels.csv", DATA / "openi_mini_reports.csv")
    assert result.reports == 5
    counts = {cls: (c.tp, c.fp, c.fn) for cls, c in result.classes.items()}
    assert counts == {
        "Atelectasis": (0, 0, 0),
        "Effusion": (1, 0, 0),
        "Mass": (0, 1, 0),
        "Nodule": (1, 0, 0),
        "Consolidation": (0, 0, 1),
        "Infiltration": (0, 0, 1),
    }
    micro = result.micro
    assert (micro.tp, micro.fp, micro.fn) == (2, 1, 2)
    assert (micro.precision, micro.recall, micro.f1) == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    errors = {(e.report, e.cls): (e.cause, e.sentence) for e in result.errors}
    assert errors == {
        ("CXR5", "Mass"): (
            "false positive: positive mention, no negation or uncertainty trigger in its sentence",
            "There is a right upper lobe mass.",
        ),
        ("CXR4", "Consolidation"): ("false negative: uncertain", "Possible left lower lobe consolidation."),
        ("CXR4", "Infiltration"): (
            "false negative: not mentioned (other wording)",
            "Possible left lower lobe consolidation. Patchy airspace opacity in the right lower lobe.",
        ),
    }


@pytest.mark.parametrize(
    ("name", "argv"),
    [("eval_negex", ["--data", "absent.tsv"]), ("eval_openi", ["--labels", "absent.csv"])],
)
def test_absent_data(
    name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load(name, monkeypatch)
    assert module.main(argv) == 1
    assert f"{argv[1]} is absent" in capsys.readouterr().err


def test_fuzzy_corrections(monkeypatch: pytest.MonkeyPatch) -> None:
    """eval_fuzzy records what the library's spelling fallback corrects."""
    module = load("eval_fuzzy", monkeypatch)
    extractor = Extractor(DATA / "vocab_findings.csv", bookmark=None)
    texts = ["Small pneumothroax, no consolidaton; a masss.", "Consolidaton again."]  # "masss": too short
    assert module.corrections(extractor, texts, min_letters=7) == {
        "pneumothroax": "pneumothorax",
        "consolidaton": "consolidation",
    }
    (row,) = extractor(texts[0])
    assert row.labels == ("finding", "pneumothorax") and row.negated == ("consolidation",)
