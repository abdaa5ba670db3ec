"""The shipped example vocabulary of chest X-ray findings (examples/cxr_findings.csv)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import radminer
from radminer import Extractor

VOCABULARY = Path(__file__).resolve().parents[1] / "examples" / "cxr_findings.csv"
CHEST_XRAY14 = (
    "atelectasis", "cardiomegaly", "consolidation", "edema", "pleural effusion", "emphysema", "fibrosis",
    "hernia", "infiltration", "mass", "nodule", "pleural thickening", "pneumonia", "pneumothorax",
)  # fmt: skip


def test_loads_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = radminer.load_ontology(VOCABULARY)
    assert not graph.problems
    assert set(CHEST_XRAY14) <= set(graph.labels)
    assert graph.lookup("PTX") == "pneumothorax"
    assert graph.expand(["nodule"]) == {"nodule", "lung lesion", "lung opacity"}
    assert graph.parents("hydropneumothorax") == {"pneumothorax", "pleural effusion"}


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(VOCABULARY, bookmark=None)


def test_positive(extractor: Extractor) -> None:
    (row,) = extractor("There is mild cardiac enlargement and a small right apical PTX.")
    assert set(row.labels) == {"cardiomegaly", "enlarged cardiomediastinum", "pneumothorax", "pleural abnormality"}
    assert not row.negated and not row.uncertain


def test_negated(extractor: Extractor) -> None:
    (row,) = extractor("No pulmonary edema or effusions.")
    assert row.negated == ("edema", "pleural effusion")
    assert not row.labels and not row.uncertain


def test_uncertain(extractor: Extractor) -> None:
    (row,) = extractor("Bibasilar opacities, possibly subsegmental atelectasis.")
    assert row.labels == ("lung opacity",)
    assert row.uncertain == ("atelectasis",)
