"""radminer: mine fine-grained lesion labels from radiology reports with a RadLex-based ontology.

    >>> import radminer
    >>> graph = radminer.load_ontology()              # the shipped 338-term lesion ontology
    >>> sorted(graph.expand(["lung nodule"]))
    ['chest', 'lung', 'lung nodule', 'nodule']

Importing radminer is cheap: spaCy (and through it torch, when installed) is imported only
when text is analysed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import InputError, OntologyError, OntologyWarning, OutputError, RadminerError, RadminerWarning
from .ontology import LabelGraph, LabelSpace, Term, load_ontology

if TYPE_CHECKING:
    from .engines.dataframe import extract_dataframe
    from .text.extractor import Extractor

__version__ = "0.1.0"

#: Names imported on first use (they pull pandas or spaCy): name → module.
_LAZY = {"extract_dataframe": ".engines.dataframe", "Extractor": ".text.extractor"}

__all__ = [
    "Extractor",
    "InputError",
    "LabelGraph",
    "LabelSpace",
    "OntologyError",
    "OntologyWarning",
    "OutputError",
    "RadminerError",
    "RadminerWarning",
    "Term",
    "__version__",
    "extract_dataframe",
    "load_ontology",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
