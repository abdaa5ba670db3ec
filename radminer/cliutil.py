"""What every command line of the project shares: one clear line for expected errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from .errors import RadminerError

__all__ = ["exit_cleanly"]

F = TypeVar("F", bound=Callable[..., Any])


def exit_cleanly(prog: str) -> Callable[[F], F]:
    """Decorate a command: a :class:`RadminerError` (lesion_model's errors included) becomes
    ``PROG: error: MESSAGE`` on stderr and exit 1; Ctrl-C becomes exit 130."""

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except RadminerError as exc:
                click.echo(f"{prog}: error: {exc}", err=True)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo(f"{prog}: interrupted", err=True)
                sys.exit(130)

        return wrapper  # type: ignore[return-value]

    return decorate
