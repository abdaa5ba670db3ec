"""The text layer: report text → lesion labels. One module per stage: analysis (sentences,
tokens, lemmas), sections (report sections and organ headers), matching, context
(negated / uncertain / normal / irrelevant), compositions, and the :class:`Extractor` that
runs them. It reads the ontology layer and nothing above it (no files, engines or CLI).
"""

from .extractor import Extractor
from .mentions import STATUSES, LesionLabels, Mention

__all__ = ["STATUSES", "Extractor", "LesionLabels", "Mention"]
