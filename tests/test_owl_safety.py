"""OWL reading is safe: bad XML, XML bombs, external entities and imports are clear errors, never
a hang or a network call."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import DATA, build_owl

from radminer import OntologyError, load_ontology
from radminer.ontology.owl import read_owl

CLASSES = {"a": {}, "b": {"parents": ["a"]}}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a host fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr("urllib.request.urlopen", refuse)


def write(tmp_path: Path, text: str, name: str = "onto.owl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_and_radlex_layout_load_without_network() -> None:
    assert len(load_ontology()) == 338
    assert len(read_owl(DATA / "radlex_mini.owl", cache=False)) == 11


def test_malformed_xml_names_line_and_column(tmp_path: Path) -> None:
    text = build_owl(CLASSES).replace("</owl:Class>", "</owl:Klass>", 1)
    with pytest.raises(OntologyError, match=r"onto.owl: not well-formed XML at line \d+, column \d+: mismatched tag"):
        read_owl(write(tmp_path, text), cache=False)


def test_not_owl(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="no owl:Class found"):
        read_owl(write(tmp_path, "<root><child/></root>"), cache=False)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE rdf:RDF [\n" + "\n".join(entities) + "\n]>"
    text = build_owl({"a": {"label": "&lol9;"}}, doctype=doctype)
    with pytest.raises(OntologyError, match=r"entity &lol1; refers to other entities \(an XML bomb pattern\)"):
        read_owl(write(tmp_path, text), cache=False)


def test_quadratic_blowup_is_refused(tmp_path: Path) -> None:
    doctype = f'<!DOCTYPE rdf:RDF [<!ENTITY big "{"x" * 100_000}">]>'
    text = build_owl({"a": {"label": "&big;" * 1000}}, doctype=doctype)
    with pytest.raises(OntologyError, match=r"entity &big; is 100000 characters long"):
        read_owl(write(tmp_path, text), cache=False)


@pytest.mark.parametrize(
    ("declaration", "match"),
    [
        ('<!ENTITY secret SYSTEM "file:///etc/passwd">', r"external entity &secret; \(SYSTEM 'file:///etc/passwd'\)"),
        ('<!ENTITY remote SYSTEM "http://example.org/x">', r"external entity &remote;"),
        ('<!ENTITY % param "x">', r"parameter entity %param;"),
    ],
)
def test_external_and_parameter_entities_are_refused(tmp_path: Path, declaration: str, match: str) -> None:
    text = build_owl(CLASSES, doctype=f"<!DOCTYPE rdf:RDF [{declaration}]>")
    with pytest.raises(OntologyError, match=match):
        read_owl(write(tmp_path, text), cache=False)


def test_unresolvable_import_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, build_owl(CLASSES, imports=("http://example.org/ontologies/other.owl",)))
    with pytest.raises(
        OntologyError, match=r"owl:imports http://example.org/ontologies/other.owl cannot be resolved locally"
    ):
        read_owl(path, cache=False)


def test_import_resolved_beside_the_file(tmp_path: Path) -> None:
    write(tmp_path, build_owl({"base": {}}, base="http://example.org/other#"), name="other.owl")
    path = write(tmp_path, build_owl(CLASSES, imports=("http://example.org/other",)))
    names = {t.name for t in read_owl(path, cache=False)}
    assert names == {"a", "b", "base"}


def test_import_given_explicitly(tmp_path: Path) -> None:
    elsewhere = tmp_path / "lib"
    elsewhere.mkdir()
    other = write(elsewhere, build_owl({"base": {}}, base="http://example.org/x#"), name="x-v2.owl")
    path = write(tmp_path, build_owl(CLASSES, imports=("http://example.org/x",)))
    names = {t.name for t in read_owl(path, cache=False, imports={"http://example.org/x": other})}
    assert "base" in names
