"""Context through the :class:`~radminer.Extractor`: aggregation, relevance, exclusive labels, vocabularies."""

from __future__ import annotations

from pathlib import Path

import pytest

from radminer.text.extractor import Extractor

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


@pytest.fixture(scope="module")
def vocabulary() -> Extractor:
    return Extractor(DATA / "context_vocab.csv")


def test_contract_example_adenoma_is_uncertain(extractor: Extractor) -> None:
    [row] = extractor("No pleural effusion. Low density left adrenal nodule BOOKMARK, likely adenoma.")
    assert "left adrenal gland" in row.labels and "nodule" in row.labels
    assert row.uncertain == ("adenoma", "neoplasm")  # expanded to ancestors, like labels
    assert row.negated == ()


def test_whole_report_aggregation(extractor: Extractor) -> None:
    [row] = extractor("Right lung nodule. No pleural effusion. Possible granuloma. No nodule in the liver.")
    assert row.bookmark is None
    assert {"right lung", "lung", "chest", "nodule"} <= set(row.labels)
    assert row.uncertain == ("granuloma",)
    assert "pleural effusion" in row.negated
    assert "nodule" not in row.negated  # positive elsewhere in the report
    negated = [m for m in row.mentions if m.status == "negated"]
    assert all(m.trigger and row.sentence is not None for m in negated)


def test_other_lesion_of_the_bookmarked_sentence_is_irrelevant(extractor: Extractor) -> None:
    [row] = extractor("New 1 cm liver lesion BOOKMARK and a stable renal cyst.")
    assert "liver" in row.labels
    assert not {"kidney", "cyst", "kidney cyst"} & set(row.labels + row.uncertain + row.negated)
    assert {m.status for m in row.mentions if m.label != "liver"} == {"irrelevant"}


def test_each_bookmark_gets_its_own_lesion(extractor: Extractor) -> None:
    first, second = extractor("Enlarged mediastinal lymph nodes BOOKMARK and a right lower lobe nodule BOOKMARK.")
    assert "mediastinum lymph node" in first.labels and "right lower lobe" not in first.labels
    assert "right lower lobe" in second.labels and "mediastinum lymph node" not in second.labels


def test_exclusive_labels_nearest_to_bookmark(extractor: Extractor) -> None:
    [row] = extractor("Left lung nodule BOOKMARK, previously described in the right upper lobe.")
    assert "left lung" in row.labels and "right lung" not in row.labels
    assert "right upper lobe" in row.uncertain


@pytest.mark.parametrize(
    ("text", "labels", "uncertain", "negated"),
    [
        ("Patient denies chest pain.", (), (), ("chest pain",)),
        ("Shortness of breath, possibly CHF.", ("dyspnea", "symptom"), ("diagnosis", "heart failure"), ()),
        ("No fever. Pneumonia cannot be excluded.", (), ("diagnosis", "pneumonia"), ("fever",)),
        ("Febrile. No increase in thoracic pain.", ("chest pain", "fever", "symptom"), (), ()),
    ],
)
def test_custom_vocabulary_gets_context(
    vocabulary: Extractor, text: str, labels: tuple[str, ...], uncertain: tuple[str, ...], negated: tuple[str, ...]
) -> None:
    [row] = vocabulary(text)
    assert (row.labels, row.uncertain, row.negated) == (labels, uncertain, negated)


def test_context_off_keeps_every_mention_positive() -> None:
    [row] = Extractor(DATA / "context_vocab.csv", context=False)("No fever.")
    assert row.labels == ("fever", "symptom") and [m.status for m in row.mentions] == ["positive"]


def test_word_composition_takes_the_status_of_the_mention_it_lies_in() -> None:
    # 'adenopathy' → lymphadenopathy lies inside the uncertain "axillary adenopathy" (character
    # offsets; it once compared token indices with character offsets and stayed positive)
    (row,) = Extractor(bookmark=None)("Left axillary adenopathy versus reactive node.")
    statuses = {m.label: m.status for m in row.mentions}
    assert statuses["lymphadenopathy"] == statuses["axilla lymph node"] == "uncertain"
    assert "lymphadenopathy" not in row.labels
