"""The ``radminer`` command line: ``radminer ontology ...`` and ``radminer extract ...``.

Exit codes: 0 success; 1 a radminer error (bad input, broken ontology), reported as one
line on stderr; 2 a usage error (click); 130 interrupted (Ctrl-C), 143 / 129 terminated (SIGTERM /
SIGHUP), after the same cleanup.
"""

from __future__ import annotations

import csv
import gc
import json
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from ..ontology.graph import LabelGraph
from ..ontology.loader import load_ontology
from .support import exit_cleanly

_fail_cleanly = exit_cleanly("radminer")


__all__ = ["export", "extract", "info", "main", "ontology", "show"]

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="radminer")
def main() -> None:
    """Mine lesion labels from radiology reports with a RadLex-based ontology."""


@main.group()
def ontology() -> None:
    """Inspect and export ontologies (the shipped lesion ontology by default)."""


def _load(path: str | None) -> tuple[LabelGraph, list[str]]:
    """The graph and the warnings its loading raised (shown by ``info``)."""
    if path is not None and path.lower().endswith(".csv"):
        _import_spacy_without_torch()  # a vocabulary's terms are analysed as it is read
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = load_ontology(path)
    return graph, [str(w.message) for w in caught]


_ONTOLOGY = click.option(
    "--ontology", "path", type=click.Path(dir_okay=False), help="OWL or vocabulary CSV (default: shipped)."
)


@ontology.command()
@click.argument("old_path", metavar="[PATH]", required=False, type=click.Path(dir_okay=False))
@_ONTOLOGY
@click.option(
    "--label-set",
    help="Label set to report on (default: lesanet171 for the shipped ontology, all for another).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_fail_cleanly
def info(old_path: str | None, path: str | None, label_set: str | None, as_json: bool) -> None:
    """Counts per category, depth, synonyms, exclusive pairs and warnings of an ontology.

    The ontology is --ontology, as for show and export (PATH alone is deprecated).
    """
    if old_path is not None:
        if path is not None:
            raise click.UsageError("give the ontology once, with --ontology PATH")
        click.echo(
            "radminer: warning: 'ontology info PATH' is deprecated: use 'ontology info --ontology PATH'", err=True
        )
        path = old_path
    label_set = label_set or ("lesanet171" if path is None else "all")
    graph, problems = _load(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space = graph.select(label_set) if label_set != "all" else graph.label_space
    problems += [str(w.message) for w in caught]
    categories = Counter(graph.category(x) or "(none)" for x in graph.labels)
    summary: dict[str, Any] = {
        "source": graph.source,
        "terms": len(graph),
        "categories": dict(categories.most_common()),
        "roots": len(graph.roots()),
        "depth": graph.depth(),
        "synonyms": sum(len(graph.synonyms(x)) for x in graph.labels),
        "exclusive_pairs": len(graph.exclusive_pairs()),
        "with_radlex_rid": sum(1 for x in graph.labels if graph.term(x).rid),
        "label_set": {"name": space.name, "labels": len(space), "unmatched": list(space.unmatched)},
        "curation": {
            "synonyms": len(graph.curation.synonyms) if graph.curation else 0,
            "parents": len(graph.curation.parents) if graph.curation else 0,
            "exclusive": len(graph.curation.exclusive) if graph.curation else 0,
            "compositions": len(graph.curation.compositions) if graph.curation else 0,
            "not_applicable": list(graph.curation_skipped),
        },
        "warnings": problems,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    click.echo(f"ontology:        {summary['source']}")
    click.echo(f"terms:           {summary['terms']} in {len(categories)} categories")
    for name, count in categories.most_common():
        click.echo(f"  {name:<14} {count}")
    click.echo(f"roots / depth:   {summary['roots']} / {summary['depth']}")
    click.echo(f"synonyms:        {summary['synonyms']}")
    click.echo(f"exclusive pairs: {summary['exclusive_pairs']}")
    click.echo(f"RadLex RIDs:     {summary['with_radlex_rid']}")
    unmatched = f" ({len(space.unmatched)} unmatched)" if space.unmatched else ""
    click.echo(f"label set:       {space.name}: {len(space)} labels{unmatched}")
    cur = summary["curation"]
    click.echo(
        f"curation:        {cur['synonyms']} synonyms, {cur['parents']} parents, {cur['exclusive']} exclusive, "
        f"{cur['compositions']} compositions ({len(cur['not_applicable'])} not applicable)"
    )
    click.echo(f"warnings:        {len(problems)}")
    for problem in problems:
        click.echo(f"  - {problem}")


@ontology.command()
@click.argument("label")
@_ONTOLOGY
@_fail_cleanly
def show(label: str, path: str | None) -> None:
    """Synonyms, parents, children, exclusive labels and RID of LABEL (a name or synonym)."""
    graph, _ = _load(path)
    name = label if label in graph else graph.lookup(label)
    if name is None:
        raise click.BadParameter(f"{label!r} is neither a label nor a synonym in {graph.source}", param_hint="LABEL")
    term = graph.term(name)

    def listed(values: frozenset[str] | tuple[str, ...]) -> str:
        return ", ".join(sorted(values)) or "-"

    click.echo(f"label:       {name}")
    click.echo(f"category:    {term.category or '-'}")
    click.echo(f"RID:         {term.rid or '-'}")
    click.echo(f"IRI:         {term.iri or '-'}")
    click.echo(f"synonyms:    {listed(graph.synonyms(name))}")
    click.echo(f"parents:     {listed(graph.parents(name))}")
    click.echo(f"ancestors:   {listed(graph.ancestors(name))}")
    click.echo(f"children:    {listed(graph.children(name))}")
    click.echo(f"exclusive:   {listed(graph.exclusive(name))}")


@ontology.command()
@_ONTOLOGY
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "graphml"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Output file (default: stdout).")
@_fail_cleanly
def export(path: str | None, fmt: str, output: str | None) -> None:
    """Export labels (term, category, synonyms, parents, exclusive, rid) as CSV, JSON or GraphML."""
    from ..files import atomic_output

    _refuse_overwriting(path, Path(output) if output else None)
    graph, _ = _load(path)
    rows = [
        {
            "term": x,
            "category": graph.category(x) or "",
            "synonyms": sorted(graph.synonyms(x)),
            "parents": sorted(graph.parents(x)),
            "exclusive": sorted(graph.exclusive(x)),
            "rid": graph.term(x).rid or "",
        }
        for x in graph.labels
    ]
    with atomic_output(Path(output) if output else None, binary=fmt == "graphml") as handle:
        if fmt == "json":
            json.dump(rows, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        elif fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["term"], lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in row.items()})
        else:
            import networkx as nx

            nx.write_graphml(graph.to_networkx(), handle)


# --- extract ---------------------------------------------------------------------------


def _output_format(out: Path) -> str:
    """The format that the suffix of ``-o`` names; JSONL for a device or FIFO without one."""
    from ..files import is_special
    from ..io.writers import SUFFIXES, format_for

    found = format_for(out)
    if found is None and not (out.suffix == "" and is_special(out)):
        known = ", ".join(f"{suffix} ({fmt})" for suffix, fmt in SUFFIXES.items())
        raise click.BadParameter(
            f"cannot tell the output format of {str(out)!r}: expected a file name ending in {known}, "
            "or the format named with --format",
            param_hint="'-o'",
        )
    return found or "jsonl"


def _check_encoding(encoding: str) -> None:
    """A usage error when ``encoding`` is no text encoding."""
    from ..io.reader import text_codec

    try:
        text_codec(encoding)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="'--encoding'") from None


def _refuse_overwriting(source: str | None, output: Path | None) -> None:
    """A usage error when ``output`` is the file ``source`` (through links too)."""
    from ..files import same_file

    if source is not None and output is not None and same_file(source, output):
        message = f"{str(output)!r} is the input file {source!r}: choose another output"
        raise click.BadParameter(message, param_hint="'-o'")


def _import_spacy_without_torch() -> None:
    """Import spaCy with torch hidden: thinc imports torch when it is installed (over a
    second), and extraction never uses it.

    Only for the command line (``extract``, and ``ontology`` reading a vocabulary, whose terms
    are analysed; the library never does it): ``import torch`` works afterwards in
    the same process, but thinc then counts torch as absent (``thinc.compat.has_torch``), so
    spaCy models that run through torch cannot be used in that process. Nothing is done
    when spaCy or torch is already imported.
    """
    if "torch" in sys.modules or "spacy" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy  # noqa: F401
    finally:
        del sys.modules["torch"]


_EXTRACT_HELP = """Mine lesion labels from the reports of INPUT.

INPUT is a CSV file (UTF-8 unless --encoding says otherwise; gzip, bzip2, xz or
Zstandard compressed files are read as they are), or a Parquet file (.parquet, .pq;
needs the 'parquet' extra). One output row per bookmark of a report, or per report when its text holds no bookmark;
a report with an empty text gives one row with empty labels. Rows come in input order
(duplicate ids are kept as they are). Several --text-column are joined with a blank line
(empty cells left out); mention offsets refer to the joined text.

\b
Formats (--format, or the suffix of -o: .jsonl .csv .parquet .npz; default jsonl):
  jsonl    one JSON object per row: id, bookmark, sentence, labels, uncertain,
           negated, mentions (docs/cli.md); stdout without -o
  csv      id, bookmark, sentence, labels, uncertain, negated (lists joined by |)
  wide-csv id, bookmark, then one column per label of --label-set (CheXpert's
           convention): 1 positive, 0 negated, -1 uncertain, empty not mentioned
  parquet  the JSONL columns (needs the 'parquet' extra: pyarrow)
  npz      ids, bookmarks (-1: none), labels (the --label-set), uint8 matrices
           positive, uncertain, negated [rows, labels]

Sections: headers such as "FINDINGS:" or "Clinical history:" name the section of the
text under them; mentions in history, indication, comparison, technique and
recommendation sections are reported but do not count towards the labels unless
--sections says so (--sections all, or e.g. --sections findings,impression).

--per sentence writes one row per sentence instead (every sentence, with or without
labels; none for an empty report): id, sentence_index, start, end (character offsets in
the report), section, sentence, labels, uncertain, negated, mentions; wide-csv gives
id, sentence_index, start, end, section, then the labels. Not with npz.

Output files appear only complete. --on-error skip writes unreadable rows to
OUT.errors.jsonl (stderr without -o) and goes on.

--engine dask mines on a Dask cluster (the 'dask' extra; docs/scaling.md): the
scheduler at --scheduler, or a local cluster of --jobs processes. INPUT may then be
CSV or Parquet, a path or a glob, read in --partitions parts; the output is the same.

\b
Exit status: 0 success (rows may have been skipped with --on-error skip);
1 error (bad input, unreadable row, broken ontology); 2 usage error;
130 interrupted (Ctrl-C), 143 / 129 terminated (SIGTERM / SIGHUP):
no output file is left behind.
"""


@main.command(help=_EXTRACT_HELP, short_help="Mine lesion labels from a reports CSV.")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output file (default: JSONL on stdout).")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv", "wide-csv", "parquet", "npz"]), help="Output format."
)
@click.option(
    "--text-column",
    "text_columns",
    multiple=True,
    default=("text",),
    show_default=True,
    help="Column holding report text; repeat to join several.",
)
@click.option("--id-column", default="id", show_default=True, help="Column holding the report id.")
@click.option(
    "--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV INPUT (utf-8 may start with a BOM)."
)
@_ONTOLOGY
@click.option(
    "--curation",
    type=click.Path(dir_okay=False),
    help="Synonyms CSV applied on top of the shipped curation (the accepted rows of 'radminer suggest').",
)
@click.option("--label-set", default="all", show_default=True, help="Label set name or file (one label a line).")
@click.option("--bookmark", metavar="REGEX", help="Regex of the lesion bookmark token (default: BOOKMARK).")
@click.option(
    "--context-rules",
    type=click.Path(dir_okay=False),
    help="Negation / uncertainty rules file (JSON, the format of docs/context.md; default: the shipped rules).",
)
@click.option(
    "--sections",
    metavar="LIST",
    help="Report sections whose mentions count, comma-separated, or 'all' "
    "(default: all but history, indication, comparison, technique, recommendation).",
)
@click.option(
    "--organ-parts",
    is_flag=True,
    help="In a composition that makes a finding, a part of the organ stands for it "
    "(right lower lobe nodule -> lung nodule).",
)
@click.option(
    "--exact-spelling",
    is_flag=True,
    help="Match terms as written only: no long misspelled word is read as the term one letter "
    "away (lymphadenapathy -> lymphadenopathy).",
)
@click.option(
    "--per",
    type=click.Choice(["report", "sentence"]),
    default="report",
    show_default=True,
    help="One row per lesion (per report without bookmarks), or one per sentence.",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="On an unreadable row: stop with an error, or skip it and log it.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Mine in this machine's processes, or on a Dask cluster.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler (default: a local cluster of --jobs workers).")
@click.option("--partitions", type=click.IntRange(min=1), help="Dask partitions of INPUT (default: as read).")
@_fail_cleanly
def extract(
    input_path: str,
    output: str | None,
    fmt: str | None,
    text_columns: tuple[str, ...],
    id_column: str,
    encoding: str,
    path: str | None,
    curation: str | None,
    label_set: str,
    bookmark: str | None,
    context_rules: str | None,
    sections: str | None,
    organ_parts: bool,
    exact_spelling: bool,
    per: str,
    jobs: int,
    on_error: str,
    progress: bool | None,
    engine: str,
    scheduler: str | None,
    partitions: int | None,
) -> None:
    from contextlib import ExitStack

    from tqdm import tqdm

    from ..engines.local import extract_texts
    from ..files import atomic_output
    from ..io.reader import RowError, open_reports
    from ..io.writers import BINARY_FORMATS, make_writer

    out = Path(output) if output else None
    fmt = fmt or (_output_format(out) if out else "jsonl")
    if out is None and fmt in BINARY_FORMATS:
        raise click.UsageError(f"--format {fmt} writes a binary file: give it a path with -o")
    if per == "sentence" and fmt == "npz":
        raise click.UsageError("--per sentence does not go with --format npz: choose jsonl, csv, wide-csv or parquet")
    errors_path = out.with_name(f"{out.stem}.errors.jsonl") if out and on_error == "skip" else None
    for written in (out, errors_path):
        _refuse_overwriting(input_path, written)
    if engine == "local" and (scheduler or partitions):
        raise click.UsageError("--scheduler and --partitions need --engine dask")
    if engine == "dask" and on_error == "skip":
        raise click.UsageError("--on-error skip needs --engine local")
    if engine == "local" and not Path(input_path).is_file():
        raise click.BadParameter(f"file {input_path!r} does not exist", param_hint="'INPUT'")
    _check_encoding(encoding)

    options: dict[str, Any] = {} if bookmark is None else {"bookmark": bookmark}
    if context_rules is not None:
        options["context_rules"] = context_rules
    if sections is not None:
        options["sections"] = sections
    if organ_parts:
        options["organ_parts"] = True
    if exact_spelling:
        options["spelling"] = False
    if curation is not None:
        options["extra_synonyms"] = str(Path(curation).resolve())  # Dask workers read it too
    gc.disable()  # start-up builds long-lived tables only: collections there find no garbage
    try:
        _import_spacy_without_torch()
        from ..text.extractor import Extractor

        extractor = Extractor(path, label_set=label_set, **options)
    finally:
        gc.enable()
    gc.freeze()  # and later collections need not scan them again
    gc.set_threshold(50_000, *gc.get_threshold()[1:])  # rows are short-lived: collect young objects less often
    skipped = 0
    with ExitStack() as stack:
        handle = stack.enter_context(atomic_output(out, binary=fmt in BINARY_FORMATS))
        errors = stack.enter_context(atomic_output(errors_path)) if errors_path else None

        def log_error(error: RowError) -> None:
            nonlocal skipped
            skipped += 1
            if errors is None:
                click.echo(f"radminer: skipped {error}", err=True)
            else:
                errors.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")

        writer = make_writer(fmt, handle, space=extractor.label_space, per=per)
        if engine == "dask":
            from ..engines import dask as engine_dask

            client = stack.enter_context(engine_dask.connect(scheduler, workers=jobs))
            ddf = engine_dask.read_reports(
                input_path, text_columns=text_columns, id_column=id_column, partitions=partitions, encoding=encoding
            )
            results = engine_dask.encode(
                ddf, writer.encoder, client=client, text_columns=text_columns, id_column=id_column,
                ontology=path, label_set=label_set, per=per, **options,
            )  # fmt: skip
        else:
            reports = stack.enter_context(
                open_reports(
                    input_path,
                    text_columns=text_columns,
                    id_column=id_column,
                    on_error=log_error if on_error == "skip" else None,
                    encoding=encoding,
                )
            )
            items = ((r.id, r.text) for r in reports)
            pairs = extract_texts(items, extractor=extractor, encode=writer.encoder, jobs=jobs, per=per)
            results = (encoded for _, encoded in pairs)
        show = sys.stderr.isatty() if progress is None else progress
        bar = stack.enter_context(tqdm(disable=not show, unit=" reports", file=sys.stderr, mininterval=0.5))
        for encoded in results:
            writer.write_encoded(encoded)
            bar.update()
        writer.close()
    if skipped:
        where = f", listed in {errors_path}" if errors_path else ""
        click.echo(f"radminer: skipped {skipped} unreadable row(s){where}", err=True)

