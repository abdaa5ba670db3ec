"""Loading: the shipped ontology, both OWL layouts, vocabulary CSV, curation, label sets, cache."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, REPO

import radminer
from radminer import InputError, OntologyError, OntologyWarning, load_ontology
from radminer.ontology.curation import read_curation
from radminer.ontology.owl import read_owl


def test_shipped_ontology_has_338_terms_in_three_categories() -> None:
    graph = load_ontology()
    assert len(graph) == 338
    counts = {c: sum(1 for x in graph.labels if graph.category(x) == c) for c in ("bodypart", "type", "attribute")}
    assert counts == {"bodypart": 223, "type": 73, "attribute": 42}
    assert graph.problems == () and graph.curation_skipped == ()


def test_shipped_ontology_content() -> None:
    graph = load_ontology()
    assert graph.expand(["lung nodule"]) == {"lung nodule", "lung", "nodule", "chest"}
    assert graph.lookup("Hepatic") == "liver"
    assert graph.lookup("renal") == "kidney"
    assert graph.lookup("RUL") == "right upper lobe"
    assert graph.lookup("LLL") == "left lower lobe"  # from curation/synonyms.csv
    assert graph.term("liver").rid == "RID58"
    assert graph.term("liver").iri == "http://www.radlex.org/RID/#RID58"
    assert "right lung" in graph.exclusive("left lung") and "left lung" in graph.exclusive("right lung")
    assert graph.parents("porta Hepatis lymph node") == {"porta Hepatis", "abdomen lymph node"}
    # the source's unclosed parent list is closed by the hierarchy
    assert {"liver", "upper abdomen"} <= graph.ancestors("porta Hepatis lymph node")
    assert "cancer" in graph.parents("carcinoma")  # curation/parents.csv
    # classes the source names only as parents are terms (curation/source_fixes.csv)
    assert {"iliac", "iliac lymph node", "pelvis"} <= graph.ancestors("external iliac lymph node")
    assert {"vein", "blood vessel"} <= graph.ancestors("superior mesenteric vein")
    assert "neoplasm" in graph.ancestors("metastasis") and graph.category("neoplasm") == "type"
    assert "gastrointestinal" in graph.exclusive("lymph node") and graph.parents("gastrointestinal") == set()


def test_shipped_owl_is_up_to_date_with_its_source() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/build_lesion_ontology.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_lesanet171_label_set_in_order() -> None:
    graph = load_ontology(label_set="lesanet171")
    space = graph.label_space
    assert len(space) == 171 and space.unmatched == ()
    assert space.labels[:5] == ("chest", "abdomen", "lung", "lymph node", "nodule")
    assert space.index("lung") == 2


def test_label_space_vectors() -> None:
    space = load_ontology().select(["liver", "lung", "mass"])
    vector = space.vector(["mass", "liver", "not a label"])
    assert vector.dtype == np.uint8 and vector.tolist() == [1, 0, 1]
    assert space.labels_of(vector) == ["liver", "mass"]
    assert space.labels_of(np.array([0.2, 0.7, 0.5])) == ["lung", "mass"]
    assert space.matrix([["lung"], []]).tolist() == [[0, 1, 0], [0, 0, 0]]
    with pytest.raises(InputError, match=r"shape \(3,\)"):
        space.labels_of(np.zeros(4))
    with pytest.raises(KeyError, match="not in label set"):
        space.index("kidney")


def test_label_set_from_file_and_threshold(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("# my labels\nliver\n\nkidney\n", encoding="utf-8")
    graph = load_ontology()
    assert graph.select(path).labels == ("liver", "kidney")
    frequent = graph.select("num_detected>=1000").labels
    assert "lymph node" in frequent and all((graph.term(x).num_detected or 0) >= 1000 for x in frequent)
    assert len(frequent) < len(graph)


def test_unknown_label_set_lists_what_is_accepted() -> None:
    with pytest.raises(InputError, match=r"lesanet171.*file with one label per line"):
        load_ontology(label_set="no-such-set")


def test_explicit_label_list_must_exist() -> None:
    with pytest.raises(InputError, match="not a label"):
        load_ontology().select(["liver", "not a label"])


def test_radlex_layout_loads_and_maps_curated_labels() -> None:
    graph = load_ontology(DATA / "radlex_mini.owl", curation=False)
    assert graph.term("lung").rid == "RID1301"
    assert graph.lookup("pulmonary") == "lung"
    assert graph.lookup("chest") == "thorax"
    assert graph.expand(["pulmonary nodule"]) == {"pulmonary nodule", "nodule", "clinical finding", "RadLex entity"}
    with pytest.warns(OntologyWarning, match=r"lesanet171.*not found"):
        space = graph.select("lesanet171")
    assert space.mapping["chest"] == "thorax"  # same RID (RID1243) in the shipped ontology
    assert space.mapping["lung nodule"] == "pulmonary nodule"  # a synonym in RadLex
    assert "kidney" in space.unmatched
    assert set(space.labels) <= set(graph.labels)


def test_vocabulary_csv() -> None:
    graph = load_ontology(DATA / "vocab_findings.csv", curation=False)
    assert len(graph) == 7
    assert graph.lookup("hydrothorax") == "pleural effusion"
    assert graph.expand(["pleural effusion"]) == {"pleural effusion", "effusion", "finding"}
    assert graph.category("pneumothorax") == "type"


def test_vocabulary_example_of_the_docs_loads_without_a_warning(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "ontology.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```csv\n(.*?)```", doc, flags=re.DOTALL)
    path = tmp_path / "my_terms.csv"
    path.write_text(example, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = load_ontology(path)
    assert graph.problems == () and graph.expand(["pleural effusion"]) == {"pleural effusion", "effusion", "finding"}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            "term,synonym\nx,y\n",
            r"missing column\(s\) synonyms, parents, category; "
            r"expected term, synonyms, parents, category, found term, synonym",
        ),
        ("term,synonyms,parents,category,colour\nx,,,,red\n", r"unknown column\(s\) colour; accepted columns: term"),
        ("term,synonyms,parents,category\n,,,\n", r"line 2, column term: empty term name"),
        ("term,synonyms,parents,category\nx,,,,extra\n", r"line 2: expected 4 fields"),
    ],
)
def test_bad_vocabulary_is_a_clear_error(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "vocab.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OntologyError, match=match):
        load_ontology(path)


def test_unknown_extension_lists_accepted(tmp_path: Path) -> None:
    path = tmp_path / "onto.ttl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(OntologyError, match=r"unknown ontology file type '\.ttl'; accepted: \.owl"):
        load_ontology(path)


def test_missing_file() -> None:
    with pytest.raises(OntologyError, match="not found"):
        load_ontology("/nonexistent/onto.owl")


def test_cycle_is_named(write_owl) -> None:  # type: ignore[no-untyped-def]
    path = write_owl({"a": {"parents": ["c"]}, "b": {"parents": ["a"]}, "c": {"parents": ["b"]}, "d": {}})
    with pytest.raises(OntologyError, match=r"cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)"):
        load_ontology(path, curation=False)


def test_dangling_names_and_shared_synonyms_warn(write_owl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vocab = tmp_path / "v.csv"
    vocab.write_text(
        "term,synonyms,parents,category,exclusive\na,shared|own a,ghost,,phantom\nb,shared,a,,\nc,a,,,\n",
        encoding="utf-8",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = load_ontology(vocab, curation=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, OntologyWarning)]
    assert any("a (line 2) -> parent ghost" in m and "a (line 2) -> exclusive phantom" in m for m in messages)
    assert any(
        "'shared': a (line 2), b (line 3)" in m and "'a': c (line 4), and the name of a (line 2)" in m for m in messages
    )
    assert all(m.startswith(f"{vocab}: ") and "\n" not in m for m in messages)
    assert graph.lookup("shared") is None and graph.lookup("own a") == "a" and graph.lookup("a") == "a"
    assert graph.parents("a") == frozenset()


def test_curation_tables_apply_and_report_unknown_terms(tmp_path: Path) -> None:
    (tmp_path / "synonyms.csv").write_text("term,synonym,kind,note\nmass,lump,variant,\nghost,boo,variant,\n")
    (tmp_path / "parents.csv").write_text("term,parent,note\nnodule,mass,test\n")
    graph = load_ontology(DATA / "vocab_findings.csv", curation=tmp_path)
    assert graph.lookup("lump") == "mass"
    assert "mass" in graph.parents("nodule")
    assert any("ghost" in line for line in graph.curation_skipped)


def test_bad_curation_table(tmp_path: Path) -> None:
    (tmp_path / "compositions.csv").write_text("label,components,scope,note\nright kidney,'right' + kidney,near,\n")
    with pytest.raises(OntologyError, match=r"compositions.csv: line 2, column scope: 'near' is not one of adjacent"):
        read_curation(tmp_path)


def test_shipped_compositions_parse() -> None:
    right_kidney = [c for c in read_curation(REPO / "ontologies/curation").compositions if c.label == "right kidney"]
    assert [(c.words, c.labels, c.scope) for c in right_kidney] == [
        (("right",), ("kidney",), "adjacent"),  # "right renal cyst"
        (("right", "pole"), ("kidney",), "sentence"),  # "kidneys: a cyst in the right upper pole"
        (("on the right",), ("kidney",), "sentence"),  # "nephrolithiasis on the right"
        (("right",), ("hydronephrosis",), "adjacent"),  # "mild right hydronephrosis"
    ]


def test_cache_makes_second_read_skip_owlready2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path / "cache"))
    first = read_owl(DATA / "radlex_mini.owl")
    assert len(list((tmp_path / "cache").glob("owl-*.json"))) == 1

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("owlready2 parse called on a warm cache")

    monkeypatch.setattr("radminer.ontology.owl._parse", fail)
    assert read_owl(DATA / "radlex_mini.owl") == first


def test_corrupt_cache_is_rebuilt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path))
    first = read_owl(DATA / "radlex_mini.owl")
    (cache,) = tmp_path.glob("owl-*.json")
    cache.write_text("{not json", encoding="utf-8")
    with pytest.warns(OntologyWarning, match="ignoring the ontology cache"):
        assert read_owl(DATA / "radlex_mini.owl") == first
    assert cache.read_text(encoding="utf-8").startswith("{")


def test_concurrent_cache_builds_give_one_valid_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path))
    code = f"from radminer.ontology.owl import read_owl; print(len(read_owl({str(DATA / 'radlex_mini.owl')!r})))"
    command = [sys.executable, "-c", code]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    assert [run.communicate(timeout=120)[0].strip() for run in runs] == ["11"] * 4
    assert len(list(tmp_path.iterdir())) == 1  # one entry, no temporary file left
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the entry is valid: no "ignoring the ontology cache"
        assert len(read_owl(DATA / "radlex_mini.owl")) == 11


def test_cache_file_gets_the_mode_of_open(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADMINER_CACHE_DIR", str(tmp_path / "cache"))
    previous = os.umask(0o022)
    try:
        read_owl(DATA / "radlex_mini.owl")
    finally:
        os.umask(previous)
    (cache,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o644


def test_import_radminer_stays_light() -> None:
    code = (
        "import sys, radminer; radminer.load_ontology(); "
        "print(sorted(m for m in ('torch', 'spacy', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_api() -> None:
    for name in radminer.__all__:
        assert getattr(radminer, name) is not None


def test_shipped_label_set_rids_are_those_of_the_shipped_ontology() -> None:
    from radminer.ontology.labelspace import _read_label_file
    from radminer.ontology.resources import label_set_path

    graph = load_ontology()
    entries = _read_label_file(label_set_path("lesanet171"))  # type: ignore[arg-type]
    assert len(entries) == 171
    assert all(rid == graph.term(name).rid for name, rid in entries)


def test_label_set_file_lines_give_a_label_and_an_optional_rid(tmp_path: Path) -> None:
    path = tmp_path / "set.txt"
    path.write_text("# comment\nzzz\tRID1243\n\npulmonary nodule\n", encoding="utf-8")
    space = load_ontology(DATA / "radlex_mini.owl").select(path)
    assert space.mapping["zzz"] == "thorax" and "pulmonary nodule" in space.labels
    path.write_text("chest\tRID1243\textra\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"set.txt: line 1: expected a label, optionally a tab and its RID"):
        load_ontology().select(path)
