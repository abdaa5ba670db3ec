"""Label problems never pass silently: one OntologyWarning line each, naming the file and line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from radminer import Extractor, OntologyWarning, RadminerWarning, load_ontology
from radminer.cli import main
from radminer.ontology.owl import read_owl
from radminer.text.analysis import Analyzer
from radminer.text.lexicon import check_match_keys

HEADER = "term,synonyms,parents,category\n"
ANALYZER = Analyzer(bookmark=None)


def load_warning(path: Path) -> tuple[object, list[str]]:
    """The graph of ``path`` (without curation) and the messages of the warnings its loading and
    the check of its match keys gave (the Extractor checks a user's file so when it loads it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = load_ontology(path, curation=False)
        check_match_keys(graph, ANALYZER)
    assert all(issubclass(w.category, RadminerWarning) for w in caught)
    messages = [str(w.message) for w in caught]
    assert all("\n" not in m for m in messages)
    return graph, messages


def vocab(tmp_path: Path, rows: str, *, bom: bool = False) -> Path:
    path = tmp_path / "vocab.csv"
    path.write_text(("\ufeff" if bom else "") + HEADER + rows, encoding="utf-8")
    return path


def test_vocabulary_with_a_bom_loads(tmp_path: Path) -> None:
    graph, messages = load_warning(vocab(tmp_path, "effusion,,,type\n", bom=True))
    assert graph.labels == ("effusion",) and messages == []  # type: ignore[attr-defined]


def test_names_equal_but_for_case_or_spacing_warn_with_their_lines(tmp_path: Path) -> None:
    path = vocab(tmp_path, "Nodule,,,type\nlung,,,bodypart\nnodule ,,,type\n")
    graph, messages = load_warning(path)
    (message,) = messages
    assert message.startswith(f"{path}: 1 name(s) equal but for case or spacing")
    assert "'nodule': Nodule (line 2), nodule (line 4)" in message
    assert graph.lookup("NODULE") == "Nodule"  # type: ignore[attr-defined]


def test_terms_sharing_a_lemma_warn_with_their_lines(tmp_path: Path) -> None:
    path = vocab(tmp_path, "murmur,,,finding\nrub,,,finding\nmurmurs,,,finding\neffusion,effusions,,finding\n")
    _, messages = load_warning(path)
    assert messages == [
        f"{path}: line 2: term 'murmur' and line 4: term 'murmurs' have the same match key 'murmur' "
        "(after lemmatization): text can be matched as only one of them"
    ]


def test_synonym_sharing_a_lemma_with_another_term(tmp_path: Path) -> None:
    path = vocab(tmp_path, "heart murmur,murmurs,,finding\nmurmur,,,finding\n")
    _, messages = load_warning(path)
    assert messages == [
        f"{path}: line 2: synonym 'murmurs' of 'heart murmur' and line 3: term 'murmur' have the same match key "
        "'murmur' (after lemmatization): text can be matched as only one of them"
    ]


def test_stop_word_terms_warn_that_they_never_match(tmp_path: Path) -> None:
    path = vocab(tmp_path, "nodule,the,,type\nThe  the,,,type\n")
    _, messages = load_warning(path)
    assert messages == [
        f"{path}: line 2: synonym 'the' of 'nodule' holds only words that matching skips: it is never matched",
        f"{path}: line 3: term 'The  the' holds only words that matching skips: it is never matched",
    ]


def test_the_extractor_checks_the_match_keys_of_a_users_file(tmp_path: Path) -> None:
    path = vocab(tmp_path, "murmur,,,finding\nmurmurs,,,finding\n")
    match = r"line 2: term 'murmur' and line 3: term 'murmurs' have the same match key"
    with pytest.warns(OntologyWarning, match=match):
        Extractor(path)


def test_owl_parent_that_no_class_declares_warns_as_in_csv(write_owl) -> None:  # type: ignore[no-untyped-def]
    path = write_owl({"lung": {}, "nodule": {"parents": ["lung", "ghost"]}, "mass": {"exclusive": ["phantom"]}})
    graph, messages = load_warning(path)
    (message,) = messages
    assert message.startswith(f"{path}: 2 dangling name(s) ignored: ")
    assert "nodule -> parent http://example.org/onto#ghost" in message
    assert "mass -> exclusive http://example.org/onto#phantom" in message
    assert graph.parents("nodule") == {"lung"}  # type: ignore[attr-defined]


def test_owl_thing_as_parent_is_not_dangling(tmp_path: Path, write_owl) -> None:  # type: ignore[no-untyped-def]
    path = write_owl({"lung": {}})
    text = path.read_text(encoding="utf-8").replace(
        "</owl:Class>", '<rdfs:subClassOf rdf:resource="http://www.w3.org/2002/07/owl#Thing"/></owl:Class>'
    )
    path.write_text(text, encoding="utf-8")
    _, messages = load_warning(path)
    assert messages == []


DEPTH = 1000


@pytest.mark.parametrize("kind", ["csv", "owl"])
def test_a_1000_level_hierarchy(tmp_path: Path, write_owl, kind: str) -> None:  # type: ignore[no-untyped-def]
    if kind == "csv":
        rows = "".join(f"level{i},,{f'level{i - 1}' if i else ''},type\n" for i in range(DEPTH))
        path = vocab(tmp_path, rows)
    else:
        path = write_owl({f"level{i}": {"parents": [f"level{i - 1}"]} if i else {} for i in range(DEPTH)})
    graph, messages = load_warning(path)
    assert messages == []
    assert len(graph.expand([f"level{DEPTH - 1}"])) == DEPTH  # type: ignore[attr-defined]
    assert graph.depth() == DEPTH  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["ontology", "info", "--ontology", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["depth"] == DEPTH
    from radminer import Extractor

    (row,) = Extractor(graph)(f"A level{DEPTH - 1} here.")  # type: ignore[arg-type]
    assert len(row.labels) == DEPTH


BAD_ENTRIES = {
    "a list": "[]",
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "no version": '{"imports": {}, "terms": {}}',
    "old version": '{"version": "2", "imports": {}, "terms": {}}',
    "no terms": '{"version": "3", "imports": {}, "terms": {}}',
    "terms as strings": '{"version": "3", "imports": {}, "terms": {"name": "abc"}}',
}


@pytest.mark.parametrize("content", BAD_ENTRIES.values(), ids=BAD_ENTRIES)
def test_cache_entry_of_the_wrong_shape_is_rebuilt_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str
) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path))
    first = read_owl(DATA / "radlex_mini.owl")
    (cache,) = tmp_path.glob("owl-*.json")
    cache.write_text(content, encoding="utf-8")
    with pytest.warns(OntologyWarning, match=rf"ignoring the ontology cache {cache} \(.*\); rebuilding it"):
        assert read_owl(DATA / "radlex_mini.owl") == first
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == "3"


def test_cache_entry_with_values_of_the_wrong_type_is_rebuilt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path))
    first = read_owl(DATA / "radlex_mini.owl")
    (cache,) = tmp_path.glob("owl-*.json")
    for field, value in [("parents", 5), ("num_detected", "7"), ("name", None), ("rid", [])]:
        entry = json.loads(cache.read_text(encoding="utf-8"))
        entry["terms"][field][0] = value
        cache.write_text(json.dumps(entry), encoding="utf-8")
        wrong = "each name a non-empty" if field == "name" else rf"terms\.{field} holds a value of the wrong type"
        with pytest.warns(OntologyWarning, match=wrong):
            assert read_owl(DATA / "radlex_mini.owl") == first
