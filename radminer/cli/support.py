"""What every command line of the project shares: one clear line for expected errors and for
radminer's warnings, and termination signals handled as Ctrl-C is."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from functools import wraps
from types import FrameType
from typing import Any, TextIO, TypeVar

import click

from ..errors import RadminerError, RadminerWarning

__all__ = ["TERMINATING_SIGNALS", "Interrupted", "exit_cleanly", "terminating_signals_interrupt"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Signals that stop a command the way Ctrl-C (SIGINT) does: cleanup, then exit 128 + signal.
TERMINATING_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A termination signal, raised where the program is so that it cleans up as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    for other in TERMINATING_SIGNALS:  # a second signal must not break the cleanup of the first
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def terminating_signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (a ``KeyboardInterrupt``);
    the previous handlers come back after it. Only in the main thread (elsewhere: nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in TERMINATING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _one_line_warnings(prog: str, fallback: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints a :class:`RadminerWarning` as ``PROG: warning: MESSAGE``."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, RadminerWarning):
            click.echo(f"{prog}: warning: {message}", err=True)
        else:
            fallback(message, category, filename, lineno, file, line)

    return show


def exit_cleanly(prog: str) -> Callable[[_F], _F]:
    """Decorate a command: a :class:`RadminerError` (lesion_model's errors included) or an
    ``OSError`` becomes ``PROG: error: MESSAGE`` on stderr and exit 1; Ctrl-C becomes exit 130, SIGTERM and SIGHUP
    exit 128 + signal, each after the same cleanup (``finally`` blocks and context managers run).
    A :class:`RadminerWarning` is shown as ``PROG: warning: MESSAGE`` (one line, no source line)."""

    def decorate(func: _F) -> _F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                with terminating_signals_interrupt(), warnings.catch_warnings():
                    warnings.showwarning = _one_line_warnings(prog, warnings.showwarning)
                    return func(*args, **kwargs)
            except RadminerError as exc:
                click.echo(f"{prog}: error: {exc}", err=True)
                sys.exit(1)
            except BrokenPipeError:
                raise  # stdout closed by its reader (`| head`): click exits quietly
            except OSError as exc:  # an I/O error no code anticipated: a vanished file, a failing disk
                where = f"{exc.filename}: " if exc.filename is not None else ""
                click.echo(f"{prog}: error: {where}{exc.strerror or exc}", err=True)
                sys.exit(1)
            except KeyboardInterrupt as exc:
                signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
                name = "interrupted" if signum == signal.SIGINT else f"terminated ({signal.Signals(signum).name})"
                click.echo(f"{prog}: {name}", err=True)
                sys.exit(128 + signum)

        return wrapper  # type: ignore[return-value]

    return decorate
