"""Output files that appear only complete: write to a temporary file, then rename."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_output"]


@contextlib.contextmanager
def atomic_output(path: Path | None, *, binary: bool = False, encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """A handle whose content replaces ``path`` only when the block ends without error.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is left
    as it was. ``path=None`` writes to stdout.
    """
    if path is None:
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        handle: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
        with handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
