"""What the tests of ``radminer extract`` share: running it in process and reading its JSONL."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from radminer.cli import main


def run(*args: object) -> Result:
    """``radminer extract ARGS`` in process (exceptions propagate)."""
    return CliRunner().invoke(main, ["extract", *map(str, args)], catch_exceptions=False)


def records(path: Path) -> list[dict]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
