"""Wheels built from the repository work outside it: the ontology ships as package data, and
the compiled build (mypyc, ``make native``) gives the golden outputs byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

GOLDEN = REPO / "tests" / "data" / "golden"
#: The modules the compiled build compiles (pyproject.toml, ``[tool.hatch.build.targets.wheel.hooks.mypyc]``).
COMPILED = (
    "text.analysis", "text.compose", "text.context.rules", "text.context.scopes", "text.context.refine",
    "text.context.relevance", "text.context.aggregation", "text.extractor", "ontology.graph", "text.matching",
    "io.reader", "engines.local", "io.writers", "text.sections",
)  # fmt: skip


def _install_wheel(tmp_path: Path, *, compiled: bool = False) -> tuple[Path, Path]:
    """Build a wheel from the tracked files (like a clean clone) and install it in a new venv
    whose dependencies come from this environment; return the venv and its site-packages."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to copy the tracked files")
    pytest.importorskip("hatchling")
    src = tmp_path / "src"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for name in files.stdout.splitlines():
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    env = {**os.environ, "HATCH_BUILD_HOOKS_ENABLE": "1" if compiled else "0"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("radminer-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # dependencies come from this environment; radminer itself only from the wheel
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    return venv, site


def test_wheel_installed_outside_the_repo_finds_its_ontology(tmp_path: Path) -> None:
    venv, site = _install_wheel(tmp_path)
    result = subprocess.run(
        [str(venv / "bin" / "radminer"), "ontology", "info", "--json"],
        cwd=tmp_path / "elsewhere",
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"terms": 338' in result.stdout
    assert str(site / "radminer" / "_ontologies" / "lesion_ontology.owl") in result.stdout
    assert '"compositions": ' in result.stdout and '"name": "lesanet171"' in result.stdout


_GOLDEN_SCRIPT = """
import importlib, json, sys
from radminer import Extractor
from radminer.io.writers import JsonlEncoder

origins = {name: importlib.import_module("radminer." + name).__file__ for name in sys.argv[2].split(",")}
with open(sys.argv[1] + "/inputs.jsonl", encoding="utf-8") as handle:
    items = [(item["id"], item["text"]) for item in map(json.loads, handle)]
out = {"origins": origins}
for name, options in [("context", {}), ("nocontext", {"context": False}), ("nobookmark", {"bookmark": None})]:
    encode, rows = JsonlEncoder(), Extractor(**options).pipe(text for _, text in items)
    out[name] = "".join(encode(key, found)[1] for (key, _), found in zip(items, rows, strict=True))
print(json.dumps(out))
"""


def test_compiled_wheel_gives_the_golden_outputs(tmp_path: Path) -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("the compiled build needs a C compiler")
    pytest.importorskip("hatch_mypyc")
    venv, _ = _install_wheel(tmp_path, compiled=True)
    elsewhere = tmp_path / "elsewhere"
    python = str(venv / "bin" / "python")
    found = subprocess.run(
        [python, "-c", _GOLDEN_SCRIPT, str(GOLDEN), ",".join(COMPILED)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(found.stdout)
    for name, origin in result["origins"].items():
        assert origin.endswith(".so"), f"radminer.{name} is not compiled: {origin}"
    for name in ("context", "nocontext", "nobookmark"):
        expected = (GOLDEN / f"inputs.{name}.jsonl").read_text(encoding="utf-8")
        assert result[name] == expected, f"compiled build: inputs.{name}.jsonl differs"
    out = elsewhere / "examples.jsonl"
    subprocess.run(
        [str(venv / "bin" / "radminer"), "extract", str(REPO / "examples" / "reports.csv"), "-o", str(out)],
        cwd=elsewhere,
        check=True,
        capture_output=True,
    )
    assert out.read_text(encoding="utf-8") == (GOLDEN / "examples.jsonl").read_text(encoding="utf-8")
