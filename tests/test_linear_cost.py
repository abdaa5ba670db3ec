"""Hostile rows: work and output stay linear in the text, without timing anything.

Work is counted as the lines of radminer's Python code that run (``sys.settrace``): a text
twice as long must cost about twice as much, whatever its shape (thousands of bookmarks in
one sentence, one term repeated, a line without punctuation, many headers). Before the caps
(docs/extraction.md, "Limits"), composition and context work grew with the square or the cube
of a sentence's length, and a bookmark row's output with the square of its sentence's bookmarks.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from click.testing import CliRunner

import radminer
from radminer import Extractor, RadminerWarning
from radminer.cli import main
from radminer.engines.local import extract_texts
from radminer.text import compose
from radminer.text.analysis import MAX_SENTENCE_TOKENS
from radminer.text.extractor import BOOKMARK_REACH, BOOKMARK_WINDOW_CHARS
from radminer.text.mentions import LesionLabels

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_hostile import LINE_WORDS

PACKAGE = str(Path(radminer.__file__).resolve().parent)
COMPILED = not compose.__file__.endswith(".py")
#: Most growth of work or output when the text doubles (2 when linear; the square gives 4).
MAX_RATIO = 2.4


def _line(words: int) -> str:
    rnd = random.Random(3)
    return " ".join(rnd.choice(LINE_WORDS) for _ in range(words))


#: Text of each hostile shape for a size ``n`` (about ``2 n`` to ``6 n`` tokens, one row of text).
SHAPES: dict[str, Callable[[int], str]] = {
    "bookmarks in one sentence": lambda n: "nodule BOOKMARK, " * n,
    "one term repeated": lambda n: "liver mass " * n,
    "a line without punctuation": lambda n: _line(3 * n),
    "compositions next to one another": lambda n: "right upper lobe lung nodule " * n,
    "coordinated compositions": lambda n: "hilar and mediastinal adenopathy " * n,
    "compositions cut by clause openers": lambda n: "liver and a mass and a " * n,
    "negated enumeration with exceptions": lambda n: "no nodule other than a cyst " * n,
    "clauses": lambda n: "the liver is normal and a 2 cm lesion " * n,
    "many organ headers": lambda n: "LIVER: no nodule. " * n,
    "organ headers with bookmarks": lambda n: "LIVER: no nodule BOOKMARK. " * n,
    "bookmarks alone": lambda n: "BOOKMARK " * n,
    "list labels and spaced line breaks": lambda n: "1) no nodule (image 2) 2) cyst  Mild a. b. " * n,
    "an inline indication of many sentences": lambda n: (
        "Indication: r/o mets. " + "Cough. Fever. " * n + "5 mm nodule."
    ),
}


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(cache_size=0)


def _work(extract: Callable[[], Any]) -> int:
    """Lines of radminer's Python code run by ``extract()``."""
    count = 0

    def local(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        nonlocal count
        count += event == "line"
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        extract()
    finally:
        sys.settrace(previous)
    return count


def _mine(extractor: Extractor, text: str) -> list[LesionLabels]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RadminerWarning)
        return extractor(text)


def _output_bytes(rows: list[LesionLabels]) -> int:
    return sum(len(json.dumps(row.to_dict("id"))) for row in rows)


@pytest.mark.skipif(COMPILED, reason="the compiled build runs no traceable Python lines")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_work_and_output_grow_linearly(extractor: Extractor, shape: str) -> None:
    small, large = SHAPES[shape](300), SHAPES[shape](600)
    _mine(extractor, large)  # warm up: the per-token tables learn the words
    works = [_work(partial(_mine, extractor, text)) for text in (small, large)]
    outputs = [_output_bytes(_mine(extractor, text)) for text in (small, large)]
    assert works[1] <= MAX_RATIO * works[0], f"work {works[0]:,} → {works[1]:,} lines run"
    assert outputs[1] <= MAX_RATIO * outputs[0], f"output {outputs[0]:,} → {outputs[1]:,} bytes"


def test_thousands_of_bookmarks_in_one_sentence(extractor: Extractor) -> None:
    n = 2000
    text = "nodule BOOKMARK, " * n
    with pytest.warns(RadminerWarning, match=r"sentences of over 128 tokens cut into pieces \(47 cuts\)") as caught:
        rows = extractor(text)
    assert len(caught) == 1
    assert len(rows) == n and all(row.labels == ("nodule",) for row in rows)
    # a row is mined from the tokens within BOOKMARK_REACH of its bookmark, not from the whole sentence
    assert max(len(row.mentions) for row in rows) <= (2 * BOOKMARK_REACH + 1) // 3 + 1
    assert max(len(row.sentence) for row in rows) <= 6 * (2 * BOOKMARK_REACH + 1)
    assert "nodule BOOKMARK, " * 4 in rows[1000].sentence  # its neighbours, as in a sentence of its own


def test_a_long_sentence_is_cut_after_a_comma(extractor: Extractor) -> None:
    analysis = extractor.analyzer.analyze("nodule BOOKMARK, " * 100, write_doc=False)
    assert analysis.cuts == analysis.sent_starts[1:] and len(analysis.cuts) == 2
    bounds = [*analysis.sent_starts, len(analysis.keys)]
    assert all(0 < end - start <= MAX_SENTENCE_TOKENS for start, end in itertools.pairwise(bounds))
    assert all(analysis.keys[start - 1] == "," for start in analysis.sent_starts[1:])


def test_real_sentences_are_not_cut(extractor: Extractor) -> None:
    text = (
        "Multiple hypodense liver masses BOOKMARK, the largest in the right hepatic lobe measuring 4.2 x 3.1 cm, "
        "with a smaller lesion in segment 2 BOOKMARK and several subcentimeter hypoattenuating foci that are too "
        "small to characterize, likely representing cysts, although metastatic disease cannot be excluded given "
        "the history of colon cancer, and a 1.2 cm left adrenal nodule BOOKMARK is again noted."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RadminerWarning)
        rows = extractor(text)
    assert extractor.analyzer.analyze(text, write_doc=False).cuts == []
    assert [row.sentence for row in rows] == [text] * 3


def test_the_sentence_of_a_bookmark_row_is_a_window_around_it(extractor: Extractor) -> None:
    text = "x" * 5000 + " nodule BOOKMARK " + "y" * 5000  # four tokens: one short sentence
    with pytest.warns(RadminerWarning, match=r"the sentence of 1 bookmark row\(s\) cut to 1,000 characters"):
        (row,) = extractor(text)
    assert row.sentence.startswith("…") and row.sentence.endswith("…")
    assert len(row.sentence) <= BOOKMARK_WINDOW_CHARS + 2 and "nodule BOOKMARK" in row.sentence
    assert row.labels == ("nodule",)


def test_glued_bookmarks_share_one_window(extractor: Extractor) -> None:
    with pytest.warns(RadminerWarning, match=r"the sentence of 1,000 bookmark row\(s\) cut to 1,000 characters"):
        rows = extractor("BOOKMARK" * 1000)  # one token, a thousand bookmarks, a thousand rows
    assert len(rows) == 1000 and len({id(row.sentence) for row in rows}) == 1


def test_the_warning_names_the_row_once(extractor: Extractor) -> None:
    items = [("r1", "Liver mass BOOKMARK."), ("r2", "liver mass " * 200), ("r3", "No effusion.")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows: dict[str, list[LesionLabels]] = dict(extract_texts(items, extractor=extractor))
    messages = [str(w.message) for w in caught if issubclass(w.category, RadminerWarning)]
    assert len(messages) == 1 and messages[0].startswith(
        "row r2: sentences of over 128 tokens cut into pieces (3 cuts)"
    )
    assert rows["r2"][0].labels  # mined all the same


def test_the_cli_prints_one_line_naming_the_row(tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    hostile = "nodule BOOKMARK, " * 300
    reports.write_text(f'id,text\nok,Liver mass BOOKMARK.\nhostile-7,"{hostile}"\n', encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    result = CliRunner().invoke(main, ["extract", str(reports), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radminer: warning: row hostile-7: "), lines
    assert len(out.read_text(encoding="utf-8").splitlines()) == 301
