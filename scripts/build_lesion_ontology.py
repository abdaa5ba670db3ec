"""Generate ontologies/lesion_ontology.owl (RDF/XML) and its build report from the source CSV.

    python scripts/build_lesion_ontology.py            # rewrite the committed files
    python scripts/build_lesion_ontology.py --check    # exit 1 when they are out of date

Source: ontologies/source/lesion_ontology_181022.csv (LesaNet's adaptation of RadLex 3.15).
Its parent lists hold (mostly) all ancestors; the OWL keeps direct parents only. The
defects of the source are fixed once, by the rows of ontologies/curation/source_fixes.csv
and by the rules below, and every change is listed in ontologies/source/BUILD_REPORT.md.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "ontologies/source/lesion_ontology_181022.csv"
RID_MATCHES = ROOT / "ontologies/source/lesanet_ontology_to_radlex_exact_match.csv"
FIXES = ROOT / "ontologies/curation/source_fixes.csv"
OWL = ROOT / "ontologies/lesion_ontology.owl"
REPORT = ROOT / "ontologies/source/BUILD_REPORT.md"

RADLEX = "http://www.radlex.org/RID/#"
PROJECT = "https://w3id.org/radminer/lesion#"
RM = "https://w3id.org/radminer/ontology#"
FIELDS = ("term_parents", "term_children", "term_exclusive")


def split(cell: str) -> list[str]:
    return [x.strip() for x in cell.split("|") if x.strip()]


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def build() -> tuple[str, str]:
    """The OWL text and the Markdown report."""
    with SOURCE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with FIXES.open(encoding="utf-8", newline="") as handle:
        fixes = list(csv.DictReader(handle))
    names = [r["term"] for r in rows]
    known = set(names)
    lists = {r["term"]: {f: split(r[f]) for f in FIELDS} for r in rows}
    synonyms = {r["term"]: split(r["synonyms"]) for r in rows}
    log: list[str] = []

    for fix in fixes:
        action, term, value = fix["action"], fix["term"], fix["value"]
        if action == "add_term":
            categories = sorted({r["class"] for r in rows})
            if value not in categories:
                raise SystemExit(f"{FIXES}: add_term {term!r}: category {value!r} is not one of {categories}")
            rows.append({"id": "", "class": value, "term": term, "synonyms": "", "num_detected": ""})
            names.append(term)
            known.add(term)
            lists[term] = {f: [] for f in FIELDS}
            synonyms[term] = []
            log.append(f"- added term **{term}** ({value}): {fix['reason']}")
        elif action == "drop_name":
            counts = Counter()
            for t in names:
                for f in FIELDS:
                    if value in lists[t][f]:
                        lists[t][f].remove(value)
                        counts[f.removeprefix("term_")] += 1
            where = ", ".join(f"{n} {f} list(s)" for f, n in sorted(counts.items()))
            log.append(f"- dropped dangling name **{value}** from {where}: {fix['reason']}")
        elif action == "drop_synonym":
            synonyms[term].remove(value)
            log.append(f"- removed synonym *{value}* of **{term}**: {fix['reason']}")
        elif action == "add_parent":
            lists[term]["term_parents"].append(value)
            log.append(f"- added parent **{value}** to **{term}**: {fix['reason']}")
        else:
            allowed = "add_term, drop_name, drop_synonym, add_parent"
            raise SystemExit(f"{FIXES}: unknown action {action!r} (expected {allowed})")

    dangling = sorted({x for t in names for f in FIELDS for x in lists[t][f] if x not in known})
    if dangling:
        raise SystemExit(f"dangling names left, add a row to {FIXES}: {', '.join(dangling)}")

    listed = {t: set(lists[t]["term_parents"]) for t in names}
    closure: dict[str, set[str]] = {}

    def ancestors(t: str, seen: tuple[str, ...] = ()) -> set[str]:
        if t in seen:
            raise SystemExit(f"cycle in term_parents: {' -> '.join((*seen, t))}")
        if t not in closure:
            closure[t] = set(listed[t]).union(*(ancestors(p, (*seen, t)) for p in listed[t]))
        return closure[t]

    not_closed = [(t, sorted(ancestors(t) - listed[t])) for t in names if ancestors(t) - listed[t]]
    direct = {
        t: [p for p in lists[t]["term_parents"] if not any(p in closure[q] for q in listed[t] - {p})] for t in names
    }
    exclusive = {t: set(lists[t]["term_exclusive"]) for t in names}
    one_way = sorted({tuple(sorted((t, o))) for t in names for o in exclusive[t] if t not in exclusive[o]})
    for a, b in one_way:
        exclusive[a].add(b)
        exclusive[b].add(a)
    children_disagree = sum(1 for t in names for p in closure[t] if t not in lists[p]["term_children"])
    children_extra = sum(1 for t in names for c in lists[t]["term_children"] if t not in closure[c])

    with RID_MATCHES.open(encoding="utf-8", newline="") as handle:
        matches = {r["term"]: r["RID"] for r in csv.DictReader(handle) if r["RID"]}
    rid_count = Counter(matches.values())
    iri = {t: RADLEX + matches[t] if rid_count[matches.get(t, "")] == 1 else PROJECT + slug(t) for t in names}

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<rdf:RDF",
        '    xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        '    xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"',
        '    xmlns:owl="http://www.w3.org/2002/07/owl#"',
        '    xmlns:xsd="http://www.w3.org/2001/XMLSchema#"',
        '    xmlns:skos="http://www.w3.org/2004/02/skos/core#"',
        '    xmlns:dcterms="http://purl.org/dc/terms/"',
        f'    xmlns:rm="{RM}">',
        '  <owl:Ontology rdf:about="https://w3id.org/radminer/lesion">',
        "    <rdfs:label>radminer lesion ontology</rdfs:label>",
        "    <dcterms:source>LesaNet lesion_ontology_181022 (NIH CADLab), "
        "an adaptation of RadLex v3.15 (RSNA)</dcterms:source>",
        "    <rdfs:comment>Generated by scripts/build_lesion_ontology.py; do not edit by hand.</rdfs:comment>",
        "  </owl:Ontology>",
    ]
    for prop in ("category", "numDetected", "radlexRID", "lesanetId"):
        out.append(f'  <owl:AnnotationProperty rdf:about="{RM}{prop}"/>')
    for r in rows:
        t = r["term"]
        out.append(f"  <owl:Class rdf:about={quoteattr(iri[t])}>")
        out.append(f'    <rdfs:label xml:lang="en">{escape(t)}</rdfs:label>')
        seen = {t.casefold()}
        for s in synonyms[t]:
            if s.casefold() not in seen:
                seen.add(s.casefold())
                out.append(f'    <skos:altLabel xml:lang="en">{escape(s)}</skos:altLabel>')
        out.append(f"    <rm:category>{escape(r['class'])}</rm:category>")
        if r["num_detected"]:
            out.append(
                f'    <rm:numDetected rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">{int(r["num_detected"])}</rm:numDetected>'
            )
        if r["id"]:
            out.append(f"    <rm:lesanetId>{escape(r['id'])}</rm:lesanetId>")
        if t in matches:
            out.append(f"    <rm:radlexRID>{matches[t]}</rm:radlexRID>")
        for p in direct[t]:
            out.append(f"    <rdfs:subClassOf rdf:resource={quoteattr(iri[p])}/>")
        for o in sorted(exclusive[t]):
            out.append(f"    <owl:disjointWith rdf:resource={quoteattr(iri[o])}/>")
        out.append("  </owl:Class>")
    out.append("</rdf:RDF>")

    n_direct = sum(len(v) for v in direct.values())
    n_listed = sum(len(v) for v in listed.values())
    report = [
        "# Build report of ontologies/lesion_ontology.owl",
        "",
        "Generated by `scripts/build_lesion_ontology.py` from `lesion_ontology_181022.csv`; do not edit.",
        "",
        f"- {len(names)} terms: " + ", ".join(f"{n} {c}" for c, n in Counter(r["class"] for r in rows).items()),
        f"- {sum(1 for t in names if iri[t].startswith(RADLEX))} terms have a RadLex RID IRI; "
        f"the other {sum(1 for t in names if iri[t].startswith(PROJECT))} use {PROJECT}",
        f"- parents: {n_listed} listed ancestor links reduced to {n_direct} direct `rdfs:subClassOf` links",
        "",
        "## Fixes from `ontologies/curation/source_fixes.csv`",
        "",
        *log,
        "",
        "## Rules applied to every term",
        "",
        f"- `term_parents` is authoritative. {len(not_closed)} parent lists were not transitively closed; "
        "the OWL keeps direct parents, so the loader's ancestor closure adds:",
        *[f"  - **{t}**: {', '.join(a)}" for t, a in not_closed],
        f"- `term_children` is ignored: it omits {children_disagree} child links implied by the parents "
        f"and lists {children_extra} links the parents do not support.",
        f"- {len(one_way)} exclusive pair(s) were listed one way only and are made symmetric "
        "(`owl:disjointWith` both ways): " + "; ".join(f"{a} / {b}" for a, b in one_way),
        "- synonyms repeated within a term or equal to the term name (case-insensitive) are written once.",
        "",
    ]
    return "\n".join(out) + "\n", "\n".join(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the committed files are up to date")
    args = parser.parse_args()
    owl, report = build()
    if args.check:
        stale = [
            p for p, text in ((OWL, owl), (REPORT, report)) if not p.is_file() or p.read_text(encoding="utf-8") != text
        ]
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run python scripts/build_lesion_ontology.py)", file=sys.stderr)
        return 1 if stale else 0
    OWL.write_text(owl, encoding="utf-8")
    REPORT.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
