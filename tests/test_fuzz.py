"""Fuzz tests (hypothesis): the Extractor and the CSV reader on generated hostile input.

The budget is the hypothesis profile named by ``$HYPOTHESIS_PROFILE``: ``fuzz`` (the default,
in ``make test``: 200 examples per test, derandomized so that every run tries the same
inputs, no deadline) or ``nightly`` (``make fuzz``: 20,000 random examples per test; its last
result is in benchmarks/README.md). docs/reliability.md lists what these tests hold.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radminer import Extractor, load_ontology
from radminer.errors import InputError
from radminer.io.reader import CsvReports
from radminer.text.mentions import STATUSES, LesionLabels, SentenceLabels

settings.register_profile(
    "fuzz", max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz"))

GRAPH = load_ontology()
BOOKMARK = "BOOKMARK"
#: Pieces of radiology text: names and synonyms in several cases, context cues, bookmarks,
#: list and section markers, numbers, punctuation and odd whitespace.
PHRASES = sorted(
    {
        *GRAPH.labels,
        *(s for label in GRAPH.labels for s in GRAPH.synonyms(label)),
        *(label.upper() for label in GRAPH.labels[:40]),
        *(label.title() for label in GRAPH.labels[40:80]),
    }
)
CUES = [
    "no", "No", "not", "without", "negative for", "free of", "resolved", "possible", "likely", "may represent",
    "cannot exclude", "suspicious for", "versus", "vs.", "consistent with", "history of", "rule out", "but",
    "however", "which", "and", "or", "left", "right", "bilateral", "new", "stable", "the", "a",
]  # fmt: skip
MARKS = [
    BOOKMARK, f"{BOOKMARK}.", f"({BOOKMARK})", f"x{BOOKMARK}y", "FINDINGS:", "IMPRESSION:", "1.", "2)", "- ", "* ",
    "•", "5 mm", "3.2 x 1.1 cm", "12/01/2026", "Dr.", "e.g.", "approx.", "XXXX",
]  # fmt: skip
PUNCTUATION = [*".,;:!?()[]\"'-–/…", "...", " - ", "--"]
SPACES = [" ", "  ", "\n", "\n\n", "\r\n", "\t", "\u00a0", "\u2028", "\u200b", ""]
FRAGMENTS = st.one_of(
    *[st.sampled_from(PHRASES)] * 3,  # mostly terms
    st.sampled_from(CUES),
    st.sampled_from(MARKS),
    st.sampled_from(PUNCTUATION),
    st.text(max_size=6),  # any characters but lone surrogates (which the reader never gives)
)


@st.composite
def reports(draw: st.DrawFn) -> str:
    """A report text: fragments joined by spaces, line breaks or nothing."""
    fragments = draw(st.lists(FRAGMENTS, max_size=40))
    gaps = draw(st.lists(st.sampled_from(SPACES), min_size=len(fragments), max_size=len(fragments)))
    return "".join(piece for pair in zip(fragments, gaps, strict=True) for piece in pair)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def check_row(text: str, row: LesionLabels | SentenceLabels) -> None:
    """The invariants of one output row of ``text``."""
    for m in row.mentions:
        assert 0 <= m.start < m.end <= len(text), m
        assert text[m.start : m.end] == m.text, m
        assert m.status in STATUSES and m.label in GRAPH, m
        if m.trigger is None:
            assert m.trigger_start is None and m.trigger_end is None, m
        else:
            assert m.trigger_start is not None and m.trigger_end is not None, m
            assert 0 <= m.trigger_start < m.trigger_end <= len(text), m
            assert text[m.trigger_start : m.trigger_end] == m.trigger, m
    labels, uncertain, negated = set(row.labels), set(row.uncertain), set(row.negated)
    for field in (row.labels, row.uncertain, row.negated):
        assert list(field) == sorted(set(field)) and set(field) <= set(GRAPH.labels)
    assert GRAPH.expand(labels) == labels  # closed under ancestors
    assert GRAPH.expand(uncertain) <= uncertain | labels
    assert not labels & uncertain and not labels & negated and not uncertain & negated


@settings(PROFILE)
@given(reports())
def test_extractor_invariants(extractor: Extractor, text: str) -> None:
    rows = extractor(text)
    assert rows and all(isinstance(row, LesionLabels) for row in rows)
    marks = [row.bookmark for row in rows]
    if marks == [None]:
        assert isinstance(rows[0].sentence, str)
    else:
        assert None not in marks and marks == sorted(set(marks))
        assert marks[0] >= 0 and marks[-1] < len(re.findall(BOOKMARK, text))  # type: ignore[operator]
    for row in rows:
        check_row(text, row)
    assert list(extractor.pipe([text, text])) == [rows, rows]  # repeatable, cached or not


@settings(PROFILE)
@given(reports())
def test_sentence_rows_invariants(extractor: Extractor, text: str) -> None:
    rows = extractor.sentences(text)
    assert [row.sentence_index for row in rows] == list(range(len(rows)))
    assert bool(rows) == bool(text.strip())
    previous_end = 0
    for row in rows:
        assert previous_end <= row.start < row.end <= len(text)  # in order, not overlapping
        assert text[row.start : row.end] == row.sentence and row.sentence == row.sentence.strip()
        assert all(row.start <= m.end - 1 < row.end for m in row.mentions)  # its last character
        check_row(text, row)
        previous_end = row.end


CSV_PIECES = st.one_of(
    st.sampled_from([b",", b'"', b'""', b"\n", b"\r\n", b"\r", b"\xef\xbb\xbf", b"\x00", b"id", b"a b"]),
    st.binary(max_size=4),
    st.text(max_size=4).map(str.encode),
)


@settings(PROFILE, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(CSV_PIECES, max_size=30), st.sampled_from(["utf-8", "latin-1"]), st.booleans())
def test_reader_gives_reports_or_input_errors(tmp_path: Path, pieces: list[bytes], encoding: str, skip: bool) -> None:
    """Any bytes after a valid header: reports, or InputError naming a line (never another exception)."""
    path = tmp_path / "reports.csv"
    path.write_bytes(b"id,text\n" + b"".join(pieces))
    skipped: list[object] = []
    try:
        with CsvReports(path, encoding=encoding, on_error=skipped.append if skip else None) as reader:
            for report in reader:
                assert isinstance(report.id, str) and isinstance(report.text, str) and report.line >= 2
                assert not re.search("[\ud800-\udfff]", report.text)  # never a lone surrogate
    except InputError as exc:
        assert not skip and re.match(rf"{re.escape(str(path))}: line \d+", str(exc)), exc
