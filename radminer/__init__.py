"""radminer: mine fine-grained lesion labels from radiology reports with a RadLex-based ontology.

    >>> import radminer
    >>> graph = radminer.load_ontology()              # the shipped 333-term lesion ontology
    >>> sorted(graph.expand(["lung nodule"]))
    ['chest', 'lung', 'lung nodule', 'nodule']

Importing radminer is cheap: spaCy (and through it torch, when installed) is imported only
when text is analysed.
"""

from __future__ import annotations

from .errors import InputError, OntologyError, OntologyWarning, RadminerError, RadminerWarning
from .graph import LabelGraph
from .labelspace import LabelSpace
from .ontology import load_ontology
from .terms import Term

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "LabelGraph",
    "LabelSpace",
    "OntologyError",
    "OntologyWarning",
    "RadminerError",
    "RadminerWarning",
    "Term",
    "__version__",
    "load_ontology",
]
