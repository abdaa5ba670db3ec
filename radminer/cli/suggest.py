"""``radminer suggest``: the words of a reports file that the vocabulary misses, for a curator.

It reads its input as ``radminer extract`` does (the same reader, options and errors: those
options are ``extract``'s own) and writes ``synonyms.csv`` rows with evidence and an empty
``accept`` column (docs/curation.md, "Suggest, review, accept").
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from .commands import _check_encoding, _fail_cleanly, _import_spacy_without_torch, _refuse_overwriting, extract

_SHARED = {p.name: p for p in extract.params}

_HELP = """Suggest synonyms for the words of INPUT that sit where labels sit but match no term.

INPUT is read as by 'radminer extract' (CSV, compressed CSV or Parquet; --text-column,
--id-column, --encoding). Candidates are the words and two-word phrases of lesion sentences
(the sentence of a bookmark; without bookmarks, each sentence holding a match) that no term
matches, less stop words, numbers, units and negation / uncertainty words. Each gets a
proposed label: a location adjective on a body part's stem (periportal -> porta hepatis), part
of one label's names or synonyms, or a misspelling of a label's word.

\b
Output (CSV; stdout without -o): the columns of ontologies/curation/synonyms.csv
  term, synonym, kind, note
then the evidence
  frequency, document_frequency, mentions_changed (lesion rows whose labels the
  row would change), proposal (location, synonym, misspelling, or empty: none),
  examples (up to 3 sentences, the word in brackets)
and 'accept', empty: write yes in it and pass the file to
'radminer extract --curation FILE'. Rows with a proposal come first, by mentions
changed; words without one follow when they occur at least --min-count times.

Exit status: 0 success; 1 error (bad input, unreadable row, broken ontology); 2 usage
error; 130 interrupted: no output file is left behind.
"""


__all__ = ["suggest"]

@click.command(help=_HELP, short_help="Suggest synonyms for the words the vocabulary misses.")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output CSV (default: stdout).")
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Least frequency of a word listed without a proposed label.",
)
@_fail_cleanly
def suggest(
    input_path: str,
    output: str | None,
    text_columns: tuple[str, ...],
    id_column: str,
    encoding: str,
    path: str | None,
    curation: str | None,
    bookmark: str | None,
    context_rules: str | None,
    sections: str | None,
    min_count: int,
    progress: bool | None,
) -> None:
    from tqdm import tqdm

    from ..files import atomic_output
    from ..io.reader import open_reports

    out = Path(output) if output else None
    _refuse_overwriting(input_path, out)
    if not Path(input_path).is_file():
        raise click.BadParameter(f"file {input_path!r} does not exist", param_hint="'INPUT'")
    _check_encoding(encoding)
    gc.disable()
    try:
        _import_spacy_without_torch()
        from ..ontology import load_ontology
        from ..text.context import ContextRules
        from ..text.suggest import Suggester, write_suggestions

        graph = load_ontology(path, extra_synonyms=curation)
        rules = ContextRules.from_file(context_rules) if context_rules else None
        suggester = Suggester(
            graph, bookmark="BOOKMARK" if bookmark is None else bookmark, rules=rules, sections=sections
        )
    finally:
        gc.enable()
    gc.freeze()
    show = sys.stderr.isatty() if progress is None else progress
    with (
        open_reports(input_path, text_columns=text_columns, id_column=id_column, encoding=encoding) as reports,
        tqdm(disable=not show, unit=" reports", file=sys.stderr, mininterval=0.5) as bar,
    ):
        for _ in suggester.feed(r.text for r in reports):
            bar.update()
    with atomic_output(out) as handle:
        write_suggestions(suggester.suggestions(min_count=min_count), handle)


_NAMES = ("text_columns", "id_column", "encoding", "path", "curation", "bookmark", "context_rules", "sections")
suggest.params[2:2] = [_SHARED[name] for name in _NAMES]
suggest.params.append(_SHARED["progress"])
