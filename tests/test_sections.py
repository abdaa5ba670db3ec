"""Report structure: headers, sentence ends, sections, organ blocks, and the Extractor's
``sections`` and ``context_rules`` options (the CLI's ``--sections`` and ``--context-rules``)."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from radminer import Extractor, InputError, load_ontology
from radminer.cli import main
from radminer.text.analysis import Analysis, Analyzer
from radminer.text.context import ContextRules
from radminer.text.matching import Matcher
from radminer.text.sections import DEFAULT_EXCLUDED, Layout, counted, layout, section_filter


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(bookmark=None)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(bookmark=None)


def sentences(analyzer: Analyzer, text: str) -> list[str]:
    analysis = analyzer.analyze(text)
    bounds = [*analysis.sent_starts, len(analysis.keys)]
    return [text[slice(*analysis.chars(a, b))].strip() for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LUNGS: No nodules.", ["LUNGS:", "No nodules."]),
        ("Impression: no pleural effusion.", ["Impression:", "no pleural effusion."]),
        ("No effusion. Liver: normal.", ["No effusion.", "Liver:", "normal."]),
        ("LUNGS/PLEURA: Clear.\nLYMPH NODES: None.", ["LUNGS/PLEURA:", "Clear.", "LYMPH NODES:", "None."]),
        ("CHEST X-RAY: no acute disease.", ["CHEST X-RAY:", "no acute disease."]),
        # a colon after words of any case that do not start the sentence is no header
        ("There is a mass in the liver: 2 cm.", ["There is a mass in the liver: 2 cm."]),
        ("Seen at 10:30 today.", ["Seen at 10:30 today."]),
        # sentence ends typed without blanks, double periods, line breaks, inline numbered items
        ("No effusion.. Right lung nodule.", ["No effusion..", "Right lung nodule."]),
        ("No adrenal nodule.2 cm renal cyst.", ["No adrenal nodule.", "2 cm renal cyst."]),
        ("No ascites\n3 cm pancreatic mass", ["No ascites", "3 cm pancreatic mass"]),
        ("There is a mass in the\nright lobe.", ["There is a mass in the\nright lobe."]),
        ("1) No nodules 2) Hepatic steatosis", ["1) No nodules", "2) Hepatic steatosis"]),
    ],
)
def test_sentences_and_headers(analyzer: Analyzer, text: str, expected: list[str]) -> None:
    assert sentences(analyzer, text) == expected


def test_words_typed_without_blanks_are_split(analyzer: Analyzer) -> None:
    tokens = [t.text for t in analyzer.analyze("No consolidation;left lobe atelectasis.Mild adrenal Mass.").doc]
    assert tokens[:3] == ["No", "consolidation", ";"]
    assert "atelectasis" in tokens and "Mild" in tokens
    assert tokens[-2:] == ["Mass", "."]  # not spaCy's "Mass." (Massachusetts)
    assert [t.text for t in analyzer.analyze("e.g. p.o. at http://x.org/a").doc][-1] == "http://x.org/a"


def plan_of(text: str) -> tuple[Analysis, Layout]:
    graph = load_ontology()
    analyzer = Analyzer(bookmark=None)
    analysis = analyzer.analyze(text)
    return analysis, layout(analysis, Matcher(graph, analyzer).match(analysis.keys), graph)


def test_layout_sections_blocks_and_recommendations() -> None:
    text = (
        "CLINICAL HISTORY: lung cancer.\nFINDINGS:\nLIVER: 2 cm cyst.\nPleural effusion: none.\n"
        "Recommend CT of the pelvis.\nImpression: cyst."
    )
    analysis, plan = plan_of(text)

    def section(word: str) -> str | None:
        start = text.index(word)
        token = next(i for i in range(len(analysis.keys)) if analysis.chars(i, i + 1)[0] == start)
        return plan.section(token)

    assert section("lung") == "history"
    assert section("LIVER") == "findings"  # an organ header keeps the section
    assert section("Pleural") == "findings"  # so does a header naming a label
    assert section("Recommend") == "recommendation"
    assert section("pelvis") == "recommendation"
    assert section("cyst") == "findings"
    assert section("Impression") == "impression"
    (block,) = plan.blocks
    assert block.labels == {"liver"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Indication: flank pain.\nNo stones. Mild hydronephrosis.", ["indication", None, None]),
        ("HISTORY: lymphoma; comparison 2023.\n\nNodes decreased.", ["history", None]),
        ("Comparison: 01/02/2023. Liver: 3 cm mass.", ["comparison", None]),  # an organ header
        ("CLINICAL HISTORY:\nLymphoma.\nAssess response.", ["history", "history"]),  # the header alone on its line
        ("Impression: 1. Mass.\n2. Effusion.", ["impression", "impression"]),  # not a section before the exam
        ("TECHNIQUE: CT. COMPARISON: None.\nNodule.", ["technique", "comparison", None]),
    ],
)
def test_preamble_sections_end_with_their_line(text: str, expected: list[str | None]) -> None:
    """A section about what came before the exam, its text on the header's line, ends there."""
    analysis, plan = plan_of(text)
    firsts = [sentence[0] for sentence in (analysis.sentence_of(s) for s in analysis.sent_starts)]
    bodies = [k for k in firsts if k not in {first for first, _ in analysis.headers}]
    assert [plan.section(k) for k in bodies] == expected


def test_section_filter() -> None:
    assert section_filter(None) == (None, DEFAULT_EXCLUDED)
    assert section_filter("all") == (None, frozenset())
    assert section_filter("Findings, impression") == (frozenset({"findings", "impression"}), frozenset())
    assert section_filter(["findings"]) == (frozenset({"findings"}), frozenset())
    with pytest.raises(InputError, match="sections"):
        section_filter(["findings", ""])
    with pytest.raises(InputError, match="sections: expected 'all' or section names, found int"):
        section_filter(5)  # type: ignore[arg-type]
    assert counted([None, "history", "findings"], *section_filter(None)) == [True, False, True]
    assert counted([None, "history", "findings"], *section_filter("history")) == [True, True, False]


REPORT = "INDICATION: rule out lung mass.\nFINDINGS: 2 cm liver mass.\nRecommend MRI of the pancreas."


def test_extractor_sections(extractor: Extractor) -> None:
    (row,) = extractor(REPORT)
    assert "liver mass" in row.labels
    assert not {"lung", "pancreas"} & set(row.labels + row.uncertain)  # reported, not counted
    assert {m.section for m in row.mentions} == {"indication", "findings", "recommendation"}
    record = row.to_dict("1")
    assert {m["section"] for m in record["mentions"]} == {"indication", "findings", "recommendation"}
    (everything,) = Extractor(bookmark=None, sections="all")(REPORT)
    assert "pancreas" in everything.labels and "lung" in everything.uncertain  # "rule out": uncertain
    (findings,) = Extractor(bookmark=None, sections=["recommendation"])(REPORT)
    assert "pancreas" in findings.labels and "liver" not in findings.labels
    (plain,) = extractor("2 cm liver mass.")
    assert plain.mentions[0].section is None and "section" not in plain.mentions[0].to_dict()


def rules_file(tmp_path: Path, **changes: object) -> Path:
    data = json.loads((Path(__file__).parents[1] / "radminer" / "text" / "data" / "context_rules.json").read_text())
    data.update(changes)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_extractor_context_rules(tmp_path: Path, extractor: Extractor) -> None:
    text = "Pleural effusion, doubtful."
    assert extractor(text)[0].labels == ("chest", "effusion", "pleura", "pleural effusion")
    data = json.loads(rules_file(tmp_path).read_text())
    data["uncertain"]["backward"].append("doubtful")
    path = tmp_path / "more.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for rules in (path, str(path), ContextRules.from_file(path)):
        custom = Extractor(bookmark=None, context_rules=rules)
        (row,) = custom(text)
        assert row.labels == () and "pleural effusion" in row.uncertain
    again = pickle.loads(pickle.dumps(Extractor(bookmark=None, context_rules=path)))
    assert "pleural effusion" in again(text)[0].uncertain
    with pytest.raises(InputError, match="context_rules"):
        Extractor(bookmark=None, context_rules=42)  # type: ignore[arg-type]


def test_cli_sections_and_context_rules(tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text('id,text\n1,"HISTORY: lung cancer.\nFINDINGS: 2 cm liver mass."\n', encoding="utf-8")
    runner = CliRunner()

    def labels(*options: str) -> list[str]:
        result = runner.invoke(main, ["extract", str(reports), "--no-progress", *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["labels"]

    assert "lung" not in labels() and "liver mass" in labels()
    assert "lung" in labels("--sections", "all")
    assert "liver mass" not in labels("--sections", "history")
    assert "liver mass" in labels("--context-rules", str(rules_file(tmp_path)))
    result = runner.invoke(main, ["extract", str(reports), "--context-rules", str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    assert "missing.json: cannot read context rules" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
