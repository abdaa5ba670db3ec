"""What the lesion-* commands share: help layout, examples, progress bars, logging, the model extra.

They follow radminer's conventions: exit status 0 success, 1 error (one line on stderr, never a
traceback), 2 usage error, 130 interrupted; ``-h``/``--help`` with an example; progress bars on
stderr only when it is a terminal (``--progress``/``--no-progress`` decide, and ``TQDM_DISABLE``
turns them off by default). The command modules import only click, radminer's light modules and
lesion_model's configurations (no torch): torch, pandas, SimpleITK and matplotlib (the ``model``
extra) are imported inside the commands, so that ``--help`` answers at once and a missing extra
is one line naming ``pip install 'radminer[model]'``.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from radminer.cli.support import exit_cleanly

from ..errors import LesionModelError

__all__ = [
    "CONTEXT",
    "default",
    "epilog",
    "exit_cleanly",
    "progress_option",
    "require_model_extra",
    "setup_logging",
    "show_progress",
]

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_FALSE = {"", "0", "false", "no", "off"}


def show_progress(flag: bool | None) -> bool:
    """Whether to draw progress bars: as asked, else when stderr is a terminal and ``TQDM_DISABLE``
    is unset (or false)."""
    if flag is not None:
        return flag
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in _FALSE:
        return False
    return sys.stderr.isatty()


def require_model_extra(*modules: str) -> None:
    """Import ``modules`` (packages of the ``model`` extra); one clear error when one is missing."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise LesionModelError(
                f"{name} is not installed; the lesion-* commands need the model extra: pip install 'radminer[model]'"
            ) from None


def setup_logging(prog: str, verbose: bool | None = None) -> None:
    """Log to stderr: warnings as ``PROG: message`` (``verbose`` None), else INFO (DEBUG when
    ``verbose``) records with their time and logger."""
    if verbose is None:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=f"{prog}: %(message)s")
    else:
        level = logging.DEBUG if verbose else logging.INFO
        logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def progress_option(func: F) -> F:
    """The ``--progress/--no-progress`` option."""
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars on stderr (default: when stderr is a terminal and TQDM_DISABLE is unset).",
    )(func)


def epilog(*examples: str) -> str:
    """The help's ``Examples:`` section."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)


def default(config: type[Any], name: str) -> Any:
    """The default of field ``name`` of the dataclass ``config``: the one place it is written."""
    for field in dataclasses.fields(config):
        if field.name == name:
            if field.default is dataclasses.MISSING:
                raise LookupError(f"{config.__name__}.{name} has no default")
            return field.default
    raise LookupError(f"{config.__name__} has no field {name!r}")
