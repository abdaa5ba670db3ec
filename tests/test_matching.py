"""Matching: whole words, lemmas, longest match, spelling variants."""

from __future__ import annotations

import pytest

from radminer import LabelGraph, Term
from radminer.text.analysis import Analyzer
from radminer.text.matching import Match, Matcher, Speller, _variants, select


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def matcher(analyzer: Analyzer) -> Matcher:
    graph = LabelGraph(
        [
            Term("liver", synonyms=("hepatic",)),
            Term("mass"),
            Term("liver mass", synonyms=("hepatic mass",), parents=("liver", "mass")),
            Term("lymph node", synonyms=("node", "nodal")),
            Term("mediastinum", synonyms=("mediastinal",)),
            Term("anterior mediastinum", synonyms=("anterior mediastinal",), parents=("mediastinum",)),
            Term("mediastinum lymph node", synonyms=("mediastinal lymph node",), parents=("lymph node",)),
            Term("ground-glass opacity"),
            Term("paraaortic"),
            Term("noncalcified"),
            Term("calcified"),
        ]
    )
    return Matcher(graph, analyzer)


def found(matcher: Matcher, analyzer: Analyzer, text: str) -> list[tuple[str, str]]:
    analysis = analyzer.analyze(text)
    out = []
    for m in select(matcher.match(analysis.keys)):
        start, end = analysis.chars(m.start, m.end)
        out.append((text[start:end], m.label))
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deliver the liver", [("liver", "liver")]),
        ("Nodes", [("Nodes", "lymph node")]),
        ("HEPATIC MASSES", [("HEPATIC MASSES", "liver mass")]),
        ("masses", [("masses", "mass")]),
        ("massive", []),
        ("lymph nodes", [("lymph nodes", "lymph node")]),
        ("nodes", [("nodes", "lymph node")]),
        ("ground glass opacities", [("ground glass opacities", "ground-glass opacity")]),
        ("ground-glass opacity", [("ground-glass opacity", "ground-glass opacity")]),
        ("para-aortic", [("para-aortic", "paraaortic")]),
        ("para aortic", [("para aortic", "paraaortic")]),
        ("non-calcified", [("non-calcified", "noncalcified")]),
        ("calcified", [("calcified", "calcified")]),
        ("non-hepatic mass", [("mass", "mass")]),  # "non" denies the word after it
        ("non hepatic mass", [("mass", "mass")]),
        ("nonhepatic mass", [("mass", "mass")]),
        (
            "anterior mediastinal lymph node",
            [("anterior mediastinal", "anterior mediastinum"), ("mediastinal lymph node", "mediastinum lymph node")],
        ),
        ("the liver, the mass", [("liver", "liver"), ("mass", "mass")]),
        ("liver BOOKMARK mass", [("liver", "liver"), ("mass", "mass")]),  # a bookmark breaks a match
    ],
)
def test_matches(matcher: Matcher, analyzer: Analyzer, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(matcher, analyzer, text) == expected


def test_nested_matches_are_all_found_then_selected(matcher: Matcher, analyzer: Analyzer) -> None:
    keys = analyzer.analyze("hepatic mass").keys
    assert sorted(matcher.match(keys)) == [Match(0, 1, "liver"), Match(0, 2, "liver mass"), Match(1, 2, "mass")]
    assert select(matcher.match(keys)) == [Match(0, 2, "liver mass")]


def test_name_beats_synonym_on_equal_keys(analyzer: Analyzer) -> None:
    graph = LabelGraph([Term("node"), Term("lymph node", synonyms=("nodes",))])
    matcher = Matcher(graph, analyzer)
    assert [m.label for m in matcher.match(analyzer.analyze("nodes").keys)] == ["node"]


@pytest.mark.parametrize(
    ("phrase", "variant"),
    [
        ("paraaortic", "para aortic"),
        ("para-aortic", "paraaortic"),
        ("subcapsular", "sub capsular"),
        ("gastroesophageal junction", "gastro esophageal junction"),
        ("portocaval lymph node", "porto caval lymph node"),
        ("right lower paratracheal lymph node", "right lower paratracheal node"),
    ],
)
def test_prefix_variants(phrase: str, variant: str) -> None:
    assert variant in _variants(phrase)


def test_plain_lymph_node_has_no_node_variant() -> None:
    assert "node" not in _variants("lymph node")


def test_station_named_by_its_enlarged_nodes() -> None:
    """A station's "lymphadenopathy", "adenopathy" and "nodal" name its nodes, unless the station's
    name is a phrase of the vocabulary itself (compositions combine it with the finding)."""
    variants = _variants("internal iliac lymph node")
    assert {"internal iliac lymphadenopathy", "internal iliac adenopathy", "internal iliac nodal"} <= variants
    hilar = _variants("hilar lymph node", places={"hilar", "hilar lymph node"})
    assert {"hilar node", "hilar LN"} <= hilar and "hilar lymphadenopathy" not in hilar
    assert "lymphadenopathy" not in _variants("lymph node")


@pytest.mark.parametrize("word", ["nodular", "lymphoma", "colon", "opacity"])
def test_no_split_at_short_pieces(word: str) -> None:
    """A word is split after a combining form only where both pieces have four letters or more."""
    assert _variants(word) == {word}


def test_hyphenated_combining_form_matches(analyzer: Analyzer) -> None:
    graph = LabelGraph([Term("gastroesophageal junction")])
    matcher = Matcher(graph, analyzer)
    for text in ("gastro-esophageal junction", "gastro esophageal junction", "gastroesophageal junction"):
        assert [m.label for m in matcher.match(analyzer.analyze(text).keys)] == ["gastroesophageal junction"]


def test_shipped_matcher_size() -> None:
    from radminer import Extractor

    extractor = Extractor(context=False)
    assert extractor.matcher.size > len(extractor.graph)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pretracheal and subcarinal nodes",
            [("pretracheal", "pretracheal lymph node"), ("subcarinal nodes", "subcarinal lymph node")],
        ),
        (
            "no pretracheal, or 1.4 cm left paraaortic lymph nodes",
            [("pretracheal", "pretracheal lymph node"), ("paraaortic", "paraaortic"), ("lymph nodes", "lymph node")],
        ),
        ("pretracheal fat and a node", [("node", "lymph node")]),  # the station has a noun of its own
        ("pretracheal and the liver", [("liver", "liver")]),  # no nodes follow
        ("pretracheal, which may be a node", [("node", "lymph node")]),  # a clause between
        ("pretracheal. Subcarinal nodes", [("Subcarinal nodes", "subcarinal lymph node")]),
    ],
)
def test_station_shares_the_next_stations_nodes(analyzer: Analyzer, text: str, expected: list[tuple[str, str]]) -> None:
    graph = LabelGraph(
        [
            Term("lymph node", synonyms=("node",), category="bodypart"),
            Term("liver", category="bodypart"),
            Term("paraaortic", category="bodypart"),
            Term("pretracheal lymph node", parents=("lymph node",), category="bodypart"),
            Term("subcarinal lymph node", parents=("lymph node",), category="bodypart"),
        ]
    )
    assert found(Matcher(graph, analyzer), analyzer, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("right and left lower lobes", [("right", "right lower lobe"), ("left lower lobes", "left lower lobe")]),
        ("right middle and lower lobes", [("right middle", "right middle lobe"), ("lower lobes", "right lower lobe")]),
        (
            "common and external iliac lymph nodes",
            [("common", "common iliac lymph node"), ("external iliac lymph nodes", "external iliac lymph node")],
        ),
        (
            "right middle or left lower lobe",  # a conjunct of two words
            [("right middle", "right middle lobe"), ("left lower lobe", "left lower lobe")],
        ),
        ("kidney and liver cysts", [("kidney", "kidney cyst"), ("liver", "liver"), ("cysts", "cyst")]),
        ("liver and spleen lesions", [("liver", "liver")]),  # no term of the liver's lesions
        ("right, left lower lobes", [("left lower lobes", "left lower lobe")]),  # a comma is no coordinator
        ("cysts and liver", [("cysts", "cyst"), ("liver", "liver")]),  # nothing after the second conjunct
    ],
)
def test_conjuncts_share_the_words_of_a_term(analyzer: Analyzer, text: str, expected: list[tuple[str, str]]) -> None:
    names = ("right lower lobe", "left lower lobe", "right middle lobe", "common iliac lymph node")
    names += ("external iliac lymph node", "liver", "cyst", "kidney", "kidney cyst")
    matcher = Matcher(LabelGraph([Term(name) for name in names]), analyzer)
    assert found(matcher, analyzer, text) == expected


def test_matches_come_sorted_by_start(analyzer: Analyzer) -> None:
    """Matches from shared words and stations come in their place (the extractor bisects them)."""
    graph = LabelGraph(
        [Term(n) for n in ("lymph node", "pretracheal lymph node", "subcarinal lymph node", "right lower lobe", "cyst")]
    )
    keys = analyzer.analyze("Pretracheal and subcarinal nodes, right and left lower lobes. Cyst.").keys
    matches = Matcher(graph, analyzer).match(keys)
    assert [(m.start, m.label) for m in matches] == [
        (0, "pretracheal lymph node"),
        (2, "subcarinal lymph node"),
        (5, "right lower lobe"),
        (11, "cyst"),
    ]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("lymphadenapathy", "lymphadenopathy"),  # a letter replaced
        ("hydronephorsis", "hydronephrosis"),  # two letters swapped
        ("lymphadenoopathy", "lymphadenopathy"),  # a letter added
        ("lymphadenopathyy", "lymphadenopathyy"),  # at the end: another ending, another word
        ("hydronephosis", "hydronephrosis"),  # a letter dropped
        ("lymphadenopathy", "lymphadenopathy"),  # a term word
        ("lymphadnapathy", "lymphadnapathy"),  # two edits
        ("mesntery", "mesntery"),  # too short (8 letters)
        ("mesenttery", "mesentery"),
        ("subcapsulr", "subcapsulr"),  # another ending: another word
        ("intraperitonal", "intraperitoneal"),
        ("extraperitoneal", "extraperitoneal"),  # another prefix: another word
        ("interventional", "interventional"),  # an English word
        ("pericardail", "pericardial"),  # two letters swapped at the end: a typo, not another ending
    ],
)
def test_speller(word: str, expected: str) -> None:
    words = {"lymphadenopathy": "lymphadenopathy", "hydronephrosis": "hydronephrosis", "subcapsular": "subcapsular"}
    words |= {"mesentery": "mesentery", "pericardial": "pericardium"}
    words |= {"intraperitoneal": "intraperitoneal", "intervention": "intervention"}
    assert Speller(words, frozenset(words))(word, word) == expected


def test_speller_compares_the_lemma() -> None:
    speller = Speller({"calcification": "calcified"}, frozenset({"calcification"}))
    assert speller("calcificatons", "calcificaton") == "calcification"  # the plural's lemma is one edit away


def test_speller_leaves_a_word_near_two_labels_alone() -> None:
    speller = Speller({"qqqqxzzzzzz": "first", "qqqqyzzzzzz": "second"}, frozenset())
    assert speller("qqqqwzzzzzz", "qqqqwzzzzzz") == "qqqqwzzzzzz"
    assert Speller({"qqqqxzzzzzz": "first"}, frozenset())("qqqqwzzzzzz", "qqqqwzzzzzz") == "qqqqxzzzzzz"


def test_extractor_spelling_option() -> None:
    from radminer import Extractor

    text = "Moderate left hydronephorsis."
    (row,) = Extractor(bookmark=None)(text)
    assert "hydronephrosis" in row.labels and [m.text for m in row.mentions if m.label == "hydronephrosis"] == [
        "hydronephorsis"
    ]
    exact = Extractor(bookmark=None, spelling=False)
    (row,) = exact(text)
    assert "hydronephrosis" not in row.labels
    assert exact.config["spelling"] is False and Extractor.from_config(exact.config).config["spelling"] is False
