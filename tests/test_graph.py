"""LabelGraph: navigation, expansion properties, export."""

from __future__ import annotations

import pickle

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radminer import LabelGraph, OntologyError, Term, load_ontology

GRAPH = load_ontology()
LABELS = st.lists(st.sampled_from(GRAPH.labels), max_size=8)


@given(LABELS)
def test_expand_is_idempotent(labels: list[str]) -> None:
    once = GRAPH.expand(labels)
    assert GRAPH.expand(once) == once


@given(LABELS, LABELS)
def test_expand_is_monotone_and_extensive(a: list[str], b: list[str]) -> None:
    assert set(a) <= GRAPH.expand(a)
    assert GRAPH.expand(a) <= GRAPH.expand(a + b)


@st.composite
def random_dags(draw: st.DrawFn) -> list[Term]:
    """Terms whose parents always come earlier: acyclic by construction."""
    n = draw(st.integers(1, 25))
    terms = [Term(name="t0")]
    for i in range(1, n):
        parents = draw(st.sets(st.integers(0, i - 1), max_size=3))
        terms.append(Term(name=f"t{i}", parents=tuple(f"t{j}" for j in sorted(parents))))
    return terms


@settings(max_examples=50)
@given(random_dags())
def test_ancestors_match_networkx(terms: list[Term]) -> None:
    graph = LabelGraph(terms)
    reference = graph.to_networkx()
    for name in graph.labels:
        assert graph.ancestors(name) == nx.ancestors(reference, name)
        assert graph.descendants(name) == nx.descendants(reference, name)
        assert graph.expand([name]) == {name} | graph.ancestors(name)


def test_navigation() -> None:
    assert GRAPH.parents("lung nodule") == {"lung", "nodule"}
    assert "lung nodule" in GRAPH.children("nodule")
    assert {"lung nodule", "right lung", "left lower lobe"} <= GRAPH.descendants("lung")
    assert GRAPH.depth() >= 3 and "chest" in GRAPH.roots()
    assert ("left lung", "right lung") in GRAPH.exclusive_pairs()
    with pytest.raises(KeyError, match="unknown label 'spleeen'"):
        GRAPH.ancestors("spleeen")


def test_duplicate_label_is_an_error() -> None:
    with pytest.raises(OntologyError, match="'a' is defined twice"):
        LabelGraph([Term("a"), Term("a")])


def test_self_parent_is_dangling_not_a_cycle() -> None:
    with pytest.warns(match="a -> parent a"):
        graph = LabelGraph([Term("a", parents=("a",))])
    assert graph.parents("a") == frozenset()


def test_with_label_set_is_a_view() -> None:
    view = GRAPH.with_label_set("lesanet171")
    assert len(view.label_space) == 171 and len(GRAPH.label_space) == 338
    assert view.expand(["lung nodule"]) == GRAPH.expand(["lung nodule"])


def test_a_returned_graph_cannot_be_changed_for_the_next_caller() -> None:
    graph = load_ontology()
    for name, value in [("label_space", "x"), ("source", "x"), ("curation", None), ("problems", ["x"])]:
        with pytest.raises(AttributeError):
            setattr(graph, name, value)
    with pytest.raises(AttributeError):
        graph.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        graph.label_space.labels = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        graph.label_space.mapping["x"] = "y"  # type: ignore[index]
    again = load_ontology()
    assert again.label_space.name == "all" and len(again.label_space) == 338 and again.source == graph.source


def test_views_have_their_own_caches_and_problems() -> None:
    graph = LabelGraph([Term("a"), Term("b", parents=("a", "ghost"))], source="t")
    view = graph.with_label_set(["b"])
    view.expand(["b"])
    assert view._closures is not graph._closures and graph._closures == {}
    assert isinstance(view.problems, tuple) and view.problems == graph.problems
    assert view.label_space.labels == ("b",) and graph.label_space.labels == ("a", "b")


def test_label_space_pickles() -> None:
    space = GRAPH.select("lesanet171")
    copy = pickle.loads(pickle.dumps(space))
    assert (copy.labels, copy.name, dict(copy.mapping), copy.unmatched) == (
        space.labels, space.name, dict(space.mapping), space.unmatched
    )  # fmt: skip


def test_to_networkx_is_a_copy_with_attributes() -> None:
    exported = GRAPH.to_networkx()
    exported.remove_node("lung")
    assert "lung" in GRAPH.labels and GRAPH.parents("lung nodule") == {"lung", "nodule"}
    assert GRAPH.to_networkx().nodes["liver"]["rid"] == "RID58"
