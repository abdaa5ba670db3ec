"""Write a RadLex-sized OWL in the official RadLex layout from radlex_terms_2014.csv.

    python benchmarks/make_radlex_owl.py [--terms ../shared/data/radlex/radlex_terms_2014.csv] OUT.owl

The CSV (41,575 terms: Term, RID, Parent_RID; Latin-1) has real RadLex names and
hierarchy but no synonyms; each class gets the official layout: IRI
``http://www.radlex.org/RID/#RIDn`` written through the ``&RID;`` entity,
``Preferred_name``, ``rdfs:subClassOf`` mirrored by ``Is_A``, ``owl:NamedIndividual`` typing,
and a ``Synonym`` for every third term, so the loader does the work it does on RadLex.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from xml.sax.saxutils import escape

DEFAULT_TERMS = Path(__file__).resolve().parents[2] / "shared/data/radlex/radlex_terms_2014.csv"

HEADER = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
    <!ENTITY owl "http://www.w3.org/2002/07/owl#" >
    <!ENTITY xsd "http://www.w3.org/2001/XMLSchema#" >
    <!ENTITY rdfs "http://www.w3.org/2000/01/rdf-schema#" >
    <!ENTITY rdf "http://www.w3.org/1999/02/22-rdf-syntax-ns#" >
    <!ENTITY RID "http://www.radlex.org/RID/#" >
]>
<rdf:RDF xmlns="http://www.radlex.org/RID/#" xml:base="http://www.radlex.org/RID/"
     xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:owl="http://www.w3.org/2002/07/owl#"
     xmlns:xsd="http://www.w3.org/2001/XMLSchema#" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:RID="http://www.radlex.org/RID/#">
    <owl:Ontology rdf:about="http://www.radlex.org/RID/"/>
    <owl:AnnotationProperty rdf:about="&RID;Preferred_name"/>
    <owl:AnnotationProperty rdf:about="&RID;Synonym"/>
    <owl:ObjectProperty rdf:about="&RID;Is_A"/>
"""


def write_radlex_owl(terms_csv: Path, out: Path) -> int:
    """Write ``out`` and return the number of classes."""
    with terms_csv.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.DictReader(handle))
    known = {r["RID"] for r in rows}
    with out.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i, r in enumerate(rows):
            f.write(f'    <owl:Class rdf:about="&RID;{r["RID"]}">\n')
            f.write('        <rdf:type rdf:resource="&owl;NamedIndividual"/>\n')
            if r["Parent_RID"] in known:
                f.write(f'        <rdfs:subClassOf rdf:resource="&RID;{r["Parent_RID"]}"/>\n')
                f.write(f'        <RID:Is_A rdf:resource="&RID;{r["Parent_RID"]}"/>\n')
            f.write(f'        <RID:Preferred_name xml:lang="en">{escape(r["Term"])}</RID:Preferred_name>\n')
            if i % 3 == 0:
                f.write(f'        <RID:Synonym xml:lang="en">{escape(r["Term"])} ({r["RID"]})</RID:Synonym>\n')
            f.write("    </owl:Class>\n")
        f.write("</rdf:RDF>\n")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--terms", type=Path, default=DEFAULT_TERMS)
    args = parser.parse_args()
    print(f"{write_radlex_owl(args.terms, args.out)} classes written to {args.out}")


if __name__ == "__main__":
    main()
