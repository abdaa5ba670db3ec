"""Shared fixtures: an isolated ontology cache, the optional ../shared/data folder, an OWL builder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def shared_data_dir() -> Path:
    """``$RADMINER_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("RADMINER_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or write the user's ontology cache."""
    os.environ["RADMINER_CACHE_DIR"] = str(tmp_path_factory.mktemp("radminer-cache"))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"{path} is absent (reference data for development only)")
    return path


def build_owl(
    classes: dict[str, dict[str, list[str] | str]],
    *,
    imports: tuple[str, ...] = (),
    doctype: str = "",
    base: str = "http://example.org/onto#",
) -> str:
    """An RDF/XML ontology with one class per key of ``classes``.

    Each value may hold ``label`` (str), ``synonyms``, ``parents`` and ``exclusive`` (lists
    of class keys) and ``category`` (str).
    """
    lines = [
        '<?xml version="1.0"?>',
        doctype,
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        ' xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:owl="http://www.w3.org/2002/07/owl#"',
        ' xmlns:skos="http://www.w3.org/2004/02/skos/core#" xmlns:rm="https://w3id.org/radminer/ontology#">',
        f'  <owl:Ontology rdf:about="{base.rstrip("#")}">',
        *[f'    <owl:imports rdf:resource="{iri}"/>' for iri in imports],
        "  </owl:Ontology>",
    ]
    for key, spec in classes.items():
        lines.append(f'  <owl:Class rdf:about="{base}{key}">')
        lines.append(f"    <rdfs:label>{escape(str(spec.get('label', key)))}</rdfs:label>")
        lines += [f"    <skos:altLabel>{escape(s)}</skos:altLabel>" for s in spec.get("synonyms", [])]
        if "category" in spec:
            lines.append(f"    <rm:category>{spec['category']}</rm:category>")
        lines += [f'    <rdfs:subClassOf rdf:resource="{base}{p}"/>' for p in spec.get("parents", [])]
        lines += [f'    <owl:disjointWith rdf:resource="{base}{o}"/>' for o in spec.get("exclusive", [])]
        lines.append("  </owl:Class>")
    lines.append("</rdf:RDF>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_owl(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write ``build_owl(...)`` to a file and return its path."""

    def write(classes: dict, name: str = "onto.owl", **kwargs) -> Path:  # type: ignore[type-arg]
        path = tmp_path / name
        path.write_text(build_owl(classes, **kwargs), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A local Dask cluster of two worker processes (one per test module that uses it)."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
