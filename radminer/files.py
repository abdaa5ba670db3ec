"""Output files that appear only complete, with the mode a plain ``open()`` gives them.

:func:`atomic_output` writes a regular file through a temporary file beside it (renamed
when the block succeeds), writes devices, FIFOs and sockets (``/dev/stdout``, a pipe)
directly, and follows a symbolic link to its target (the link stays). Errors of the file
system (a read-only folder, a full disk) become an :class:`~radminer.errors.OutputError`
naming the output.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

__all__ = ["atomic_output", "is_special", "same_file"]

_NEW_FILE_MODE = 0o666  # what open() asks for; the umask (and default ACLs) then apply


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are one existing file (through symbolic and hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class _RawOutput(io.FileIO):
    """The raw file under an output handle: its write errors name the output."""

    def __init__(self, fd: int, shown: Path) -> None:
        super().__init__(fd, "wb")
        self._shown = shown

    def write(self, data: Any, /) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            raise _output_error(self._shown, exc) from None


def _output_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def _writing(fd: int, shown: Path, *, binary: bool, encoding: str) -> Iterator[IO[Any]]:
    """A handle on ``fd``, closed at the end; on an error, closed without raising again."""
    buffered = io.BufferedWriter(_RawOutput(fd, shown))
    handle: IO[Any] = buffered if binary else io.TextIOWrapper(buffered, encoding=encoding, newline="")
    try:
        yield handle
    except BaseException:
        with contextlib.suppress(Exception):
            handle.close()  # what is still buffered may not be writable either
        raise
    handle.close()


def _open(path: Path, flags: int) -> int:
    return os.open(path, flags | os.O_WRONLY | os.O_CLOEXEC, _NEW_FILE_MODE)


def is_special(path: Path) -> bool:
    """Whether ``path`` (links followed) exists and is a device, FIFO or socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextlib.contextmanager
def atomic_output(path: Path | None, *, binary: bool = False, encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """A handle whose content replaces ``path`` only when the block ends without error.

    A regular file is written to ``.NAME.*.part`` beside it and renamed at the end; on any
    exception (Ctrl-C included) the temporary file is removed and ``path`` is left as it
    was. The file ends with the mode ``open()`` would give it: an existing file's own, else
    ``0o666`` less the umask. A symbolic link is followed (its target is replaced, the link
    kept). A device, FIFO or socket is written directly. ``path=None`` writes to stdout.
    File-system errors raise :class:`~radminer.errors.OutputError` naming ``path``.
    """
    if path is None:
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    if is_special(path):
        try:
            fd = _open(path, os.O_CREAT | os.O_TRUNC)
        except OSError as exc:
            raise _output_error(path, exc) from None
        with _writing(fd, path, binary=binary, encoding=encoding) as handle:
            yield handle
        return
    target = Path(os.path.realpath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else None
        fd, tmp = _temporary(target)
    except OSError as exc:
        raise _output_error(path, exc) from None
    try:
        with _writing(fd, path, binary=binary, encoding=encoding) as handle:
            yield handle
        try:
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise _output_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temporary(target: Path) -> tuple[int, Path]:
    """A new file ``.NAME.*.part`` beside ``target``, created as ``open()`` would create it."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            return _open(tmp, os.O_CREAT | os.O_EXCL), tmp
        except FileExistsError:
            continue
