"""``radminer suggest`` and the curation it feeds: candidates, proposals, ranking, the CSV, the round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from radminer import Extractor, InputError, OntologyError, load_ontology
from radminer.cli import main
from radminer.ontology.resources import curation_dir
from radminer.text.matching import other_words
from radminer.text.suggest import SUGGESTION_COLUMNS, Proposer, Suggester

DATA = Path(__file__).resolve().parent / "data"
REPORTS = DATA / "suggest_reports.csv"
OPTIONS = ("--text-column", "findings", "--text-column", "impression", "--id-column", "uid", "--no-progress")


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def suggested(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("suggest") / "suggestions.csv"
    result = run("suggest", REPORTS, "-o", out, *OPTIONS, "--min-count", "2")
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_word(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["synonym"]: row for row in rows}


@pytest.fixture(scope="module")
def proposer() -> Proposer:
    from radminer.text.analysis import Analyzer

    return Proposer(load_ontology(), Analyzer(bookmark=None), known_words={"symmetric", "globular"})


def test_candidates_with_counts_and_examples(suggested: list[dict[str, str]]) -> None:
    rows = by_word(suggested)
    periportal = rows["periportal"]
    assert (periportal["frequency"], periportal["document_frequency"]) == ("3", "2")
    assert periportal["examples"].split(" | ") == ["There is a 2 cm [periportal] mass.", "[Periportal] mass unchanged."]
    # stop words, numbers, units, triggers and matched words are no candidates
    for word in ("there", "2", "cm", "no", "possible", "mass", "lymphadenopathy", "heart", "normal"):
        assert word not in rows, word
    assert "blunting" not in rows  # no proposal, and seen once only (--min-count 2)


def test_each_kind_of_proposal(proposer: Proposer) -> None:
    location = proposer(("periportal",))
    assert location is not None and (location.label, location.rule, location.kind) == (
        "porta Hepatis", "location", "adjective",
    )  # fmt: skip
    assert proposer(("intrahepatic",)).label == "liver"  # type: ignore[union-attr]
    assert proposer(("paratracheal",)).label == "trachea"  # type: ignore[union-attr]
    part = proposer(("costophrenic",))
    assert part is not None and (part.label, part.rule) == ("costophrenic sulcus", "synonym")
    typo = proposer(("lymphadenopahthy",))
    assert typo is not None and (typo.label, typo.rule) == ("lymphadenopathy", "misspelling")
    assert proposer(("symmetric",)) is None  # an English word, never a misspelling
    assert proposer(("space",)) is None  # the head of 'subhepatic space': not that label alone
    assert proposer(("air", "space")) is None


@pytest.mark.parametrize(
    ("a", "b", "other"),
    [
        ("hyperdense", "hypodense", True),
        ("asymmetric", "symmetric", True),
        ("infectious", "infection", True),
        ("globular", "lobular", True),
        ("lymphadenopahthy", "lymphadenopathy", False),
        ("lymphadenopthy", "lymphadenopathy", False),
    ],
)
def test_misspellings_are_not_other_words(a: str, b: str, other: bool) -> None:
    assert other_words(a, b) is other


def test_ranked_by_mentions_changed(suggested: list[dict[str, str]]) -> None:
    proposed = [r for r in suggested if r["term"]]
    assert [(r["synonym"], r["mentions_changed"]) for r in proposed] == [
        ("periportal", "2"),  # two reports would get porta hepatis
        ("costophrenic", "1"),
        ("intrahepatic", "0"),  # the report already holds the liver
        ("lymphadenopahthy", "0"),  # and this one lymphadenopathy (ties: by frequency, then alphabetically)
    ]
    assert suggested.index(proposed[-1]) == len(proposed) - 1  # proposals first, then the rest
    assert proposed[3]["proposal"] == "misspelling" and "'lymphadenopathy'" in proposed[3]["note"]


def test_csv_format_is_synonyms_csv_plus_evidence(suggested: list[dict[str, str]]) -> None:
    with (curation_dir() / "synonyms.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert list(suggested[0]) == list(SUGGESTION_COLUMNS)
    assert list(SUGGESTION_COLUMNS[: len(header)]) == header
    assert SUGGESTION_COLUMNS[len(header) :] == (
        "frequency", "document_frequency", "mentions_changed", "proposal", "examples", "accept",
    )  # fmt: skip
    assert {r["accept"] for r in suggested} == {""}
    assert by_word(suggested)["periportal"]["kind"] == "adjective"


def test_round_trip_suggest_accept_extract(suggested: list[dict[str, str]], tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.csv"
    with accepted.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SUGGESTION_COLUMNS))
        writer.writeheader()
        for row in suggested:
            writer.writerow({**row, "accept": "yes" if row["synonym"] == "periportal" else "no"})
    labels = {}
    for extra in ((), ("--curation", accepted)):
        out = tmp_path / "labels.jsonl"
        result = run("extract", REPORTS, "-o", out, *OPTIONS, *extra)
        assert result.exit_code == 0, result.output
        labels[bool(extra)] = [json.loads(line)["labels"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert "porta Hepatis" not in labels[False][1]
    assert "porta Hepatis" in labels[True][1] and "liver" in labels[True][1]
    assert "costophrenic sulcus" not in labels[True][2]  # not accepted
    extractor = Extractor(bookmark=None, extra_synonyms=accepted)
    assert "porta Hepatis" in extractor("Periportal mass.")[0].labels
    assert Extractor.from_config(extractor.config).graph.lookup("periportal") == "porta Hepatis"


def test_a_file_without_accept_column_applies_every_row(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("term,synonym,kind,note\nliver,hepatoid,variant,\n", encoding="utf-8")
    graph = load_ontology(extra_synonyms=path)
    assert graph.lookup("hepatoid") == "liver"
    assert load_ontology().lookup("hepatoid") is None  # the shipped graph is untouched
    with pytest.raises(InputError, match="extra_synonyms"):
        Extractor(graph, extra_synonyms=path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("term,synonym,accept\nnot a label,foo,yes\n", "line 2, column term: 'not a label' is not a label of"),
        ("term,synonym,accept\nliver,foo,yes\n,bar,1\n", "line 3, column term: no label given"),
        ("term,synonym,accept\nliver,foo,maybe\n", "line 2, column accept: 'maybe' is not one of yes"),
        ("term,synonym,accept\nliver,,yes\n", "line 2, column synonym: empty synonym"),
        ("term,word\nliver,foo\n", "missing column(s) synonym"),
    ],
)
def test_bad_curation_file_is_one_clear_line(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "accepted.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OntologyError, match="^" + str(path).replace(".", r"\.")):
        load_ontology(extra_synonyms=path)
    result = run("extract", REPORTS, *OPTIONS, "--curation", path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith(f"radminer: error: {path}: ")


def test_rejected_rows_are_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "accepted.csv"
    path.write_text("term,synonym,accept\nnot a label,foo,\nnot a label,bar,no\n", encoding="utf-8")
    assert load_ontology(extra_synonyms=path).lookup("foo") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--id-column", "uid"), "has no column 'text' (columns present: 'uid', 'findings', 'impression')"),
        (("--text-column", "findings"), "has no column 'id' (columns present: 'uid', 'findings', 'impression')"),
    ],
)
def test_suggest_bad_input_is_one_clear_line(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    result = run("suggest", REPORTS, "-o", out, *args)
    assert result.exit_code == 1
    assert result.stderr == f"radminer: error: {REPORTS} {message}\n"
    assert not out.exists()


def test_suggest_usage_errors(tmp_path: Path) -> None:
    assert run("suggest", tmp_path / "absent.csv").exit_code == 2
    assert run("suggest", REPORTS, "-o", REPORTS).exit_code == 2
    assert run("suggest", REPORTS, "--encoding", "nonsense").exit_code == 2


def test_bookmark_sentences_are_the_lesion_rows() -> None:
    suggester = Suggester(load_ontology())
    texts = ["Liver: periportal mass BOOKMARK. Porta hepatis periportal node."]
    list(suggester.feed(texts))
    found = {s.synonym: s for s in suggester.suggestions(min_count=1)}
    row = found["periportal"]  # only the bookmark's sentence is read
    assert (row.frequency, row.document_frequency, row.mentions_changed) == (1, 1, 1)
    assert "node" not in found


@pytest.mark.shared
def test_lesanet_dev_texts(shared_data: Path, tmp_path: Path) -> None:
    items = json.loads((shared_data / "lesanet" / "hand_labeled_dev.json").read_text(encoding="utf-8"))
    suggester = Suggester(load_ontology(), bookmark=None)
    list(suggester.feed(item["text"] for item in items))
    proposed = {s.synonym: s.proposal.label for s in suggester.suggestions() if s.proposal}
    assert proposed.get("precarinal") == "carina"
