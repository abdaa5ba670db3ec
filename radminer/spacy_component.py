"""spaCy component ``"radminer"``: ``nlp.add_pipe("radminer")`` mines labels into the doc.

Registered through the ``spacy_factories`` entry point (pyproject.toml), so spaCy imports
this module when it builds a pipeline; importing :mod:`radminer` does not. The component
sets ``doc.spans["radminer"]`` (one span per mention, ``span.label_`` = the label) and
``doc._.radminer`` (the :class:`~radminer.text.mentions.LesionLabels` rows). Each span also
carries medspaCy's attributes: ``span._.is_negated``, ``span._.is_uncertain`` and
``span._.trigger`` (the text of the cue that made it so, else ``None``). Lemmas and
sentences the doc already holds (from a trained pipeline) are kept.

    >>> import spacy
    >>> nlp = spacy.blank("en")
    >>> _ = nlp.add_pipe("radminer", config={"bookmark": None})
    >>> doc = nlp("Right renal cyst. No liver mass.")  # spans live as long as their doc
    >>> [(s.label_, s._.is_negated, s._.trigger) for s in doc.spans["radminer"]]
    [('right kidney', False, None), ('kidney cyst', False, None), ('liver mass', True, 'No')]
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .errors import RadminerError
from .text.extractor import Extractor
from .text.mentions import Mention

__all__ = ["SPANS_KEY", "SPAN_EXTENSIONS", "RadminerComponent", "make_radminer_component", "register_extensions"]

#: Key of ``doc.spans`` that holds the mentions; also the name of the ``Doc`` extension.
SPANS_KEY = "radminer"
#: The ``Span`` extensions set on each mention (medspaCy's names) and their defaults.
SPAN_EXTENSIONS: dict[str, Any] = {"is_negated": False, "is_uncertain": False, "trigger": None}


def register_extensions() -> None:
    """Register ``Doc._.radminer`` and the :data:`SPAN_EXTENSIONS`, once.

    An extension already registered (by medspaCy, say, or an earlier call) is kept, as long as
    values can be set on it: an attribute (``default=``) or a property with a setter. A
    read-only property of that name is an error naming it, rather than being replaced.
    """
    if not Doc.has_extension(SPANS_KEY):
        Doc.set_extension(SPANS_KEY, default=None)
    for name, default in SPAN_EXTENSIONS.items():
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
            continue
        _, method, getter, setter = Span.get_extension(name)
        if method is not None or (getter is not None and setter is None):
            raise RadminerError(
                f"Span._.{name} is already registered as a method or read-only property by another component: "
                "the radminer component cannot set it"
            )


class RadminerComponent:
    """The pipeline component (built by :func:`make_radminer_component`)."""

    def __init__(self, nlp: Language, name: str, *, extractor: Extractor) -> None:
        self.name = name
        self.extractor = extractor
        register_extensions()

    def __call__(self, doc: Doc) -> Doc:
        analysis = self.extractor.analyzer.annotate(doc, overwrite=False)
        rows = self.extractor.rows(analysis)
        spans = []
        for mention in sorted({m for row in rows for m in row.mentions}, key=lambda m: (m.start, m.end, m.label)):
            span = doc.char_span(mention.start, mention.end, label=mention.label, alignment_mode="expand")
            if span is not None:
                _set_status(span, mention)
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        doc._.set(SPANS_KEY, rows)
        return doc


def _set_status(span: Span, mention: Mention) -> None:
    span._.is_negated = mention.status == "negated"
    span._.is_uncertain = mention.status == "uncertain"
    span._.trigger = mention.trigger


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
