"""Run an extractor over a stream of reports, in this process or in worker processes.

Reports go in chunks. With ``jobs > 1`` the chunks go to a pool of processes that each
receive the extractor once (the pool's initializer; inherited through ``fork`` where
the platform has it, pickled otherwise), and results come back in input order. At most
``2 * jobs`` chunks are in flight, so memory stays flat on any input.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Protocol, TypeVar

from .errors import InputError, RadminerError
from .mentions import LesionLabels

__all__ = ["EMPTY_ROW", "TextExtractor", "extract_texts"]

K = TypeVar("K")

#: The row of a report that yields none (an empty text): every report gives at least one row.
EMPTY_ROW = LesionLabels(bookmark=None, sentence="")


class TextExtractor(Protocol):
    """What the runner needs of :class:`radminer.Extractor`."""

    def pipe(self, texts: Iterable[str], *, batch_size: int = ...) -> Iterator[list[LesionLabels]]: ...


def extract_texts(
    items: Iterable[tuple[K, str]],
    *,
    extractor: TextExtractor,
    jobs: int = 1,
    chunk_size: int = 256,
) -> Iterator[tuple[K, list[LesionLabels]]]:
    """``(key, rows)`` for each ``(key, text)`` of ``items``, in input order.

    ``rows`` holds at least one row (:data:`EMPTY_ROW` for a text that yields none).
    ``jobs``: number of worker processes (1: none). The output depends on neither
    ``jobs`` nor ``chunk_size``. With ``jobs > 1`` the workers start when this is called.
    """
    if jobs < 1 or chunk_size < 1:
        raise InputError(f"jobs and chunk_size must be at least 1, got {jobs} and {chunk_size}")
    chunks = _chunks(items, chunk_size)
    if jobs == 1:
        return (pair for chunk in chunks for pair in _extract_chunk(extractor, chunk))
    return _in_pool(extractor, chunks, jobs=jobs)


def _chunks(items: Iterable[tuple[K, str]], size: int) -> Iterator[list[tuple[K, str]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _extract(extractor: TextExtractor, texts: list[str]) -> list[list[LesionLabels]]:
    return [rows or [EMPTY_ROW] for rows in extractor.pipe(texts, batch_size=len(texts))]


def _extract_chunk(extractor: TextExtractor, chunk: list[tuple[K, str]]) -> Iterator[tuple[K, list[LesionLabels]]]:
    return zip((key for key, _ in chunk), _extract(extractor, [text for _, text in chunk]), strict=True)


def _in_pool(
    extractor: TextExtractor, chunks: Iterator[list[tuple[K, str]]], *, jobs: int
) -> Iterator[tuple[K, list[LesionLabels]]]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(extractor,))
    pool.submit(int).result()  # start the workers now, before the caller starts threads
    return _collect(pool, chunks, jobs=jobs)


def _collect(
    pool: ProcessPoolExecutor, chunks: Iterator[list[tuple[K, str]]], *, jobs: int
) -> Iterator[tuple[K, list[LesionLabels]]]:
    pending: deque[tuple[list[K], Future[list[list[LesionLabels]]]]] = deque()
    try:
        for chunk in chunks:
            pending.append(([key for key, _ in chunk], pool.submit(_work, [text for _, text in chunk])))
            if len(pending) >= 2 * jobs:
                keys, future = pending.popleft()
                yield from zip(keys, future.result(), strict=True)
        while pending:
            keys, future = pending.popleft()
            yield from zip(keys, future.result(), strict=True)
    except BrokenProcessPool as exc:
        raise RadminerError(f"a worker process died ({exc}); try fewer --jobs if memory is short") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_worker_extractor: TextExtractor | None = None


def _init_worker(extractor: TextExtractor) -> None:
    """Keep the extractor of this worker; Ctrl-C is the parent's to handle."""
    global _worker_extractor
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_extractor = extractor


def _work(texts: list[str]) -> list[list[LesionLabels]]:
    assert _worker_extractor is not None, "worker used without _init_worker"
    return _extract(_worker_extractor, texts)
