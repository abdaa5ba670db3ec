"""The spaCy component's medspaCy-style span attributes: is_negated, is_uncertain, trigger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

spacy = pytest.importorskip("spacy")
from spacy.tokens import Span  # noqa: E402

from radminer.errors import RadminerError  # noqa: E402
from radminer.spacy_component import SPAN_EXTENSIONS, register_extensions  # noqa: E402


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("radminer", config={"bookmark": None})
    return nlp


def test_spans_carry_negation_uncertainty_and_trigger(nlp: spacy.language.Language) -> None:
    doc = nlp("Possible lung nodule. No pleural effusion. Liver mass.")
    assert [(s.text, s._.is_negated, s._.is_uncertain, s._.trigger) for s in doc.spans["radminer"]] == [
        ("lung nodule", False, True, "Possible"),
        ("pleural effusion", True, False, "No"),
        ("Liver mass", False, False, None),
    ]
    (row,) = doc._.radminer
    assert "pleural effusion" in row.negated and "lung nodule" in row.uncertain


@pytest.fixture
def restored() -> Iterator[None]:
    """The span extensions as radminer registers them, after a test that changes them."""
    yield
    for name in SPAN_EXTENSIONS:
        Span.remove_extension(name)
    register_extensions()


def test_registration_is_once_and_keeps_a_settable_extension(nlp: spacy.language.Language, restored: None) -> None:
    register_extensions()
    register_extensions()
    Span.set_extension("is_negated", default=False, force=True)  # as medspaCy registers it
    doc = nlp("No liver mass.")
    assert [s._.is_negated for s in doc.spans["radminer"]] == [True]


def test_a_read_only_extension_of_that_name_is_an_error(restored: None) -> None:
    Span.set_extension("trigger", getter=lambda span: "theirs", force=True)
    with pytest.raises(RadminerError, match=r"Span\._\.trigger is already registered as a method or read-only"):
        register_extensions()
