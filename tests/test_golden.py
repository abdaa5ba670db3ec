"""Golden outputs: extraction results must not change unless a change is meant.

The expected files in ``tests/data/golden/`` hold the JSONL lines (the CLI's bytes) of:
``inputs.jsonl`` (352 hand-written and template texts, see ``make_inputs.py``) with the
default Extractor, without context, and without bookmarks, plus the spaCy component's spans;
``examples/reports.csv`` through ``radminer extract``; and, when ../shared/data is present,
the first 500 Open-i reports (findings + impression) and the 100 LesaNet dev-set texts.

After a deliberate change, regenerate them with ``RADMINER_REGENERATE_GOLDEN=1 pytest
tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from conftest import REPO, shared_data_dir

from radminer import Extractor
from radminer.io.reader import join_texts
from radminer.io.writers import JsonlEncoder

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
REGENERATE = os.environ.get("RADMINER_REGENERATE_GOLDEN") == "1"
OPENI_REPORTS = 500


def _inputs() -> list[tuple[str, str]]:
    with (GOLDEN / "inputs.jsonl").open(encoding="utf-8") as handle:
        return [(item["id"], item["text"]) for item in map(json.loads, handle)]


def _encode(extractor: Extractor, items: list[tuple[str, str]]) -> list[str]:
    """JSONL lines of ``items`` as ``radminer extract`` writes them (through ``pipe``)."""
    encode = JsonlEncoder()
    rows = extractor.pipe(text for _, text in items)
    return [line for (key, _), found in zip(items, rows, strict=True) for line in encode(key, found)[1].splitlines()]


def _check(name: str, lines: Iterable[str]) -> None:
    """Compare ``lines`` with the golden file ``name`` (``.gz``: gzip), line by line."""
    path = GOLDEN / name
    opener: Callable = gzip.open if name.endswith(".gz") else open  # type: ignore[type-arg]
    lines = list(lines)
    expected: list[str] = []
    if path.exists() or not REGENERATE:
        with opener(path, "rt", encoding="utf-8", newline="\n") as handle:
            expected = handle.read().splitlines()
    if REGENERATE and lines != expected:  # rewritten only when it changes (a gzip header holds a time)
        with opener(path, "wt", encoding="utf-8", newline="\n") as handle:
            handle.writelines(line + "\n" for line in lines)
        pytest.skip(f"regenerated {path}")
    for n, (got, want) in enumerate(zip(lines, expected, strict=False)):
        assert got == want, f"{name}: line {n + 1} differs"
    assert len(lines) == len(expected), f"{name}: {len(lines)} lines, expected {len(expected)}"


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("inputs.context.jsonl", {}),
        ("inputs.nocontext.jsonl", {"context": False}),
        ("inputs.nobookmark.jsonl", {"bookmark": None}),
    ],
)
def test_inputs(name: str, options: dict[str, object]) -> None:
    _check(name, _encode(Extractor(**options), _inputs()))  # type: ignore[arg-type]


def test_single_calls_agree_with_pipe() -> None:
    extractor = Extractor()
    items = _inputs()
    assert [extractor(text) for _, text in items] == list(extractor.pipe(text for _, text in items))


def test_spacy_component() -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("radminer")
    lines = []
    for key, text in _inputs():
        doc = nlp(text)
        spans = [[s.start, s.end, s.label_] for s in doc.spans["radminer"]]
        lines.append(json.dumps({"id": key, "spans": spans, "rows": len(doc._.radminer)}, ensure_ascii=False))
    _check("inputs.component.jsonl", lines)


def test_examples_through_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from radminer.cli import main

    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["extract", str(REPO / "examples" / "reports.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    _check("examples.jsonl", out.read_text(encoding="utf-8").splitlines())


@pytest.mark.shared
def test_openi_reports() -> None:
    path = shared_data_dir() / "reports" / "openi_reports.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for _, row in zip(range(OPENI_REPORTS), csv.DictReader(handle), strict=False)]
    items = [(row["uid"], join_texts((row["findings"], row["impression"]))) for row in rows]
    _check("openi500.jsonl.gz", _encode(Extractor(), items))


@pytest.mark.shared
def test_devset_texts() -> None:
    path = shared_data_dir() / "lesanet" / "hand_labeled_dev.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    items = [(str(n), item["text"]) for n, item in enumerate(json.loads(path.read_text(encoding="utf-8")))]
    _check("devset100.jsonl", _encode(Extractor(bookmark=None), items))
