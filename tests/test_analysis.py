"""Analysis: radiology tokenization, sentence splitting, lemmas, match keys."""

from __future__ import annotations

import re

import pytest

from radminer import RadminerError
from radminer.errors import InputError
from radminer.text.analysis import (
    ABBREVIATIONS,
    BOOKMARK_KEY,
    PLACEHOLDER_KEY,
    Analyzer,
    _emoticon,
    american_spelling,
    make_lemmatizer,
)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


LEMMAS = [
    ("masses", "mass"), ("metastases", "metastasis"), ("nodes", "node"), ("vertebrae", "vertebra"),
    ("diverticula", "diverticulum"), ("calcifications", "calcification"), ("opacities", "opacity"),
    ("effusions", "effusion"), ("cysts", "cyst"), ("bullae", "bulla"), ("enlarged", "enlarge"),
    ("enhancing", "enhance"), ("nodules", "nodule"), ("lesions", "lesion"), ("lobes", "lobe"),
    ("ribs", "rib"), ("lungs", "lung"), ("kidneys", "kidney"), ("ovaries", "ovary"),
    ("bronchi", "bronchus"), ("thrombi", "thrombus"), ("calculi", "calculus"), ("emboli", "embolus"),
    ("foci", "focus"), ("hila", "hilum"), ("axillae", "axilla"), ("pleurae", "pleura"),
    ("septa", "septum"), ("cortices", "cortex"), ("apices", "apex"), ("stenoses", "stenosis"),
    ("atelectases", "atelectasis"), ("adenopathies", "adenopathy"), ("hypodensities", "hypodensity"),
    ("hyperdensities", "hyperdensity"), ("hemangiomas", "hemangioma"), ("lymphomas", "lymphoma"),
    ("granulomas", "granuloma"), ("abscesses", "abscess"), ("fissures", "fissure"),
    ("densities", "density"), ("cavities", "cavity"), ("pneumothoraces", "pneumothorax"),
    ("left", "left"), ("mets", "mets"), ("ground", "ground"), ("pancreas", "pancreas"),
    ("ascites", "ascites"), ("thickened", "thicken"), ("dilated", "dilate"), ("calcified", "calcify"),
    ("scarring", "scar"), ("loops", "loop"), ("sinuses", "sinus"), ("hematomas", "hematoma"),
    ("seromas", "seroma"), ("angiomyolipomas", "angiomyolipoma"),
]  # fmt: skip


@pytest.mark.parametrize(("word", "lemma"), LEMMAS)
def test_medical_lemmas(analyzer: Analyzer, word: str, lemma: str) -> None:
    assert analyzer.lemma(word) == lemma
    assert analyzer.phrase_keys(word.upper()) == (lemma,)


def test_at_least_40_lemma_cases() -> None:
    assert len(LEMMAS) >= 40


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("ground-glass opacities", ("ground", "glass", "opacity")),
        ("Ground glass opacity", ("ground", "glass", "opacity")),
        ("wedge-shaped", ("wedge", "shape")),
        ("nodule/mass", ("nodule", "/", "mass")),
        ("1.3 x 1.3 cm", ("1.3", "x", "1.3", "cm")),
        ("(series 5, image 79)", ("(", "series", "5", ",", "image", "79", ")")),
        ("head of the pancreas", ("head", "of", "pancreas")),
        ("approx. 2 cm", ("approx.", "2", "cm")),
        ("x-XXXX", ("x", "xxxx")),
        ("3 - 4 cm", ("3", "-", "4", "cm")),
    ],
)
def test_match_keys(analyzer: Analyzer, text: str, keys: tuple[str, ...]) -> None:
    assert analyzer.phrase_keys(text) == keys


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("Haematomas", "hematoma"),
        ("haemorrhagic", "hemorrhagic"),
        ("haemangioma", "hemangioma"),
        ("pneumohaemothorax", "pneumohemothorax"),
        ("gastro-oesophageal junction", "gastro-esophageal junction"),
        ("oedematous", "edematous"),
        ("ischaemic", "ischemic"),
        ("ileocaecal valve", "ileocecal valve"),
        ("coeliac axis", "celiac axis"),
        ("faecolith", "fecolith"),
        ("tumours", "tumors"),
        ("characterised", "characterized"),
        ("too small to characterise", "too small to characterize"),
        ("localisation", "localization"),
    ],
)
def test_british_spellings_share_the_american_keys(analyzer: Analyzer, british: str, american: str) -> None:
    assert analyzer.phrase_keys(british) == analyzer.phrase_keys(american)


@pytest.mark.parametrize("word", ["contour", "four", "characteristic", "normal", "does", "poem", "aerated", "visual"])
def test_words_that_only_look_british_keep_their_spelling(word: str) -> None:
    assert american_spelling(word) == word


def sentences(analyzer: Analyzer, text: str) -> list[str]:
    return [s.text.strip() for s in analyzer.analyze(text).doc.sents]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No effusion. Heart is normal.", ["No effusion.", "Heart is normal."]),
        (
            "1. Bullous emphysema. 2. Scarring in the left apex.",
            ["1. Bullous emphysema.", "2. Scarring in the left apex."],
        ),
        ("Nodule of approx. 5 mm, e.g. Fig. 3 shows it.", ["Nodule of approx. 5 mm, e.g. Fig. 3 shows it."]),
        (
            "FINDINGS: Clear lungs. IMPRESSION: Normal chest.",
            ["FINDINGS:", "Clear lungs.", "IMPRESSION:", "Normal chest."],
        ),
        ("Mass 1.3 x 1.3 cm (series 5, image 79). Stable.", ["Mass 1.3 x 1.3 cm (series 5, image 79).", "Stable."]),
        ("Clear lungs\n\nNo effusion", ["Clear lungs", "No effusion"]),
        ("Findings\n1. Clear lungs\n2. No effusion", ["Findings", "1. Clear lungs", "2. No effusion"]),
        ("Normal chest x-XXXX. XXXX XXXX stable.", ["Normal chest x-XXXX.", "XXXX XXXX stable."]),
        ("Left adrenal nodule. BOOKMARK. Liver normal.", ["Left adrenal nodule. BOOKMARK.", "Liver normal."]),
        ("BOOKMARK is a liver cyst. Stable.", ["BOOKMARK is a liver cyst.", "Stable."]),
        ("Is it a cyst? Yes!", ["Is it a cyst?", "Yes!"]),
    ],
)
def test_sentences(analyzer: Analyzer, text: str, expected: list[str]) -> None:
    assert sentences(analyzer, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "IMPRESSION: 1) No hydronephrosis 2) 6 mm left renal calculus",
            ["IMPRESSION:", "1) No hydronephrosis", "2) 6 mm left renal calculus"],
        ),
        (
            "(1) no free fluid (2) small hepatic cyst (3) splenomegaly",
            ["(1) no free fluid", "(2) small hepatic cyst", "(3) splenomegaly"],
        ),
        ("Findings 1) no ascites 2) cholelithiasis", ["Findings", "1) no ascites", "2) cholelithiasis"]),
        ("1. No effusion 2) mild cardiomegaly", ["1. No effusion", "2) mild cardiomegaly"]),
        (
            "No adenopathy\n1) Small effusion 2) basilar atelectasis",
            ["No adenopathy", "1) Small effusion", "2) basilar atelectasis"],
        ),
        (
            "a. No ascites b. Hepatic steatosis c. normal spleen",
            ["a. No ascites", "b. Hepatic steatosis", "c. normal spleen"],
        ),
        ("A. No effusion B. Mild atelectasis", ["A. No effusion", "B. Mild atelectasis"]),
        ("a) no ascites b) small hiatal hernia", ["a) no ascites", "b) small hiatal hernia"]),
        (
            "1) Liver: a) no mass b) simple cyst 2) Spleen normal",
            ["1) Liver:", "a) no mass", "b) simple cyst", "2) Spleen normal"],
        ),
        ("No pleural effusion  Mild cardiomegaly", ["No pleural effusion", "Mild cardiomegaly"]),
        ("No pneumothorax   A small left effusion", ["No pneumothorax", "A small left effusion"]),
    ],
)
def test_inline_items_and_spaced_line_breaks_end_sentences(analyzer: Analyzer, text: str, expected: list[str]) -> None:
    assert sentences(analyzer, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1) Hypodense lesion (segment 2) without enhancement",
        "Spiculated nodule (series 2, image 1) in the lingula",
        "Fluid in levels 4) and 5) of the neck",
        "Nodule in segment 7) stable",
        "Lesion 2.1 cm in T2 weighted images",
        "Hepatitis B. virus serology",
        "Discussed with Dr.  Smith at noon",
        "The AORTIC   VALVE IS THICKENED",
        "No pleural effusion or  pneumothorax",
        "Findings discussed with  Dr. Jones",
        "The patient is on   Coumadin",
        "Seen in the   Emergency Department",
        "Mild Cardiac   Enlargement",
        "No effusion\t\tLeft lower lobe atelectasis",
    ],
)
def test_numbers_letters_and_spaces_that_do_not_end_sentences(analyzer: Analyzer, text: str) -> None:
    assert sentences(analyzer, text) == [text]


def test_lemmas_and_sentences_written_to_the_doc(analyzer: Analyzer) -> None:
    doc = analyzer.analyze("Multiple masses. Enlarged nodes.").doc
    assert [t.lemma_ for t in doc] == ["multiple", "mass", ".", "enlarge", "node", "."]
    assert doc.has_annotation("SENT_START")


@pytest.mark.parametrize(
    "text",
    ["Mr. **NAME[BBB AAA] has AAA.", "Dr. [**Last Name (NamePattern1) 12**] has AAA.", "**DATE[Jan 2] CT: AAA."],
)
def test_placeholder_words_match_nothing(analyzer: Analyzer, text: str) -> None:
    analysis = analyzer.analyze(text)
    start, end = next((m.start(), m.end()) for m in re.finditer(r"\*\*\w+\[[^\]]*\]|\[\*\*.*?\*\*\]", text))
    spans = zip(*analysis.offsets(), strict=True)
    held = [(key, s < end and e > start) for key, (s, e) in zip(analysis.keys, spans, strict=True)]
    inside = [key for key, within in held if within]
    outside = [key for key, within in held if not within]
    assert inside and set(inside) == {PLACEHOLDER_KEY}
    assert "aaa" in outside  # the same word outside the placeholder keeps its key


def test_bookmarks_are_found_and_skipped(analyzer: Analyzer) -> None:
    analysis = analyzer.analyze("Liver cyst BOOKMARK and lung nodule BOOKMARK.")
    assert analysis.bookmarks == [2, 6]
    assert analysis.keys[2] == analysis.keys[6] == BOOKMARK_KEY


def test_char_offsets(analyzer: Analyzer) -> None:
    text = "  Right renal  cyst."
    analysis = analyzer.analyze(text)
    start, end = analysis.chars(1, 3)
    assert text[start:end] == "Right renal"


def test_unknown_lemmatizer() -> None:
    with pytest.raises(InputError, match="spacy, wordnet"):
        make_lemmatizer("porter")


def test_wordnet_missing_data_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    def missing(resource: str) -> None:
        raise LookupError(resource)

    monkeypatch.setattr(nltk.data, "find", missing)
    with pytest.raises(RadminerError, match=r"nltk\.downloader wordnet"):
        Analyzer(lemmatizer="wordnet")


def test_wordnet_backend_when_installed() -> None:
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        pytest.skip("NLTK WordNet data not installed")
    wordnet = Analyzer(lemmatizer="wordnet")
    assert wordnet.phrase_keys("masses metastases left") == ("mass", "metastasis", "left")


TOKENIZER_TEXTS = [
    "Low density left adrenal nodule BOOKMARK, likely an adenoma (series 5, image 79).",
    "1.3 x 1.3cm ground-glass opacity, e.g. approx. 2 mm; vs. 10:30am at http://x.org/a?b=1 U.S.A. don't",
    "FINDINGS:\n1. No pleural effusion.\n- XXXX stable :-) $5 co-operate İstanbul ﬁ",
]


@pytest.mark.parametrize("text", TOKENIZER_TEXTS)
def test_tokenizer_is_spacy_blank_english(analyzer: Analyzer, text: str) -> None:
    spacy = pytest.importorskip("spacy")
    expected = spacy.blank("en").tokenizer
    expected.rules = {form: tokens for form, tokens in expected.rules.items() if not _emoticon(form)}  # ":-)"
    for form in ABBREVIATIONS:  # the radiology abbreviations the analyzer adds
        for variant in {form, form.capitalize(), form.upper()}:
            expected.add_special_case(variant, [{"ORTH": variant}])
    got = [(t.text, t.idx, t.whitespace_) for t in analyzer.tokenizer(text)]
    assert got == [(t.text, t.idx, t.whitespace_) for t in expected(text)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Pulmonary nodule(s) in the right lung.", ["nodule", "(", "s", ")"]),
        ("POSTOPERATIVE DIAGNOSIS(ES): polyp", ["DIAGNOSIS", "(", "ES", ")", ":"]),
        ("Finding(s): no mass", ["Finding", "(", "s", ")", ":"]),
    ],
)
def test_bracket_between_letters_and_emoticons_split(analyzer: Analyzer, text: str, words: list[str]) -> None:
    """An opening bracket between letters splits a token, and spaCy's emoticons ("):", ":)") are not
    kept whole: "nodule(s)" holds the word nodule, and "DIAGNOSIS(ES):" keeps its colon."""
    tokens = [t.text for t in analyzer.tokenizer(text)]
    assert any(tokens[i : i + len(words)] == words for i in range(len(tokens)))


def test_header_with_a_plural_in_brackets(analyzer: Analyzer) -> None:
    text = "COMPLICATIONS: None POSTOPERATIVE DIAGNOSIS(ES): 1) Stenosis"
    analysis = analyzer.analyze(text)
    starts = analysis.offsets()[0]
    assert [text[starts[first] : starts[last - 1] + 1] for first, last in analysis.headers] == [
        "COMPLICATIONS:",
        "POSTOPERATIVE DIAGNOSIS(ES):",
    ]


@pytest.mark.parametrize(
    ("text", "headers"),
    [
        ("CT ABD/PELV W CONTRAST: No acute findings.", []),  # a title cut at a one-letter word
        ("CT CHEST W IV CONTRAST:\nFINDINGS: Clear lungs.", ["FINDINGS:"]),
        ("CT ABDOMEN W/O CONTRAST: Stable cyst.", []),  # "W/O": "CONTRAST" follows the one letter "O"
        ("Heart normal. LUNGS: No nodules.", ["LUNGS:"]),
        ("CHEST X-RAY: No effusion.", ["CHEST X-RAY:"]),
    ],
)
def test_title_ending_in_a_section_word_is_no_header(analyzer: Analyzer, text: str, headers: list[str]) -> None:
    analysis = analyzer.analyze(text)
    starts, ends = analysis.offsets()
    assert [text[starts[first] : ends[last - 1]] for first, last in analysis.headers] == headers


@pytest.mark.parametrize(
    ("text", "headers"),
    [
        ("LIVER, SPLEEN, PANCREAS: Unremarkable.", ["LIVER, SPLEEN, PANCREAS:"]),
        ("Normal heart.\nAdrenals, kidneys: No mass.", ["Adrenals, kidneys:"]),
        ("Normal heart. ADRENALS, KIDNEYS: No mass.", ["ADRENALS, KIDNEYS:"]),
        ("HEART: NORMAL, LUNGS: CLEAR.", ["HEART:", "LUNGS:"]),  # "NORMAL" is the value of HEART
        ("There is no mass in the liver, SPLEEN: normal.", ["SPLEEN:"]),
    ],
)
def test_header_of_organs_joined_by_commas(analyzer: Analyzer, text: str, headers: list[str]) -> None:
    """Words joined by commas are one header where they start a line or follow a terminator."""
    analysis = analyzer.analyze(text)
    starts, ends = analysis.offsets()
    assert [text[starts[first] : ends[last - 1]] for first, last in analysis.headers] == headers


@pytest.mark.parametrize(
    ("word", "key"), [("GGOs", "ggo"), ("LNs", "ln"), ("CTs", "ct"), ("Was", "be"), ("GAS", "gas")]
)
def test_plural_of_an_abbreviation(analyzer: Analyzer, word: str, key: str) -> None:
    """Capitals followed by a lowercase "s" are an abbreviation's plural; other words are lemmatized."""
    assert analyzer.analyze(word).keys == [key]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Inguinal node, ?lymphoma. No ascites.", 2),  # a "?" before a word asks about it: no end
        ("Wall thickening, ? oesophagitis.", 1),
        ("Small effusion? No pneumothorax.", 2),  # a "?" against the word before it ends a sentence
    ],
)
def test_question_mark_before_a_word_ends_no_sentence(analyzer: Analyzer, text: str, sentences: int) -> None:
    assert len(analyzer.analyze(text).sent_starts) == sentences


@pytest.mark.parametrize(("text", "keys"), [("R adrenal", ["right", "adrenal"]), ("L kidney", ["left", "kidney"])])
def test_side_in_one_capital(analyzer: Analyzer, text: str, keys: list[str]) -> None:
    assert analyzer.analyze(text).keys == keys
