"""docs/reliability.md names only tests that exist (a renamed or removed test shows up here)."""

from __future__ import annotations

import re

from conftest import REPO

DOC = REPO / "docs" / "reliability.md"
#: `test_file.py::test_name`, or `::test_name` for the file named before it in the same cell.
REFERENCE = re.compile(r"`(test_\w+\.py)?::(\w+)`|`(test_\w+\.py)` \(all\)")


def test_every_test_named_in_reliability_md_exists() -> None:
    named, missing = 0, []
    for row in DOC.read_text(encoding="utf-8").splitlines():
        if not row.startswith("|"):
            continue
        file = None
        for cell in row.split("|"):
            for match in REFERENCE.finditer(cell):
                file = match.group(1) or match.group(3) or file
                assert file is not None, f"a test named without its file in: {row}"
                source = (REPO / "tests" / file).read_text(encoding="utf-8")
                named += 1
                if match.group(2) and not re.search(rf"^def {match.group(2)}\(", source, flags=re.MULTILINE):
                    missing.append(f"{file}::{match.group(2)}")
    assert named > 50 and missing == []
