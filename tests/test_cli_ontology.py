"""``radminer ontology info|show|export``."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner
from conftest import DATA

from radminer.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_info_shipped() -> None:
    code, out, _ = run("ontology", "info")
    assert code == 0
    assert "terms:           338 in 3 categories" in out
    assert "bodypart       223" in out and "type           73" in out and "attribute      42" in out
    assert "label set:       lesanet171: 171 labels" in out
    assert "warnings:        0" in out


def test_info_json_on_radlex_layout_reports_unmatched() -> None:
    code, out, _ = run("ontology", "info", "--ontology", str(DATA / "radlex_mini.owl"), "--label-set", "lesanet171")
    assert code == 0 and "label set:       lesanet171: " in out
    code, out, _ = run(
        "ontology", "info", "--ontology", str(DATA / "radlex_mini.owl"), "--label-set", "lesanet171", "--json"
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["terms"] == 11
    assert "kidney" in summary["label_set"]["unmatched"]
    assert any("not found" in w for w in summary["warnings"])


def test_info_on_a_custom_ontology_reports_all_its_labels_without_warnings() -> None:
    code, out, err = run("ontology", "info", "--ontology", str(DATA / "radlex_mini.owl"), "--json")
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert summary["label_set"] == {"name": "all", "labels": 11, "unmatched": []}
    assert summary["warnings"] == []


def test_info_positional_path_still_works_but_is_deprecated() -> None:
    code, out, err = run("ontology", "info", str(DATA / "radlex_mini.owl"), "--json")
    assert code == 0 and json.loads(out)["terms"] == 11
    assert err == "radminer: warning: 'ontology info PATH' is deprecated: use 'ontology info --ontology PATH'\n"
    code, _, err = run("ontology", "info", str(DATA / "radlex_mini.owl"), "--ontology", str(DATA / "radlex_mini.owl"))
    assert code == 2 and "give the ontology once" in err


def test_warnings_of_a_command_are_one_line_each(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.csv"
    vocab.write_text("term,synonyms,parents,category\nmurmur,,,finding\nmurmurs,,ghost,finding\n", encoding="utf-8")
    reports = tmp_path / "reports.csv"
    reports.write_text("id,text\n1,A murmur.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(reports), "--ontology", str(vocab)])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"radminer: warning: {vocab}: ") for line in lines)
    assert "murmurs (line 3) -> parent ghost" in lines[0]  # from loading, then from the extractor's check
    assert "line 2: term 'murmur' and line 3: term 'murmurs' have the same match key" in lines[1]


def test_show() -> None:
    code, out, _ = run("ontology", "show", "pulmonary nodule")
    assert code == 0
    assert "label:       lung nodule" in out
    assert "parents:     lung, nodule" in out
    assert "ancestors:   chest, lung, nodule" in out


def test_show_unknown_label_is_a_usage_error() -> None:
    code, _, err = run("ontology", "show", "spleeen")
    assert code == 2 and "'spleeen' is neither a label nor a synonym" in err


def test_export_formats(tmp_path: Path) -> None:
    code, out, _ = run("ontology", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 338
    liver = next(r for r in rows if r["term"] == "liver")
    assert liver["rid"] == "RID58" and "hepatic" in liver["synonyms"].split("|")
    assert run("ontology", "export", "--format", "json", "-o", str(tmp_path / "o.json"))[0] == 0
    assert len(json.loads((tmp_path / "o.json").read_text())) == 338
    assert run("ontology", "export", "--format", "graphml", "-o", str(tmp_path / "o.graphml"))[0] == 0
    import networkx as nx

    graph = nx.read_graphml(tmp_path / "o.graphml")
    assert graph.number_of_nodes() == 338 and graph.has_edge("lung", "lung nodule")


def test_export_file_gets_the_mode_of_open(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert run("ontology", "export", "--format", "graphml", "-o", str(tmp_path / "o.graphml"))[0] == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "o.graphml").stat().st_mode) == 0o644


def test_export_onto_its_own_ontology_is_refused(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.csv"
    vocab.write_text("term,synonyms,parents,category\nnodule,,,type\n", encoding="utf-8")
    code, _, err = run("ontology", "export", "--ontology", str(vocab), "-o", str(vocab))
    assert code == 2 and "is the input file" in err
    assert vocab.read_text(encoding="utf-8").startswith("term,")


def test_broken_ontology_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.owl"
    bad.write_text("<rdf:RDF>", encoding="utf-8")
    code, _, err = run("ontology", "info", "--ontology", str(bad))
    assert code == 1
    assert err.startswith("radminer: error: ") and "not well-formed XML" in err and err.count("\n") == 1
