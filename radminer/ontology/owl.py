"""Read OWL (RDF/XML) ontologies into :class:`Term` records, safely and from local files only.

Two layouts are understood:

* the shipped lesion ontology: ``rdfs:label``, ``skos:altLabel`` synonyms, the project's
  ``category`` / ``numDetected`` / ``radlexRID`` annotations, ``owl:disjointWith`` for
  exclusive pairs;
* the official RadLex OWL: class IRIs ``http://www.radlex.org/RID/#RID…``,
  ``Preferred_name`` and ``Synonym`` annotation properties.

Parents are the named classes of ``rdfs:subClassOf`` in both. Before owlready2 parses a
file, a streaming expat pass rejects what could hang or reach out: external and nested
entities (internal entities such as ``&owl;`` are fine) and ``owl:imports`` that no local
file resolves. The terms read are cached as JSON under the user cache directory, keyed
by the SHA-256 of the file (and of its imports), so a second load skips owlready2.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
import xml.parsers.expat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import OntologyError, OntologyWarning, OutputError
from ..files import atomic_output
from .terms import Term

__all__ = ["NS", "cache_dir", "read_owl"]

logger = logging.getLogger(__name__)

#: Namespaces used by the shipped ontology and understood by the reader.
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "radlex": "http://www.radlex.org/RID/#",
    "rm": "https://w3id.org/radminer/ontology#",
}

_NAME_PROPS = (NS["rdfs"] + "label", NS["skos"] + "prefLabel", NS["radlex"] + "Preferred_name")
_SYNONYM_PROPS = (NS["skos"] + "altLabel", NS["radlex"] + "Synonym", NS["oboInOwl"] + "hasExactSynonym")
_CATEGORY = NS["rm"] + "category"
_NUM_DETECTED = NS["rm"] + "numDetected"
_RID_PROP = NS["rm"] + "radlexRID"
_RID_IN_IRI = re.compile(r"[#/](RID\d+)$")
_MAX_ENTITY_VALUE = 4096
_CACHE_VERSION = "3"  # also in each entry; raise it when the entry or the terms read change
_FIELDS = Term._fields
_LISTS = {"synonyms", "parents", "exclusive"}
_SEP = "\x1f"  # ASCII unit separator: list cells are stored joined (JSON decodes strings faster)


def _unjoin(cell: str) -> tuple[str, ...]:
    return tuple(cell.split(_SEP)) if cell else ()


def cache_dir() -> Path:
    """``$RADMINER_CACHE_DIR``, else ``$XDG_CACHE_HOME/radminer``, else ``~/.cache/radminer``."""
    explicit = os.environ.get("RADMINER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "radminer"


# -- safety pass ---------------------------------------------------------------------------
def _scan(path: Path) -> list[str]:
    """Check ``path`` is well-formed, safe XML; return the IRIs it ``owl:imports``."""
    imports: list[str] = []

    def refuse(message: str) -> None:
        raise OntologyError(f"{path}: line {parser.CurrentLineNumber}: {message}")

    def entity_decl(name, is_parameter, value, base, system_id, public_id, notation):  # type: ignore[no-untyped-def]
        if is_parameter:
            refuse(f"parameter entity %{name}; is not accepted")
        if value is None:
            refuse(
                f"external entity &{name}; (SYSTEM {system_id!r}) is not accepted: it could read files or the network"
            )
        if "&" in value or "%" in value:
            refuse(f"entity &{name}; refers to other entities (an XML bomb pattern) and is not accepted")
        if len(value) > _MAX_ENTITY_VALUE:
            refuse(f"entity &{name}; is {len(value)} characters long (at most {_MAX_ENTITY_VALUE} accepted)")

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == NS["owl"] + "imports":
            target = attrs.get(NS["rdf"] + "resource")
            if target:
                imports.append(target)

    parser = xml.parsers.expat.ParserCreate(None, "")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = entity_decl
    parser.StartElementHandler = start

    def external_ref(context: str, base: str | None, system_id: str | None, public_id: str | None) -> int:
        refuse(f"external entity reference {system_id!r} is not accepted")
        return 0

    parser.ExternalEntityRefHandler = external_ref
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except xml.parsers.expat.ExpatError as exc:
        raise OntologyError(
            f"{path}: not well-formed XML at line {exc.lineno}, column {exc.offset}: "
            f"{xml.parsers.expat.ErrorString(exc.code)}"
        ) from None
    return imports


def _resolve_imports(path: Path, iris: list[str], given: Mapping[str, Path]) -> dict[str, Path]:
    """Local file for each imported IRI: ``given``, else a file of the same name beside ``path``."""
    resolved: dict[str, Path] = {}
    for iri in iris:
        stem = iri.rstrip("/#").rsplit("/", 1)[-1]
        candidates = [Path(given[iri])] if iri in given else []
        candidates += [path.parent / stem, path.parent / f"{stem}.owl", path.parent / f"{stem}.rdf"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            tried = ", ".join(str(c) for c in candidates)
            raise OntologyError(
                f"{path}: owl:imports {iri} cannot be resolved locally (tried {tried}); the network "
                "is never used: put the imported file beside the ontology or pass imports={iri: path}"
            )
        resolved[iri] = found
    return resolved


# -- owlready2 parse and extraction ---------------------------------------------------------
def _parse(path: Path, imports: dict[str, Path]) -> list[Term]:
    import owlready2

    world = owlready2.World()
    try:
        for iri, local in imports.items():  # loaded first, so owlready2 never fetches them
            with local.open("rb") as handle:
                world.get_ontology(iri).load(fileobj=handle, only_local=True)
        with path.open("rb") as handle:
            world.get_ontology(path.resolve().as_uri()).load(fileobj=handle, only_local=True)
    except owlready2.OwlReadyError as exc:
        raise OntologyError(f"{path}: owlready2 could not read the ontology: {exc}") from exc
    try:
        return _extract(world, str(path))
    finally:
        world.close()


def _extract(world, source: str) -> list[Term]:  # type: ignore[no-untyped-def]
    db = world.graph.db
    iri_of = dict(db.execute("SELECT storid, iri FROM resources"))
    storid = {iri: s for s, iri in iri_of.items()}

    def sid(iri: str) -> int:
        return storid.get(iri, 0)

    rdf_type, owl_class = sid(NS["rdf"] + "type"), sid(NS["owl"] + "Class")
    classes = [s for (s,) in db.execute("SELECT s FROM objs WHERE p=? AND o=? AND s>0", (rdf_type, owl_class))]
    class_set = set(classes)
    lang_en = {s for s, iri in iri_of.items() if iri.lower().startswith("@en")}

    data: dict[int, dict[str, list[str]]] = {}
    wanted = {sid(p): p for p in (*_NAME_PROPS, *_SYNONYM_PROPS, _CATEGORY, _NUM_DETECTED, _RID_PROP) if sid(p)}
    if wanted:
        marks = ",".join("?" * len(wanted))
        rows = db.execute(f"SELECT s, p, o, d FROM datas WHERE p IN ({marks}) ORDER BY rowid", tuple(wanted))
        for s, p, o, d in rows:
            if s in class_set:
                key = wanted[p] + ("@en" if d in lang_en else "")
                data.setdefault(s, {}).setdefault(key, []).append(str(o))

    thing = sid(NS["owl"] + "Thing")

    def related(predicate: str) -> tuple[dict[int, list[int]], dict[int, list[str]]]:
        """Class → the classes it relates to by ``predicate``, and → the IRIs it relates to that
        no class declares (``owl:Thing`` and anonymous classes aside)."""
        out: dict[int, list[int]] = {}
        undeclared: dict[int, list[str]] = {}
        for s, o in db.execute("SELECT s, o FROM objs WHERE p=? ORDER BY rowid", (sid(predicate),)):
            if s in class_set and o in class_set:
                out.setdefault(s, []).append(o)
            elif s in class_set and o > 0 and o != thing:
                undeclared.setdefault(s, []).append(iri_of[o])
        return out, undeclared

    # an undeclared IRI is kept as the parent's (or exclusive label's) name: LabelGraph reports it as dangling
    (parents, undeclared_parents), (disjoint, undeclared_disjoint) = (
        related(NS["rdfs"] + "subClassOf"),
        related(NS["owl"] + "disjointWith"),
    )

    def first(values: dict[str, list[str]], props: tuple[str, ...]) -> str | None:
        for prop in props:
            for key in (prop + "@en", prop):
                if values.get(key):
                    return values[key][0].strip()
        return None

    names: dict[int, str] = {}
    taken: dict[str, int] = {}
    renamed: list[str] = []
    for s in classes:
        iri = iri_of[s]
        name = first(data.get(s, {}), _NAME_PROPS) or re.split(r"[#/]", iri.rstrip("/#"))[-1]
        if name in taken:
            renamed.append(name)
            name = f"{name} [{_rid(iri, data.get(s, {})) or iri}]"
        taken[name] = s
        names[s] = name
    if renamed:
        logger.info("%s: %d duplicate class names disambiguated with their RID", source, len(renamed))

    terms = []
    for s in classes:
        values = data.get(s, {})
        name = names[s]
        synonyms = []
        for prop in _SYNONYM_PROPS:
            for key in (prop + "@en", prop):
                synonyms += [v.strip() for v in values.get(key, []) if v.strip()]
        detected = first(values, (_NUM_DETECTED,))
        terms.append(
            Term(
                name=name,
                category=first(values, (_CATEGORY,)),
                synonyms=tuple(dict.fromkeys(x for x in synonyms if x != name)),
                parents=tuple(dict.fromkeys([*(names[p] for p in parents.get(s, [])), *undeclared_parents.get(s, [])])),
                exclusive=tuple(
                    dict.fromkeys([*(names[o] for o in disjoint.get(s, [])), *undeclared_disjoint.get(s, [])])
                ),
                iri=iri_of[s],
                rid=_rid(iri_of[s], values),
                num_detected=int(detected) if detected is not None else None,
            )
        )
    return terms


def _rid(iri: str, values: dict[str, list[str]]) -> str | None:
    if values.get(_RID_PROP):
        return values[_RID_PROP][0]
    match = _RID_IN_IRI.search(iri)
    return match.group(1) if match else None


# -- cache ----------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_read(file: Path) -> list[Term] | None:
    """Cached terms, or ``None`` when absent, when an import changed, or when the entry is not
    what :func:`_cache_write` writes (then with an :class:`OntologyWarning`: it is rebuilt)."""
    try:
        entry = json.loads(file.read_text(encoding="utf-8"))
        imports, columns = _check_entry(entry)
        for local, digest in imports.items():
            if not Path(local).is_file() or _digest(Path(local)) != digest:
                return None
        values = [[_unjoin(x) for x in columns[f]] if f in _LISTS else columns[f] for f in _FIELDS]
        return list(map(Term._make, zip(*values, strict=True)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)[:200]
        warnings.warn(f"ignoring the ontology cache {file} ({reason}); rebuilding it", OntologyWarning, stacklevel=4)
        return None


def _check_entry(entry: object) -> tuple[dict[str, str], dict[str, list[Any]]]:
    """The imports and term columns of a cache entry; ``ValueError`` saying what is wrong with it."""
    if not isinstance(entry, dict) or set(entry) != {"version", "imports", "terms"}:
        raise ValueError("expected an object with the keys version, imports, terms")
    if entry["version"] != _CACHE_VERSION:
        raise ValueError(f"expected version {_CACHE_VERSION}, found {str(entry['version'])[:20]!r}")
    imports, columns = entry["imports"], entry["terms"]
    if not isinstance(imports, dict) or not all(isinstance(v, str) for v in imports.values()):
        raise ValueError("expected imports as an object of file → digest")
    if not isinstance(columns, dict) or set(columns) != set(_FIELDS):
        raise ValueError(f"expected terms as an object with the keys {', '.join(_FIELDS)}")
    names = columns["name"]
    if not isinstance(names, list) or not names or not all(isinstance(x, str) and x for x in names):
        raise ValueError("expected at least one term, each name a non-empty string")
    for field in _FIELDS:
        values = columns[field]
        if not isinstance(values, list) or len(values) != len(names):
            raise ValueError(f"expected terms.{field} as a list of {len(names)} values")
        kind = int if field == "num_detected" else str
        nullable = field not in _LISTS and field != "name"
        if not all(type(value) is kind or (value is None and nullable) for value in values):
            raise ValueError(f"terms.{field} holds a value of the wrong type")
    return imports, columns


def _cache_write(file: Path, terms: list[Term], imports: dict[str, Path]) -> None:
    entry = {
        "version": _CACHE_VERSION,
        "imports": {str(p.resolve()): _digest(p) for p in imports.values()},
        "terms": {f: [_SEP.join(getattr(t, f)) if f in _LISTS else getattr(t, f) for t in terms] for f in _FIELDS},
    }
    try:
        with atomic_output(file) as handle:
            handle.write(json.dumps(entry, ensure_ascii=False))
    except OutputError as exc:  # a read-only cache directory must not stop the load
        logger.warning("could not write the ontology cache: %s", exc)


def read_owl(path: str | Path, *, cache: bool = True, imports: Mapping[str, str | Path] | None = None) -> list[Term]:
    """The terms of the OWL file ``path``.

    ``imports`` maps ``owl:imports`` IRIs to local files (by default a file of the same
    name beside the importing file). ``cache=False`` always parses with owlready2.
    """
    path = Path(path)
    if not path.is_file():
        raise OntologyError(f"ontology file not found: {path}")
    file = cache_dir() / f"owl-v{_CACHE_VERSION}-{_digest(path)}.json" if cache else None
    if file is not None and (terms := _cache_read(file)) is not None:
        logger.debug("%s: terms read from cache %s", path, file)
        return terms
    given = {iri: Path(p) for iri, p in (imports or {}).items()}
    resolved: dict[str, Path] = {}
    pending = [path]
    while pending:  # imports of imports, each scanned for safety
        current = pending.pop()
        new = _resolve_imports(current, [i for i in _scan(current) if i not in resolved], given)
        resolved.update(new)
        pending += list(new.values())
    terms = _parse(path, resolved)
    if not terms:
        raise OntologyError(f"{path}: no owl:Class found (is this an OWL ontology in RDF/XML?)")
    if file is not None:
        _cache_write(file, terms, resolved)
    return terms
