"""``extract_dataframe``: extraction for pandas users, one output row per lesion (or per sentence)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io.reader import check_columns, join_texts
from ..io.writers import RECORD_FIELDS, SENTENCE_FIELDS
from .local import TextExtractor, extract_texts

if TYPE_CHECKING:
    import pandas as pd

    from ..ontology.graph import LabelGraph
    from ..text.mentions import LesionLabels

__all__ = ["cell_text", "extract_dataframe"]


def extract_dataframe(
    df: pd.DataFrame,
    *,
    text_columns: Sequence[Hashable] = ("text",),
    id_column: Hashable | None = "id",
    extractor: TextExtractor | None = None,
    ontology: str | Path | LabelGraph | None = None,
    label_set: str | Path | Sequence[str] = "all",
    bookmark: str | None = None,
    jobs: int = 1,
    chunk_size: int = 256,
    per: str = "report",
) -> pd.DataFrame:
    """Extract the lesion labels of each row of ``df``.

    Returns a DataFrame with the columns ``id, bookmark, sentence, labels, uncertain,
    negated, mentions`` (the JSONL record of ``radminer extract``; lists as Python lists,
    ``mentions`` as dicts), one row per bookmark, or per report without bookmarks, in
    the order of ``df``. ``text_columns`` are joined with a blank line (missing and
    empty cells left out); offsets refer to the joined text. ``id_column=None`` takes
    the index as id. ``extractor`` is used as given; otherwise one is built from
    ``ontology``, ``label_set`` and ``bookmark``. ``jobs``: worker processes.
    ``per="sentence"``: one row per sentence instead, with the columns ``id, sentence_index,
    start, end, section, sentence, labels, uncertain, negated, mentions``
    (:meth:`radminer.Extractor.sentences`).
    """
    import pandas as pd

    wanted = [*text_columns] if id_column is None else [id_column, *text_columns]
    check_columns([str(c) for c in df.columns], [str(c) for c in wanted], source="the DataFrame")
    if extractor is None:
        from ..text.extractor import Extractor

        extractor = (  # bookmark=None: the Extractor's default bookmark
            Extractor(ontology, label_set=label_set)
            if bookmark is None
            else Extractor(ontology, label_set=label_set, bookmark=bookmark)
        )
    ids = df.index if id_column is None else df[id_column]
    cells = zip(*(df[column] for column in text_columns), strict=True)
    texts = (join_texts(cell_text(value) for value in row) for row in cells)
    # (id as pandas gives it: a cell of id_column or an index label, rows of its report)
    results: Iterator[tuple[Any, list[LesionLabels]]] = extract_texts(
        zip(ids, texts, strict=True), extractor=extractor, jobs=jobs, chunk_size=chunk_size, per=per
    )
    records: list[dict[str, Any]] = [row.to_dict(report_id) for report_id, rows in results for row in rows]
    return pd.DataFrame.from_records(records, columns=list(SENTENCE_FIELDS if per == "sentence" else RECORD_FIELDS))


def cell_text(value: object) -> str:
    """A cell as text: missing values (None, NaN, NA) are empty."""
    import pandas as pd

    if isinstance(value, str):
        return value
    return "" if pd.isna(value) else str(value)  # type: ignore[arg-type]
