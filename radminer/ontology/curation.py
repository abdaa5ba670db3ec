"""Curation tables applied at load time, so a radiologist edits CSV, not OWL.

``ontologies/curation/`` holds (each documented in docs/curation.md):

* ``synonyms.csv`` (``term,synonym,kind,note``): adjective and abbreviation synonyms;
* ``parents.csv`` (``term,parent,note``): extra parents;
* ``exclusive.csv`` (``term,other,note``): extra exclusive pairs (symmetric);
* ``compositions.csv`` (``label,components,scope,note``): mentions that combine into a finer
  label, read by the extractor;
* ``not_parts.csv`` (``term,whole,note``): body parts below ``whole`` in the hierarchy that
  are not inside it, so that they do not stand for it in compositions;
* ``source_fixes.csv``: fixes of the LesaNet source, applied when the OWL is generated.

Rows whose terms the loaded ontology lacks are not applied; they are reported in
``Curation.apply``'s second result (a user ontology need not hold every curated term).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import OntologyError
from .terms import Term

__all__ = [
    "ACCEPT_VALUES", "REJECT_VALUES", "Composition", "Curation", "accepted_synonyms", "read_curation", "read_table",
]  # fmt: skip

_COLUMNS = {
    "synonyms.csv": ("term", "synonym", "kind", "note"),
    "parents.csv": ("term", "parent", "note"),
    "exclusive.csv": ("term", "other", "note"),
    "compositions.csv": ("label", "components", "scope", "note"),
    "not_parts.csv": ("term", "whole", "note"),
}
_SCOPES = ("adjacent", "sentence")


def read_table(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a curation CSV (UTF-8, a BOM accepted); :class:`OntologyError` naming file, line
    and column otherwise."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise OntologyError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}, "
                    f"found {', '.join(reader.fieldnames or []) or 'no header'}"
                )
            rows = []
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise OntologyError(
                        f"{path}: line {reader.line_num}: expected {len(reader.fieldnames or [])} fields"
                    )
                rows.append({k: v.strip() for k, v in row.items()})
            return rows
    except UnicodeDecodeError as exc:
        raise OntologyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        raise OntologyError(f"curation table not found: {path}") from None


@dataclass(frozen=True)
class Composition:
    """Mentions that together mean a finer label: ``'right' + kidney`` → ``right kidney``.

    ``components`` are label names, or words in single quotes matched on their lemma.
    ``scope`` is ``adjacent`` (the components follow one another, in any order) or
    ``sentence`` (anywhere in the same sentence).
    """

    label: str
    components: tuple[str, ...]
    scope: str

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(c[1:-1] for c in self.components if c.startswith("'"))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c for c in self.components if not c.startswith("'"))


@dataclass(frozen=True)
class Curation:
    """The load-time curation tables of one folder."""

    synonyms: tuple[tuple[str, str], ...] = ()
    parents: tuple[tuple[str, str], ...] = ()
    exclusive: tuple[tuple[str, str], ...] = ()
    compositions: tuple[Composition, ...] = ()
    not_parts: tuple[tuple[str, str], ...] = ()  # (term, whole): term is not inside whole

    def apply(self, terms: list[Term]) -> tuple[list[Term], list[str]]:
        """``terms`` with the curated synonyms, parents and exclusive pairs added.

        Returns the new terms and one line per row that names a term not in ``terms``.
        """
        by_name = {t.name: t for t in terms}
        skipped: list[str] = []
        add: dict[str, dict[str, list[str]]] = {}

        def extend(term: str, field: str, value: str, table: str, needs: str | None = None) -> None:
            absent = [x for x in (term, needs) if x is not None and x not in by_name]
            if absent:
                skipped.append(f"{table}: {term} / {value} ({', '.join(absent)} not in the ontology)")
                return
            add.setdefault(term, {}).setdefault(field, []).append(value)

        for term, synonym in self.synonyms:
            extend(term, "synonyms", synonym, "synonyms.csv")
        for term, parent in self.parents:
            extend(term, "parents", parent, "parents.csv", needs=parent)
        for term, other in self.exclusive:
            extend(term, "exclusive", other, "exclusive.csv", needs=other)
        for composition in self.compositions:
            if composition.label not in by_name or any(c not in by_name for c in composition.labels):
                skipped.append(f"compositions.csv: {composition.label} (labels not in the ontology)")
        for term, whole in self.not_parts:
            absent = [x for x in (term, whole) if x not in by_name]
            if absent:
                skipped.append(f"not_parts.csv: {term} / {whole} ({', '.join(absent)} not in the ontology)")
        out = []
        for t in terms:
            extra = add.get(t.name)
            if extra:
                merged = {f: tuple(dict.fromkeys((*getattr(t, f), *values))) for f, values in extra.items()}
                t = t._replace(**merged)  # type: ignore[arg-type]
            out.append(t)
        return out, skipped


def _composition(path: Path, line: int, row: dict[str, str]) -> Composition:
    components = tuple(c.strip() for c in row["components"].split("+") if c.strip())
    if not row["label"] or len(components) < 1:
        raise OntologyError(f"{path}: line {line}: expected a label and components like \"'right' + kidney\"")
    if row["scope"] not in _SCOPES:
        raise OntologyError(f"{path}: line {line}, column scope: {row['scope']!r} is not one of {', '.join(_SCOPES)}")
    return Composition(row["label"], components, row["scope"])


def read_curation(directory: str | Path) -> Curation:
    """Read every table of ``directory`` (a missing table counts as empty)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise OntologyError(f"curation folder not found: {directory}")
    tables = {
        name: read_table(directory / name, columns) if (directory / name).is_file() else []
        for name, columns in _COLUMNS.items()
    }
    return Curation(
        synonyms=tuple((r["term"], r["synonym"]) for r in tables["synonyms.csv"]),
        parents=tuple((r["term"], r["parent"]) for r in tables["parents.csv"]),
        exclusive=tuple((r["term"], r["other"]) for r in tables["exclusive.csv"]),
        compositions=tuple(
            _composition(directory / "compositions.csv", i + 2, r) for i, r in enumerate(tables["compositions.csv"])
        ),
        not_parts=tuple((r["term"], r["whole"]) for r in tables["not_parts.csv"]),
    )


#: ``accept`` values that apply a row of a synonyms file, and those that skip it.
ACCEPT_VALUES: frozenset[str] = frozenset({"yes", "y", "1", "true"})
REJECT_VALUES: frozenset[str] = frozenset({"", "no", "n", "0", "false"})


def accepted_synonyms(path: str | Path, curation: Curation, terms: Sequence[Term]) -> Curation:
    """``curation`` with the accepted rows of the synonyms CSV ``path`` added.

    ``path`` has the columns ``term`` and ``synonym`` (``synonyms.csv``'s format or
    ``radminer suggest``'s output); with an ``accept`` column only the rows marked yes / y / 1 /
    true are applied (no / n / 0 / false / empty: not), without one every row. A row naming a
    label that is not among ``terms``, an empty synonym or another ``accept`` value raises
    :class:`~radminer.errors.OntologyError` naming the file, line and column.
    """
    path = Path(path)
    names = {t.name for t in terms}
    added = []
    for line, row in enumerate(read_table(path, ("term", "synonym")), start=2):
        accept = row.get("accept", "yes").casefold()
        if accept not in ACCEPT_VALUES | REJECT_VALUES:
            raise OntologyError(
                f"{path}: line {line}, column accept: {accept!r} is not one of yes, y, 1, true (apply) "
                "or no, n, 0, false, empty (skip)"
            )
        if accept not in ACCEPT_VALUES:
            continue
        if row["term"] not in names:
            what = f"{row['term']!r} is not a label of the ontology" if row["term"] else "no label given"
            raise OntologyError(f"{path}: line {line}, column term: {what}")
        if not row["synonym"]:
            raise OntologyError(f"{path}: line {line}, column synonym: empty synonym")
        added.append((row["term"], row["synonym"]))
    return replace(curation, synonyms=(*curation.synonyms, *added))
