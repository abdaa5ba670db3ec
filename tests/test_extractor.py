"""The Extractor API: rows, bookmarks, offsets, expansion, pickling, spaCy component."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from radminer import Extractor, InputError, LabelGraph, Term
from radminer.text.mentions import LesionLabels


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(context=False)


def test_import_radminer_is_free_of_spacy_and_torch() -> None:
    code = "import sys, radminer; print(json.dumps([m in sys.modules for m in ('spacy', 'torch', 'thinc')]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [False, False, False]


def test_extractor_is_exported_lazily() -> None:
    import radminer

    assert "Extractor" in radminer.__all__
    assert radminer.Extractor is Extractor


def test_whole_text_gives_one_row(extractor: Extractor) -> None:
    text = "Low density left adrenal nodule."
    (row,) = extractor(text)
    assert row.bookmark is None
    assert row.sentence == text
    assert row.labels == (
        "abdomen", "adrenal gland", "hypoattenuation", "left adrenal gland", "nodule",
        "retroperitoneum", "upper abdomen",
    )  # fmt: skip
    for m in row.mentions:
        assert text[m.start : m.end] == m.text


def test_contract_example(extractor: Extractor) -> None:
    text = "Low density left adrenal nodule BOOKMARK ..."
    (row,) = extractor(text)
    record = row.to_dict("17734")
    assert list(record) == ["id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions"]
    assert record["bookmark"] == 0
    assert {"abdomen", "adrenal gland", "hypoattenuation", "left adrenal gland", "nodule", "retroperitoneum"} <= set(
        record["labels"]
    )
    nodule = next(m for m in record["mentions"] if m["label"] == "nodule")
    assert nodule == {"label": "nodule", "text": "nodule", "start": 25, "end": 31, "status": "positive"}


def test_each_bookmark_gives_its_sentence(extractor: Extractor) -> None:
    text = (
        "FINDINGS: There is a 2.1 x 1.3 cm right renal cyst BOOKMARK (series 5, image 79). "
        "The liver is normal. Right lower lobe nodule BOOKMARK. IMPRESSION: Stable."
    )
    first, second = extractor(text)
    assert (first.bookmark, second.bookmark) == (0, 1)
    assert first.sentence == "There is a 2.1 x 1.3 cm right renal cyst BOOKMARK (series 5, image 79)."
    assert "right kidney" in first.labels and "kidney cyst" in first.labels
    assert "liver" not in first.labels and "lung" not in first.labels
    assert second.sentence == "Right lower lobe nodule BOOKMARK."
    assert set(second.labels) == {"chest", "lung", "nodule", "right lower lobe", "right lung"}
    start = text.index("Right lower lobe")
    (lobe,) = [m for m in second.mentions if m.label == "right lower lobe"]
    assert lobe.start == start and lobe.text == "Right lower lobe"


def test_bookmark_after_the_period_belongs_to_the_sentence_before(extractor: Extractor) -> None:
    (row,) = extractor("Liver is normal. Left adrenal nodule. BOOKMARK. Spleen normal.")
    assert row.sentence == "Left adrenal nodule. BOOKMARK."


def test_custom_bookmark_regex() -> None:
    custom = Extractor(bookmark=r"<BM\d+>", context=False)
    rows = custom("Liver cyst <BM1>. Lung nodule <BM2>.")
    assert [r.bookmark for r in rows] == [0, 1]
    assert "liver" in rows[0].labels and "lung" in rows[1].labels


@pytest.mark.parametrize("bookmark", ["(", ".*"])
def test_bad_bookmark_regex(bookmark: str) -> None:
    with pytest.raises(InputError, match="bookmark"):
        Extractor(bookmark=bookmark)


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_gives_an_empty_row(extractor: Extractor, text: str) -> None:
    (row,) = extractor(text)
    assert row.labels == () and row.mentions == () and row.bookmark is None


def test_non_text_is_an_input_error(extractor: Extractor) -> None:
    with pytest.raises(InputError, match="str"):
        extractor(None)  # type: ignore[arg-type]


def test_long_text_sentence_is_capped(extractor: Extractor) -> None:
    text = "Liver cyst. " * 100_000  # 1.2 MB
    (row,) = extractor(text)
    assert "cyst" in row.labels
    assert len(row.sentence) <= 2001


def test_pipe_equals_call(extractor: Extractor) -> None:
    texts = ["Liver mass BOOKMARK.", "", "No pleural effusion.", "Right renal cyst."] * 3
    assert list(extractor.pipe(texts, batch_size=2)) == [extractor(t) for t in texts]


def test_cache_does_not_change_rows() -> None:
    texts = [
        "No pleural effusion. Right renal cyst.",
        "Right renal cyst. No pleural effusion.",  # the same sentences at other offsets
        "Possible liver mass. No pleural effusion. Right renal cyst.",
        "Liver mass BOOKMARK. Possible left adrenal nodule BOOKMARK.",
        "",
    ] * 4 + [f"Nodule {i} in the right lung. No pleural effusion." for i in range(12)]
    cached, uncached = Extractor(cache_size=2), Extractor(cache_size=0)
    expected = list(uncached.pipe(texts, batch_size=3))
    assert list(cached.pipe(texts, batch_size=3)) == expected  # evictions on the way
    assert [cached(t) for t in texts] == expected
    first, again = cached(texts[0]), cached(texts[0])
    first.clear()  # a caller's list is its own
    assert again == expected[0] and cached(texts[0]) == expected[0]
    # the second text's sentences were cached at other offsets by the first
    assert [m[:4] + m[5:8] for m in cached(texts[1])[0].mentions] == [
        ("right kidney", "Right renal", 0, 11, None, None, None),
        ("kidney cyst", "renal cyst", 6, 16, None, None, None),
        ("pleural effusion", "pleural effusion", 21, 37, "No", 18, 20),
    ]


@pytest.mark.parametrize("per_sentence", [False, True])
def test_sentence_cache_does_not_change_rows(per_sentence: bool) -> None:
    """Sentences met again in other places (after other sentences, under headers and sections,
    in a recommendation) give the mentions they give mined afresh."""
    sentences = [
        "No pleural effusion.",
        "Right renal cyst.",
        "The liver is normal in size; 2 cm hypodense lesion in segment 6.",
        "None.",
        "Possible left adrenal nodule, adenoma versus metastasis.",
        "Recommend CT of the chest to evaluate the pulmonary nodule.",
        "No splenic lesion apart from a 4 mm cyst.",
        "Enlarged pretracheal and subcarinal nodes.",  # matches of a station without its nodes
        "Atelectasis in the right and left lower lobes.",  # and of words two conjuncts share
    ]
    frames = [
        "{0} {1}",
        "{1}\n{0}",
        "FINDINGS: {0} {1}\nIMPRESSION: {1}",
        "Ascites:\n{0}\n{1}",
        "LIVER: {0} {1}\nSPLEEN: {1}",
        "HISTORY: {0}\nFINDINGS: {1} {0}",
        "{0} Follow-up is suggested. {1}",
        "{1}  {0}",
    ]
    texts = [f.format(a, b) for f in frames for a in sentences for b in sentences if a != b]
    rows = (lambda e, ts: list(e.pipe_sentences(ts))) if per_sentence else (lambda e, ts: list(e.pipe(ts)))
    expected = rows(Extractor(bookmark=None, cache_size=0), texts)
    cached = Extractor(bookmark=None, cache_size=1)  # the text cache misses; 4 sentences are kept
    assert rows(cached, texts) == expected
    assert len(cached._sentence_cache) == 4
    wide = Extractor(bookmark=None)
    assert rows(wide, texts[::-1]) == expected[::-1]
    assert len(wide._sentence_cache) >= len(sentences)  # the check above reused them


def test_sentence_cache_keeps_apart_what_differs_around_a_sentence() -> None:
    extractor = Extractor(bookmark=None)
    (first,) = extractor("Stable appearance. 2 cm cyst.")  # "2 cm cyst." cached: a cyst
    assert first.labels == ("cyst",) and len(extractor._sentence_cache) == 1
    (header,) = extractor("KIDNEYS:\n2 cm cyst.")  # under an organ header: a kidney cyst
    assert "kidney cyst" in header.labels
    assert len(extractor._sentence_cache) == 1  # not the sentences of a block
    (history,) = extractor("HISTORY: Cough. Right renal cyst.\nFINDINGS: Cough. Right renal cyst.")
    assert [m.section for m in history.mentions if m.label == "kidney cyst"] == ["history", "findings"]
    assert len(extractor._sentence_cache) == 3  # the cyst once per section (the first sentences never)
    (glued,) = extractor("Stable appearance.2 cm cyst.")  # another character before it, no word character
    assert [(m.label, m.start) for m in glued.mentions] == [("cyst", 23)]  # the cached mentions, shifted
    assert len(extractor._sentence_cache) == 3
    cache = extractor._sentence_cache
    (key,) = (k for k in cache if k[1] == "2 cm cyst.")
    cache[(True, *key[1:])] = cache.pop(key)  # as if cached after a word character
    (again,) = extractor("Unchanged appearance. 2 cm cyst.")
    assert again.labels == ("cyst",) and len(cache) == 4  # mined again: a word character before it differs
    origin, tokens, _ = cache[key]
    cache[key] = (origin, [*tokens[:-1], -1], ())  # as if the same text had been tokenized otherwise
    (retokenized,) = extractor("Unremarkable appearance. 2 cm cyst.")
    assert retokenized.labels == ("cyst",) and cache[key][1] == tokens  # mined again, and cached again


def test_cache_shared_by_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Right renal cyst {i % 7}. No pleural effusion." for i in range(300)]
    expected = list(Extractor(cache_size=0).pipe(texts))
    shared = Extractor(cache_size=3)  # evicts all the time
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: list(shared.pipe(texts, batch_size=5)), range(4)))
    assert results == [expected] * 4


@pytest.mark.parametrize("size", [-1, 1.5, "8"])
def test_bad_cache_size(size: object) -> None:
    with pytest.raises(InputError, match="cache_size: expected a non-negative integer"):
        Extractor(cache_size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("FINDINGS: Right\n\nkidney mass.", {"kidney", "mass"}),  # not "right kidney" across the blank line
        ("IMPRESSION: no lung\nNODULE: none.", {"lung", "nodule"}),  # not "lung nodule" across the header
    ],
)
def test_matches_and_compositions_stay_within_a_sentence(extractor: Extractor, text: str, labels: set[str]) -> None:
    (row,) = extractor(text)
    assert {m.label for m in row.mentions} == labels


def test_pickle_round_trip(extractor: Extractor) -> None:
    clone = pickle.loads(pickle.dumps(extractor))
    text = "Right renal cyst BOOKMARK."
    assert clone(text) == extractor(text)
    assert clone.config == extractor.config


def test_pickle_of_an_in_memory_graph() -> None:
    graph = LabelGraph([Term("organ"), Term("kidney", synonyms=("renal",), parents=("organ",))])
    custom = Extractor(graph, context=False)
    clone = pickle.loads(pickle.dumps(custom))
    assert clone("renal mass")[0].labels == ("kidney", "organ")


def test_from_config_rejects_unknown_options() -> None:
    with pytest.raises(InputError, match="unknown Extractor option"):
        Extractor.from_config({"bookmarks": "X"})


def test_label_set_filters_output_labels() -> None:
    small = Extractor(label_set=["lung", "nodule"], context=False)
    (row,) = small("Right lower lobe nodule.")
    assert row.labels == ("lung", "nodule")
    assert small.label_space.labels == ("lung", "nodule")
    assert len(Extractor(context=False).label_space) == 338


def test_a_1mb_text_dense_with_mentions_is_mined_in_linear_time() -> None:
    # once quadratic or worse (compositions, longest-match selection, status inheritance):
    # 48 KB of this took 32 s; 1 MB now takes about 2 s on a shared 2-core machine
    extractor = Extractor()
    n = 2**20 // len("Liver mass. ") + 1
    (row,) = extractor("Liver mass. " * n)
    assert len(row.mentions) == n and {m.label for m in row.mentions} == {"liver mass"}
    assert row.labels == ("abdomen", "liver", "liver mass", "mass", "upper abdomen")
    sentence = "No right renal cyst, left adrenal nodule BOOKMARK and hepatic mass. "
    rows = extractor(sentence * (2**18 // len(sentence)))
    assert len(rows) == 2**18 // len(sentence)
    assert rows[-1] == rows[0]._replace(bookmark=rows[-1].bookmark, mentions=rows[-1].mentions)
    assert rows[0].negated == ("left adrenal gland", "nodule")


def test_bad_ontology_argument() -> None:
    with pytest.raises(InputError, match="ontology"):
        Extractor(42)  # type: ignore[arg-type]


def test_vocabulary_csv(tmp_path) -> None:
    vocab = tmp_path / "symptoms.csv"
    vocab.write_text("term,synonyms,parents,category\npain,painful|aches,,symptom\nfever,febrile,,symptom\n")
    custom = Extractor(vocab, bookmark=None, context=False)
    (row,) = custom("Febrile patient with aches.")
    assert row.labels == ("fever", "pain")


def test_context_statuses_aggregate() -> None:
    with_context = Extractor()
    (row,) = with_context("No pleural effusion. Possible liver metastases. Right renal cyst.")
    assert "pleural effusion" in row.negated
    assert "metastasis" in row.uncertain
    assert "right kidney" in row.labels
    assert "pleural effusion" not in row.labels


def test_spacy_component() -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("radminer", config={"bookmark": None, "context": False})
    doc = nlp("Right renal cyst. Left adrenal nodule.")
    assert [(s.text, s.label_) for s in doc.spans["radminer"]] == [
        ("Right renal", "right kidney"),
        ("renal cyst", "kidney cyst"),
        ("Left adrenal", "left adrenal gland"),
        ("nodule", "nodule"),
    ]
    (row,) = doc._.radminer
    assert isinstance(row, LesionLabels) and "left adrenal gland" in row.labels
    assert [t.lemma_ for t in doc][:3] == ["right", "renal", "cyst"]
    assert len(list(doc.sents)) == 2
