"""JSON files of lesion_model: read one or fail with one line naming it, write one atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from radminer.files import atomic_output

from .errors import DataError

__all__ = ["read_json", "write_json"]


def read_json(path: Path, *, missing: str = "file is missing") -> Any:
    """The JSON value in ``path``; a :class:`DataError` naming the file when it is ``missing``
    (the phrase after the path) or not readable JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: {missing}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not readable JSON ({exc})") from exc


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON (one space) and a newline, atomically."""
    with atomic_output(path) as handle:
        handle.write(json.dumps(value, indent=1) + "\n")
