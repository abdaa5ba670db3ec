"""The ontology layer: terms, the label DAG, label spaces, curation, and the OWL and
vocabulary-CSV readers. It imports nothing from text analysis, engines or the CLI.

    >>> from radminer.ontology import load_ontology
    >>> load_ontology().parents("lung nodule") == {"lung", "nodule"}
    True
"""

from .graph import LabelGraph
from .labelspace import LabelSpace, select_labels
from .loader import ONTOLOGY_SUFFIXES, load_ontology
from .terms import CATEGORIES, Term

__all__ = ["CATEGORIES", "ONTOLOGY_SUFFIXES", "LabelGraph", "LabelSpace", "Term", "load_ontology", "select_labels"]
