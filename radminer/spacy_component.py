"""spaCy component ``"radminer"``: ``nlp.add_pipe("radminer")`` mines labels into the doc.

Registered through the ``spacy_factories`` entry point (pyproject.toml), so spaCy imports
this module when it builds a pipeline; importing :mod:`radminer` does not. The component
sets ``doc.spans["radminer"]`` (one span per mention, ``span.label_`` = the label) and
``doc._.radminer`` (the :class:`~radminer.mentions.LesionLabels` rows). Lemmas and
sentences the doc already holds (from a trained pipeline) are kept.

    >>> import spacy
    >>> nlp = spacy.blank("en")
    >>> _ = nlp.add_pipe("radminer", config={"bookmark": None})
    >>> [s.label_ for s in nlp("Right renal cyst.").spans["radminer"]]
    ['right kidney', 'kidney cyst']
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from .extractor import Extractor

__all__ = ["SPANS_KEY", "RadminerComponent", "make_radminer_component"]

#: Key of ``doc.spans`` that holds the mentions; also the name of the ``Doc`` extension.
SPANS_KEY = "radminer"


class RadminerComponent:
    """The pipeline component (built by :func:`make_radminer_component`)."""

    def __init__(self, nlp: Language, name: str, *, extractor: Extractor) -> None:
        self.name = name
        self.extractor = extractor
        if not Doc.has_extension(SPANS_KEY):
            Doc.set_extension(SPANS_KEY, default=None)

    def __call__(self, doc: Doc) -> Doc:
        analysis = self.extractor.analyzer.annotate(doc, overwrite=False)
        rows = self.extractor.rows(analysis)
        spans = []
        for mention in sorted({m for row in rows for m in row.mentions}, key=lambda m: (m.start, m.end, m.label)):
            span = doc.char_span(mention.start, mention.end, label=mention.label, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        doc._.set(SPANS_KEY, rows)
        return doc


@Language.factory(
    "radminer",
    default_config={
        "ontology": None,
        "label_set": "all",
        "bookmark": "BOOKMARK",
        "lemmatizer": "spacy",
        "context": True,
        "compositions": True,
    },
)
def make_radminer_component(
    nlp: Language,
    name: str,
    ontology: str | None,
    label_set: str | list[str],
    bookmark: str | None,
    lemmatizer: str,
    context: bool,
    compositions: bool,
) -> RadminerComponent:
    """The ``"radminer"`` factory; the options are :class:`~radminer.Extractor`'s."""
    extractor = Extractor(
        ontology,
        label_set=label_set,
        bookmark=bookmark,
        lemmatizer=lemmatizer,
        context=context,
        compositions=compositions,
        vocab=nlp.vocab,
    )
    return RadminerComponent(nlp, name, extractor=extractor)
