"""Quality: LesaNet's hand-labeled development set, and the seed paper's Fig. 3 style sentences."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from radminer import Extractor

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "lesanet" / "hand_labeled_dev.json"
#: F1 of ``labels ∪ uncertain`` against the gold as given, measured 0.966 (benchmarks/eval_devset.py). The gold
#: gives lung nodule / lung mass only where "lung" or "pulmonary" is written ("small nodule, right lower lobe,
#: lung" has it, "Right lower lobe nodule" not), while a lobe is part of the lung: the 16 lung nodule / lung mass
#: of lobe, lingula and fissure lesions count as false positives (0.979 before they were composed).
MIN_F1 = 0.96


@pytest.mark.shared
@pytest.mark.skipif(not DEVSET.is_file(), reason="../shared/data is absent")
def test_devset_f1(monkeypatch: pytest.MonkeyPatch) -> None:
    module_path = Path(__file__).resolve().parents[1] / "benchmarks" / "eval_devset.py"
    spec = importlib.util.spec_from_file_location("eval_devset", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "eval_devset", module)  # dataclasses look their module up
    monkeypatch.syspath_prepend(str(module_path.parent))  # it imports the shared scoring module
    spec.loader.exec_module(module)
    raw, fair = module.evaluate(DEVSET)
    assert raw.f1 >= MIN_F1, (raw.precision, raw.recall, raw.f1)
    assert fair.f1 >= raw.f1


# Sentences in the style of the seed paper's Fig. 3 (Yan et al., ISBI 2019): the exact sentences
# could not be retrieved, so these are representative lesion sentences written for the project,
# with the labels such a figure lists as true positives.
FIG3 = [
    (
        "Multiple hypodense liver masses, the largest in the right hepatic lobe BOOKMARK.",
        {"liver", "liver mass", "mass", "hypoattenuation", "abdomen", "upper abdomen"},
    ),
    (
        "Enlarged right hilar lymph node BOOKMARK measuring 1.5 x 1.2 cm (series 3, image 45).",
        {"right hilum lymph node", "hilum lymph node", "lymph node", "lymphadenopathy", "enlargement", "chest"},
    ),
    (
        "Right lower lobe spiculated pulmonary nodule BOOKMARK, suspicious for malignancy.",
        {"right lower lobe", "right lung", "lung", "lung nodule", "nodule", "spiculated", "chest"},
    ),
]


@pytest.mark.parametrize(("sentence", "expected"), FIG3)
def test_fig3_sentences(sentence: str, expected: set[str]) -> None:
    (row,) = Extractor()(sentence)
    assert row.bookmark == 0
    assert expected <= set(row.labels)
