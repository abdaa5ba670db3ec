"""Extraction on a Dask cluster: partition by partition, one :class:`~radminer.Extractor` per worker.

    >>> import dask.dataframe as dd
    >>> from distributed import Client
    >>> from radminer.engines.dask import extract
    >>> client = Client("tcp://scheduler:8786")                      # doctest: +SKIP
    >>> reports = dd.read_parquet("s3://bucket/reports/")             # doctest: +SKIP
    >>> extract(reports, text_columns=["findings", "impression"]).to_parquet("labels/")  # doctest: +SKIP

Tasks carry only the extractor's configuration (a small :class:`ExtractorSpec`); each
worker process builds the Extractor on its first task and keeps it in a module-level
cache for every later task (:func:`cache_info` counts the builds). So the ontology file
(when not the shipped one) must be readable at the same path on every worker, and the
workers must run the same radminer version as the client.

Needs the ``dask`` extra (``pip install 'radminer[dask]'``); ``import radminer`` never
imports dask.
"""

from __future__ import annotations

import gc
import logging
import pickle
import threading
from collections import deque
from collections.abc import Hashable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, RadminerError
from ..io.reader import COMPRESSIONS, PARQUET_SUFFIXES, check_columns, join_texts, text_codec
from ..io.writers import RECORD_FIELDS, SENTENCE_FIELDS, Encoded, Encoder
from ..text.mentions import per_sentence

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

    from ..text.extractor import Extractor

__all__ = [
    "LOCAL_CLUSTER_CONFIG",
    "PARTITIONS_PER_THREAD",
    "ExtractorSpec",
    "cache_info",
    "connect",
    "encode",
    "extract",
    "read_reports",
]

logger = logging.getLogger(__name__)

#: Partitions made per worker thread when the input has fewer (see :func:`encode`).
PARTITIONS_PER_THREAD = 4
#: Dask settings of the local cluster that :func:`connect` starts (its scheduler and nannies
#: run in the client's process). On a machine whose every core runs a worker, what the
#: cluster spends beside the tasks is taken from them: the statistical profiler (a dashboard
#: feature; this cluster has no dashboard) is off, and the event-loop, system and memory
#: monitors poll less often (their costs: benchmarks/README.md, "Dask 1 → 2 workers").
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
}
_CSV_SUFFIXES = (".csv", *(f".csv{suffix}" for suffix, _ in COMPRESSIONS.values()))


def _require_dask() -> None:
    """Raise a clear :class:`RadminerError` when dask (with dataframe and distributed) is missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise RadminerError(
            f"the dask engine needs dask[dataframe,distributed] ({exc}): install the extra with "
            "pip install 'radminer[dask]'"
        ) from exc


@dataclass(frozen=True)
class ExtractorSpec:
    """The configuration of the Extractor of a job: what tasks carry instead of the Extractor.

    ``ontology`` and a ``label_set`` that names a file are made absolute, since workers
    read them (at the same path). ``options``: further :class:`~radminer.Extractor` keyword
    arguments, as sorted ``(name, value)`` pairs (hashable: the key of the worker cache).
    """

    ontology: str | None = None
    label_set: str | tuple[str, ...] = "all"
    bookmark: str | None = "BOOKMARK"
    options: tuple[tuple[str, Hashable], ...] = ()

    @classmethod
    def create(
        cls,
        ontology: str | Path | None = None,
        *,
        label_set: str | Path | Sequence[str] = "all",
        bookmark: str | None = "BOOKMARK",
        **options: Hashable,
    ) -> ExtractorSpec:
        """A spec from :class:`~radminer.Extractor`'s arguments (an ontology given as a path)."""
        if ontology is not None and not isinstance(ontology, (str, Path)):
            raise InputError(
                f"ontology: the dask engine takes None or a path that every worker can read, "
                f"found {type(ontology).__name__}"
            )
        if isinstance(label_set, (str, Path)):
            label_set = _absolute(label_set) if Path(label_set).is_file() else str(label_set)
        else:
            label_set = tuple(label_set)
        return cls(
            ontology=None if ontology is None else _absolute(ontology),
            label_set=label_set,
            bookmark=bookmark,
            options=tuple(sorted(options.items())),
        )

    def build(self) -> Extractor:
        """A new Extractor of this configuration."""
        from ..text.extractor import Extractor

        label_set = list(self.label_set) if isinstance(self.label_set, tuple) else self.label_set
        return Extractor.from_config(
            {"ontology": self.ontology, "label_set": label_set, "bookmark": self.bookmark, **dict(self.options)}
        )


def _absolute(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


# -- the per-worker cache ---------------------------------------------------------------------

_lock = threading.Lock()
_extractors: dict[ExtractorSpec, Extractor] = {}
_counts = {"builds": 0, "partitions": 0}


def _extractor(spec: ExtractorSpec) -> Extractor:
    """The Extractor of ``spec`` in this process, built on first use (once, whatever the threads)."""
    with _lock:
        _counts["partitions"] += 1
        extractor = _extractors.get(spec)
        if extractor is None:
            logger.info("building the extractor of %s in this worker", spec)
            extractor = _extractors[spec] = _build(spec)
            _counts["builds"] += 1
        return extractor


def _build(spec: ExtractorSpec) -> Extractor:
    """``spec.build()`` with the garbage collector paused (the build makes no garbage worth
    collecting); the collector's state is restored after, and nothing else of the worker's
    process is changed (``radminer extract`` also freezes its tables, in its own process)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return spec.build()
    finally:
        if enabled:
            gc.enable()


def cache_info() -> dict[str, int]:
    """This process's extractor cache: ``builds`` (Extractors built), ``cached`` (held now) and
    ``partitions`` (partitions served). Run it on every worker with ``client.run(cache_info)``."""
    with _lock:
        return {**_counts, "cached": len(_extractors)}


# -- the tasks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What a partition task needs: the columns to read, the extractor's spec and what a row stands for."""

    text_columns: tuple[str, ...]
    id_column: str
    spec: ExtractorSpec
    per: str = "report"


def _extract_partition(part: pd.DataFrame, job: _Job, meta: pd.DataFrame) -> pd.DataFrame:
    from .dataframe import extract_dataframe

    out = extract_dataframe(
        part, text_columns=job.text_columns, id_column=job.id_column, extractor=_extractor(job.spec), per=job.per
    )
    return out.astype(meta.dtypes.to_dict())


def _encode_partition(part: pd.DataFrame, job: _Job, encoder: Encoder) -> bytes:
    """The encoded reports of ``part``, a pickled ``list[Encoded]``.

    One bytes object, not the list: distributed serializes a list element by element
    (a pickle call, metrics and type dispatch per report, on the worker and again on the
    client), which cost more CPU than the client's writing; bytes go as one frame.
    """
    from .dataframe import cell_text
    from .local import extract_texts

    cells = zip(*(part[column] for column in job.text_columns), strict=True)
    items = zip(part[job.id_column], (join_texts(cell_text(v) for v in row) for row in cells), strict=True)
    found = extract_texts(items, extractor=_extractor(job.spec), encode=encoder, per=job.per)
    encoded = [encoded for _, encoded in found]
    return pickle.dumps(encoded, protocol=pickle.HIGHEST_PROTOCOL)


def _job(
    ddf: dd.DataFrame,
    text_columns: Sequence[str],
    id_column: str,
    ontology: str | Path | None,
    label_set: str | Path | Sequence[str],
    bookmark: str | None,
    options: dict[str, Hashable],
    per: str = "report",
) -> _Job:
    _require_dask()
    if not text_columns:
        raise InputError("expected at least one text column, got none")
    check_columns([str(c) for c in ddf.columns], [id_column, *text_columns], source="the Dask DataFrame")
    spec = ExtractorSpec.create(ontology, label_set=label_set, bookmark=bookmark, **options)
    per_sentence(per)  # an error on the client, not in each task
    return _Job(tuple(text_columns), id_column, spec, per)


# -- public API ------------------------------------------------------------------------------


def extract(
    ddf: dd.DataFrame,
    *,
    text_columns: Sequence[str] = ("text",),
    id_column: str = "id",
    ontology: str | Path | None = None,
    label_set: str | Path | Sequence[str] = "all",
    bookmark: str | None = "BOOKMARK",
    per: str = "report",
    **options: Hashable,
) -> dd.DataFrame:
    """The lesion labels of each row of ``ddf``, lazily, one output row per lesion (``per="sentence"``:
    per sentence, the columns of :func:`radminer.extract_dataframe` with ``per="sentence"``).

    The columns are those of :func:`radminer.extract_dataframe` (``id, bookmark, sentence,
    labels, uncertain, negated, mentions``; lists as Python lists, ``mentions`` as dicts),
    with ``bookmark`` as nullable ``Int64`` in every partition. Rows keep the order of
    ``ddf`` within and across partitions; the index restarts at 0 in each partition. The
    rows equal those of :func:`radminer.extract_dataframe` on the whole data. ``ontology``,
    ``label_set``, ``bookmark`` and ``options`` are :class:`~radminer.Extractor`'s arguments;
    the Extractor is built once per worker process (see :func:`cache_info`).
    """
    import pandas as pd

    job = _job(ddf, text_columns, id_column, ontology, label_set, bookmark, options, per)
    fields, types = (
        (SENTENCE_FIELDS, {"sentence_index": "int64", "start": "int64", "end": "int64"})
        if per_sentence(per)
        else (RECORD_FIELDS, {"bookmark": "Int64"})
    )
    meta = pd.DataFrame({name: pd.Series(dtype=object) for name in fields}).astype(
        {"id": ddf.dtypes[id_column], **types, "sentence": "str"}
    )
    return ddf.map_partitions(_extract_partition, job, meta, meta=meta, enforce_metadata=False)


def encode(
    ddf: dd.DataFrame,
    encoder: Encoder,
    *,
    client: Client,
    text_columns: Sequence[str] = ("text",),
    id_column: str = "id",
    ontology: str | Path | None = None,
    label_set: str | Path | Sequence[str] = "all",
    bookmark: str | None = "BOOKMARK",
    per: str = "report",
    **options: Hashable,
) -> Iterator[Encoded]:
    """``encoder(id, rows)`` of each report of ``ddf``, computed on ``client``'s workers, in order.

    What ``radminer extract --engine dask`` feeds its writer (:mod:`radminer.io.writers`), so
    the output is the local engine's, byte for byte. Ids should be strings (see
    :func:`read_reports`). Every partition is submitted at once (shared inputs are read
    once); the client holds one partition's results at a time, the workers those done
    but not yet taken. Extractor arguments and ``per`` as in :func:`extract` (``encoder``'s
    rows are of that kind).
    """
    import dask

    job = _job(ddf, text_columns, id_column, ontology, label_set, bookmark, options, per)
    threads = sum(client.nthreads().values())
    if ddf.npartitions < threads:
        ddf = ddf.repartition(npartitions=PARTITIONS_PER_THREAD * threads)
    task = dask.delayed(_encode_partition)
    futures = deque(client.compute([task(part, job, encoder) for part in ddf.to_delayed()]))
    try:
        while futures:
            yield from pickle.loads(futures.popleft().result())
    finally:
        for future in futures:
            future.cancel()


def read_reports(
    path: str | Path,
    *,
    text_columns: Sequence[str] = ("text",),
    id_column: str = "id",
    partitions: int | None = None,
    encoding: str = "utf-8",
) -> dd.DataFrame:
    """The id and text columns of the reports at ``path`` (a file, a glob or a Parquet folder).

    CSV (``.csv``, optionally compressed) is read one partition per file (so that a quoted
    field may hold newlines), every cell as a string, empty cells as empty strings, in
    ``encoding`` (UTF-8 may start with a BOM). Parquet
    (``.parquet``, ``.pq`` or a folder) is read as dask splits it, ids made strings.
    ``partitions``: repartition to that many. Missing columns raise :class:`InputError`
    listing those present.
    """
    _require_dask()
    import dask.dataframe as dd

    codec, _ = text_codec(encoding)
    name = str(path)
    csv = name.lower().endswith(_CSV_SUFFIXES)
    if not csv and not name.lower().endswith(PARQUET_SUFFIXES) and not Path(name).is_dir():
        raise InputError(f"cannot tell the format of {name}: expected a path or glob ending in .csv or .parquet")
    try:
        if csv:
            ddf = dd.read_csv(name, blocksize=None, dtype=str, keep_default_na=False, encoding=codec)
        else:
            ddf = dd.read_parquet(name)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1]  # dask prefixes pandas' message with a line of its own
        raise InputError(f"cannot read reports {name}: {reason}") from exc
    columns = list(dict.fromkeys([id_column, *text_columns]))
    check_columns([str(c) for c in ddf.columns], columns, source=name)
    ddf = ddf[columns]
    if not csv:
        ddf = ddf.assign(**{id_column: ddf[id_column].astype(str)})
    if partitions is not None:
        ddf = ddf.repartition(npartitions=partitions)
    return ddf


@contextmanager
def connect(scheduler: str | None = None, *, workers: int = 1) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler`` or, without, of a local cluster of ``workers``
    processes with one thread each (no dashboard, settings :data:`LOCAL_CLUSTER_CONFIG`); the
    local cluster closes with the block."""
    _require_dask()
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except OSError as exc:
            raise RadminerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with client:
            yield client
        return
    with ExitStack() as stack:
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # read as the servers start; nannies pass it on
            cluster = stack.enter_context(
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            )
        yield stack.enter_context(Client(cluster))
