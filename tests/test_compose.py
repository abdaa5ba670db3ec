"""Compositions: one test per curated rule, plus the scopes and status inheritance."""

from __future__ import annotations

import pytest

from radminer import Extractor, LabelGraph, Term
from radminer.ontology.curation import Composition
from radminer.text.analysis import Analyzer
from radminer.text.compose import Composer
from radminer.text.matching import Matcher


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(bookmark=None, context=False)


# one case per row of ontologies/curation/compositions.csv (same order)
RULES = [
    ("Right renal mass", "right kidney"),
    ("left renal cyst", "left kidney"),
    ("right adrenal nodule", "right adrenal gland"),
    ("left adrenal nodule", "left adrenal gland"),
    ("right pulmonary nodule", "right lung"),
    ("left pulmonary nodule", "left lung"),
    ("right hemithorax", "right hemithorax"),
    ("left hemithorax", "left hemithorax"),
    ("right costophrenic angle", "right costophrenic sulcus"),
    ("left costophrenic angle", "left costophrenic sulcus"),
    ("right hilar adenopathy", "right hilum lymph node"),
    ("left hilar node", "left hilum lymph node"),
    ("right thyroid nodule", "right thyroid lobe"),
    ("left thyroid nodule", "left lobe of thyroid gland"),
    ("right atrial mass", "right atrium"),
    ("left pulmonary artery thrombus", "left pulmonary artery"),
    ("left renal vein", "left renal vein"),
    ("left renal artery", "left renal artery"),
    ("Hepatic heterogeneous mass", "liver mass"),
    ("Lung with a spiculated mass", "lung mass"),
    ("small nodule, lung", "lung nodule"),
    ("breast with a mass", "breast mass"),
    ("renal lesion, likely a cyst", "kidney cyst"),
    ("ovarian lesion, cyst", "ovarian cyst"),
    ("irregular right upper lobe mass", "spiculated mass"),
    ("lobulated enhancing mass", "lobular mass"),
    ("subcutaneous mass", "subcutaneous mass"),
    ("skin thickening", "skin thickening"),
    ("bronchial wall thickening", "bronchial wall thickening"),
    ("heterogeneously enhancing", "heterogeneous enhancement"),
    ("retrocrural adenopathy", "lymphadenopathy"),
    ("lymphadenopathy", "lymphadenopathy"),
    ("enlarged lymph nodes", "lymphadenopathy"),
    ("axillary lymphadenopathy", "axilla lymph node"),
    ("axillary lymph nodes", "axilla lymph node"),
    ("mediastinal lymphadenopathy", "mediastinum lymph node"),
    ("mediastinal lymph nodes", "mediastinum lymph node"),
    ("hilar lymphadenopathy", "hilum lymph node"),
    ("hilar lymph node", "hilum lymph node"),
    ("inguinal lymphadenopathy", "groin lymph node"),
    ("inguinal lymph node", "groin lymph node"),
    ("pelvic lymphadenopathy", "pelvis lymph node"),
    ("pelvic lymph node", "pelvis lymph node"),
    ("abdominal lymphadenopathy", "abdomen lymph node"),
    ("abdominal lymph node", "abdomen lymph node"),
    ("mesenteric lymphadenopathy", "mesentery lymph node"),
    ("mesenteric lymph nodes", "mesentery lymph node"),
    ("retroperitoneal lymphadenopathy", "retroperitoneum lymph node"),
    ("retroperitoneal lymph nodes", "retroperitoneum lymph node"),
    ("porta hepatis lymphadenopathy", "porta Hepatis lymph node"),
    ("esophageal lymphadenopathy", "esophagus lymph node"),
    ("internal mammary lymph nodes", "internal mammary lymph node"),
    ("mild cardiomegaly", "enlargement"),
    ("mild cardiomegaly", "cardiac"),
    ("hepatomegaly", "enlargement"),
    ("hepatomegaly", "liver"),
    ("splenomegaly", "enlargement"),
    ("splenomegaly", "spleen"),
    ("hepatosplenomegaly", "enlargement"),
    ("hepatosplenomegaly", "liver"),
    ("hepatosplenomegaly", "spleen"),
    ("porta hepatis lymph nodes", "porta Hepatis lymph node"),
    ("prevascular lymph node", "mediastinum lymph node"),
    ("superior mediastinal lymph node", "mediastinum lymph node"),
    ("simple renal cysts", "simple cyst"),
    ("several gallstones", "calculus"),
    ("several gallstones", "gallbladder"),
    ("cholelithiasis", "calculus"),
    ("cholelithiasis", "gallbladder"),
    ("choledocholithiasis", "calculus"),
    ("choledocholithiasis", "biliary system"),
    ("bilateral nephrolithiasis", "calculus"),
    ("bilateral nephrolithiasis", "kidney"),
    ("mild hydroureter", "dilation"),
    ("mild hydroureter", "ureter"),
    ("left pyelectasis", "dilation"),
    ("left pyelectasis", "renal pelvis"),
]


def test_every_curated_rule_has_a_case(extractor: Extractor) -> None:
    curated = extractor.graph.curation.compositions
    assert len(RULES) == len(curated) == len(extractor.composer)
    assert [label for _, label in RULES] == [c.label for c in curated]


@pytest.mark.parametrize(("text", "label"), RULES)
def test_rule(extractor: Extractor, text: str, label: str) -> None:
    (row,) = extractor(text)
    assert label in row.labels


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("right upper pole renal lesion", "right kidney", True),  # positional gap words
        ("left 2.5 cm adrenal nodule", "left adrenal gland", True),  # a measurement
        ("enlarged right hilar lymph node", "lymphadenopathy", True),  # words of another match
        ("right lung. Renal cyst", "right kidney", False),
        ("right, renal", "right kidney", False),  # punctuation breaks adjacency
        ("right and renal", "right kidney", False),
        ("renal right", "right kidney", True),  # any order
        ("liver normal. Splenic mass.", "liver mass", False),  # sentence scope
        ("right upper lobe nodule", "lung nodule", False),  # exact labels only
    ],
)
def test_scopes(extractor: Extractor, text: str, label: str, expected: bool) -> None:
    (row,) = extractor(text)
    assert (label in row.labels) is expected


def test_implications_through_parents(extractor: Extractor) -> None:
    (row,) = extractor("axillary adenopathy")
    assert {"axilla lymph node", "lymphadenopathy", "lymph node", "enlargement", "axilla"} <= set(row.labels)


def test_composed_mention_span_and_text(extractor: Extractor) -> None:
    text = "A right upper pole renal lesion."
    (row,) = extractor(text)
    (mention,) = [m for m in row.mentions if m.label == "right kidney"]
    assert mention.text == "right upper pole renal" == text[mention.start : mention.end]


def test_composed_status_follows_components() -> None:
    extractor = Extractor(bookmark=None)
    (row,) = extractor("No right renal mass.")
    assert "right kidney" not in row.labels
    (mention,) = [m for m in row.mentions if m.label == "right kidney"]
    assert mention.status == "negated" and mention.trigger == "No"


def test_chained_compositions() -> None:
    graph = LabelGraph(
        [
            Term("hilum", synonyms=("hilar",)),
            Term("lymphadenopathy", synonyms=("adenopathy",)),
            Term("hilum lymph node", parents=("hilum",)),
            Term("left hilum lymph node", parents=("hilum lymph node",)),
        ]
    )
    rules = [
        Composition("hilum lymph node", ("hilum", "lymphadenopathy"), "adjacent"),
        Composition("left hilum lymph node", ("'left'", "hilum lymph node"), "adjacent"),
    ]
    analyzer = Analyzer()
    composer = Composer(graph, analyzer, compositions=rules)
    analysis = analyzer.analyze("left hilar adenopathy")
    matches = Matcher(graph, analyzer).match(analysis.keys)
    composed = composer.compose(matches, analysis.keys, analysis.sent_starts)
    assert [c.match.label for c in composed] == ["hilum lymph node", "left hilum lymph node"]
    assert composed[1].components == (len(matches),)


def test_rules_with_unknown_labels_are_left_out() -> None:
    graph = LabelGraph([Term("kidney", synonyms=("renal",))])
    rule = Composition("right kidney", ("'right'", "kidney"), "adjacent")
    composer = Composer(graph, Analyzer(), compositions=[rule])
    assert len(composer) == 0
