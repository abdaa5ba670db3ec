"""Run an extractor over a stream of reports, in this process or in worker processes.

Reports go in chunks. With ``jobs > 1`` the chunks go to a pool of processes that each
receive the extractor and the encoder once (the pool's initializer; inherited through ``fork`` where
the platform has it, pickled otherwise), and results come back in input order. At most
``2 * jobs`` chunks are in flight, so memory stays flat on any input.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ..errors import InputError, RadminerError
from ..text.extractor import chunks
from ..text.mentions import LesionLabels, per_sentence

if TYPE_CHECKING:
    from ..text.extractor import Extractor

__all__ = ["EMPTY_ROW", "TextExtractor", "extract_texts"]

_K = TypeVar("_K")
_T = TypeVar("_T")

#: The row of a report that yields none (an empty text): every report gives at least one row.
EMPTY_ROW = LesionLabels(bookmark=None, sentence="")


class TextExtractor(Protocol):
    """What the runner needs of :class:`radminer.Extractor`."""

    def pipe(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[list[LesionLabels]]: ...


def extract_texts(
    items: Iterable[tuple[_K, str]],
    *,
    extractor: TextExtractor,
    encode: Callable[[_K, list[Any]], _T] | None = None,
    jobs: int = 1,
    chunk_size: int = 256,
    per: str = "report",
) -> Iterator[tuple[_K, _T]]:
    """``(key, encode(key, rows))`` for each ``(key, text)`` of ``items``, in input order.

    ``rows`` holds at least one row (:data:`EMPTY_ROW` for a text that yields none);
    without ``encode`` the rows themselves are given. ``per="sentence"``: the rows are
    :class:`~radminer.mentions.SentenceLabels` (:meth:`radminer.Extractor.pipe_sentences`;
    none for a text without a sentence). ``jobs``: number of worker
    processes (1: none), which also run ``encode`` (a picklable callable, such as a
    :class:`radminer.io.writers.Encoder`), so that the results cost little to send back.
    The output depends on neither ``jobs`` nor ``chunk_size``. With ``jobs > 1`` the
    workers start when this is called.
    """
    if jobs < 1 or chunk_size < 1:
        raise InputError(f"jobs and chunk_size must be at least 1, got {jobs} and {chunk_size}")
    batches = chunks(items, chunk_size)
    task = _Task(extractor, encode, sentences=per_sentence(per))
    if task.sentences and not task.named:
        raise InputError(f"per='sentence' needs a radminer Extractor, found {type(extractor).__name__}")
    if jobs == 1:
        return (pair for chunk in batches for pair in zip((k for k, _ in chunk), task(chunk), strict=True))
    return _in_pool(task, batches, jobs=jobs)


class _Task:
    """Extract, then encode, the reports of one chunk. radminer's Extractor is given the keys,
    so that its warning about a hostile text names the report."""

    def __init__(
        self, extractor: TextExtractor, encode: Callable[[Any, list[Any]], Any] | None, *, sentences: bool = False
    ) -> None:
        from ..text.extractor import Extractor

        self.extractor = extractor
        self.encode = encode
        self.named = isinstance(extractor, Extractor)
        self.sentences = sentences

    def __call__(self, chunk: list[tuple[Any, str]]) -> list[Any]:
        texts = [text for _, text in chunk]
        found: Iterable[list[Any]]
        if self.named:
            names = [str(key) for key, _ in chunk]
            extractor = cast("Extractor", self.extractor)
            mine = extractor.pipe_sentences if self.sentences else extractor.pipe
            found = mine(texts, batch_size=len(texts), names=names)
        else:
            found = self.extractor.pipe(texts, batch_size=len(texts))
        rows: list[list[Any]] = list(found) if self.sentences else [rows or [EMPTY_ROW] for rows in found]
        if self.encode is None:
            return rows
        encode = self.encode
        return [encode(key, found) for (key, _), found in zip(chunk, rows, strict=True)]


def _in_pool(task: _Task, chunks: Iterator[list[tuple[_K, str]]], *, jobs: int) -> Iterator[tuple[_K, Any]]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(task,))
    pool.submit(int).result()  # start the workers now, before the caller starts threads
    return _collect(pool, chunks, jobs=jobs)


def _collect(
    pool: ProcessPoolExecutor, chunks: Iterator[list[tuple[_K, str]]], *, jobs: int
) -> Iterator[tuple[_K, Any]]:
    pending: deque[tuple[list[_K], Future[list[Any]]]] = deque()
    try:
        for chunk in chunks:
            pending.append(([key for key, _ in chunk], pool.submit(_work, chunk)))
            if len(pending) >= 2 * jobs:
                keys, future = pending.popleft()
                yield from zip(keys, future.result(), strict=True)
        while pending:
            keys, future = pending.popleft()
            yield from zip(keys, future.result(), strict=True)
    except BrokenProcessPool as exc:
        pool.shutdown(wait=True, cancel_futures=True)
        raise RadminerError(f"a worker process died ({exc}); try fewer --jobs if memory is short") from exc
    except BaseException:  # an error, Ctrl-C or SIGTERM, or the caller stopped early: stop the workers now
        _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


#: The signal by which the parent makes its workers give up their chunks (see :func:`_stop_task`).
_STOP = signal.SIGUSR1


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Make each worker give up the chunk it is mining, and any later one, rather than wait for them.

    A signal rather than a kill: a worker killed while it sends a result leaves half a message
    in the result pipe, on which the pool's thread then waits for ever.
    """
    processes: dict[int, multiprocessing.Process] = getattr(pool, "_processes", None) or {}
    for pid in list(processes):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _STOP)


_worker_task: _Task | None = None
_worker_state = {"running": False, "stopped": False}


def _init_worker(task: _Task) -> None:
    """Keep the task (extractor and encoder) of this worker. Ctrl-C, SIGTERM and SIGHUP are the
    parent's to handle (it stops the workers with :data:`_STOP`); on Linux a worker dies with
    its parent."""
    global _worker_task
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(_STOP, _stop_task)
    if sys.platform == "linux":
        _die_with_parent()
    _worker_task = task


def _stop_task(signum: int, frame: FrameType | None) -> None:
    """The worker's :data:`_STOP` handler: the chunk being mined ends with ``KeyboardInterrupt``
    (the pool sends it back as that chunk's result), and so does any later one."""
    _worker_state["stopped"] = True
    if _worker_state["running"]:
        raise KeyboardInterrupt


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


def _work(chunk: list[tuple[Any, str]]) -> list[Any]:
    assert _worker_task is not None, "worker used without _init_worker"
    _worker_state["running"] = True
    try:
        if _worker_state["stopped"]:
            raise KeyboardInterrupt
        return _worker_task(chunk)
    finally:
        _worker_state["running"] = False
