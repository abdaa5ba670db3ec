"""Docs that cannot drift: the examples of README.md and docs/*.md run here, and what they name exists.

What runs (each docs file in its own temporary working directory, holding copies of the
repository's ``examples/``, ``ontologies/`` and ``tests/data/``; the blocks of one file run in
order, in one Python namespace, so a later block may use what an earlier one made):

- a ```python block whose lines start with ``>>>``: a doctest; each output shown is compared
  with :mod:`doctest` (``ELLIPSIS``: ``...`` stands for any text; ``NORMALIZE_WHITESPACE``:
  output may be wrapped). A line ending with ``# doctest: +SKIP`` is not run;
- any other ```python block: executed; it passes when it raises nothing;
- a ```console block: a shell session. Each ``$ COMMAND`` line (continued by lines after a
  trailing ``\\``) runs under bash with this environment's ``bin/`` first on ``PATH`` (so
  ``radminer`` is this checkout's), and its stdout and stderr together are compared, as a
  doctest output, with the lines shown under it up to the next ``$``. Shell examples that are
  synopses or need the user's data go in plain ``` blocks, which are not run (but their
  ``radminer`` / ``lesion-*`` options are checked, below).

The working directory also holds stand-ins for the files the examples say a user brings
(``STAND_INS``: ``RadLex.owl`` is a miniature in the official RadLex layout, ``my_rules.json`` a
copy of the shipped context rules).

An HTML comment on the line before a fence (invisible on GitHub) says more, directives
separated by ``;``:

- ``<!-- doc-test: skip REASON -->``: not run (a fragment needing the user's files or a
  cluster). Few blocks may say so: ``MAX_SKIPPED`` in all.
- ``<!-- doc-test: needs torch, pandas -->``: run only when these modules can be imported
  (the ``model``, ``parquet`` or ``dask`` extra), else skipped; ``shared-data`` stands for the
  optional reference data of ``../shared/data`` (not shipped; see tests/conftest.py).
- ``<!-- doc-test: file NAME -->``: the block's text is written to NAME in the working
  directory before any block of the file runs (a vocabulary CSV shown in the docs is the one
  loaded).

Checked in every doc (README.md, docs/*.md, ontologies/README.md) and in every command's
``--help``:

- each relative link and each repository path named (``radminer/text/data/lemmas.csv``,
  ``tests/test_context.py::name``, ``docs/cli.md``) exists; a link's ``#anchor`` and a section
  cited as ``docs/x.md, "Heading"`` is a heading of that file;
- each dotted name of the packages in backticks (``radminer.text.analysis.MAX_SENTENCE_TOKENS``)
  imports;
- each ``--option`` of a ``radminer ...`` or ``lesion-* ...`` command line shown (in code
  blocks and inline code) is an option of that command;
- nothing cites ``DESIGN.md`` or ``../shared`` (files outside the repository).

And the doctests in the docstrings of radminer's and lesion_model's modules run too.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.metadata
import importlib.util
import os
import pkgutil
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from conftest import REPO, shared_data_dir

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Docs whose paths and names are checked (the runnable examples are in DOCS).
CHECKED = [*DOCS, REPO / "ontologies" / "README.md"]
#: Copied into each working directory, so examples can name the shipped files.
WORKDIR_COPIES = ("examples", "ontologies", "tests/data")
#: The files a user brings, as the examples name them: stand-ins in the working directory.
STAND_INS = {
    "RadLex.owl": "tests/data/radlex_mini.owl",  # the official RadLex OWL's layout, 11 classes
    "my_rules.json": "radminer/text/data/context_rules.json",  # a copy of the shipped rules
}
MAX_SKIPPED = 6
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: Top-level names of the repository: a path starting with one of them must exist.
TOP_LEVEL = ("radminer", "lesion_model", "docs", "tests", "benchmarks", "scripts", "examples", "ontologies")
FORBIDDEN = ("DESIGN.md", "../shared")

FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->$")


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the first line of content
    lang: str
    text: str
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of a markdown file, each with the directives of the comment before it."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang, start = match.group(1), match.group(2).lower(), i + 1
        end = start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        directives: dict[str, str] = {}
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(before)
        if marker:
            for part in marker.group(1).split(";"):
                key, _, value = part.strip().partition(" ")
                assert key in {"skip", "needs", "file"}, f"{doc.name}:{i}: unknown doc-test directive {key!r}"
                directives[key] = value.strip()
        found.append(Block(doc, start + 1, lang, "\n".join(lines[start:end]) + "\n", directives))
        i = end + 1
    return found


def prose(doc: Path) -> str:
    """The text of a markdown file without its fenced blocks."""
    lines, keep, fence = doc.read_text(encoding="utf-8").splitlines(), [], None
    for line in lines:
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            keep.append(line)
    return "\n".join(keep)


def inline_code(text: str) -> list[str]:
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]


# --------------------------------------------------------------------------------------------
# Running the examples


def missing_needs(block: Block) -> list[str]:
    missing = []
    for need in filter(None, (n.strip() for n in block.directives.get("needs", "").split(","))):
        if need == "shared-data":
            if not shared_data_dir().is_dir():
                missing.append(need)
        elif importlib.util.find_spec(need) is None:
            missing.append(need)
    return missing


def run_python(block: Block, namespace: dict) -> str | None:
    """Run one python block; return a failure report, or None."""
    if any(line.startswith(">>>") for line in block.text.splitlines()):
        test = doctest.DocTestParser().get_doctest(block.text, namespace, block.where, str(block.doc), block.line - 1)
        out: list[str] = []
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, out=out.append, clear_globs=False)
        namespace.update(test.globs)  # the doctest ran on a copy: later blocks see its names
        return "".join(out) or None
    try:
        exec(compile(block.text, block.where, "exec"), namespace)
    except Exception as error:
        return f"{block.where}: {type(error).__name__}: {error}"
    return None


def session(text: str) -> list[tuple[str, str]]:
    """``$ command`` lines (with their ``\\`` continuations) and the output shown under each."""
    steps: list[tuple[str, list[str]]] = []
    continued = False
    for line in text.splitlines():
        if continued:
            steps[-1] = (steps[-1][0] + "\n" + line, steps[-1][1])
        elif line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise AssertionError(f"console block not starting with '$ ': {line!r}")
        continued = line.endswith("\\") and not steps[-1][1]
    return [(command, "".join(f"{line}\n" for line in shown)) for command, shown in steps]


def run_console(block: Block, cwd: Path) -> str | None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(TQDM_DISABLE="1", COLUMNS="100", PYTHONIOENCODING="utf-8")
    checker = doctest.OutputChecker()
    for command, shown in session(block.text):
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        got = done.stdout + done.stderr
        if not checker.check_output(shown, got, FLAGS):
            example = doctest.Example(command, shown)
            return f"{block.where}: $ {command}\n" + checker.output_difference(example, got, FLAGS)
    return None


def workdir(tmp_path: Path, doc: Path) -> Path:
    for name in WORKDIR_COPIES:
        shutil.copytree(REPO / name, tmp_path / name)
    for name, source in STAND_INS.items():
        shutil.copy(REPO / source, tmp_path / name)
    for block in blocks(doc):
        if "file" in block.directives:
            (tmp_path / block.directives["file"]).write_text(block.text, encoding="utf-8")
    return tmp_path


def runnable(doc: Path) -> list[Block]:
    return [b for b in blocks(doc) if b.lang in {"python", "pycon", "console"} or "file" in b.directives]


@pytest.mark.parametrize("doc", [d for d in DOCS if runnable(d)], ids=lambda d: d.name)
def test_examples_of_the_docs_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = workdir(tmp_path, doc)
    monkeypatch.chdir(cwd)
    namespace: dict = {"__name__": f"docs_{doc.stem}"}
    failures, skipped = [], []
    for block in runnable(doc):
        if "skip" in block.directives:
            continue
        missing = missing_needs(block)
        if missing:
            skipped.append(f"{block.where} (needs {', '.join(missing)})")
            continue
        if "file" in block.directives:
            continue
        failure = run_console(block, cwd) if block.lang == "console" else run_python(block, namespace)
        if failure:
            failures.append(failure)
    assert not failures, "\n".join(failures)
    if skipped:
        pytest.skip("absent here: " + "; ".join(skipped))


def test_few_examples_are_left_unrun() -> None:
    left = [b.where for doc in DOCS for b in blocks(doc) if "skip" in b.directives]
    assert len(left) <= MAX_SKIPPED, f"more than {MAX_SKIPPED} doc examples marked skip: {left}"
    python = [b for doc in DOCS for b in blocks(doc) if b.lang == "python"]
    assert len(python) >= 8, "the docs' Python examples were not found"


# --------------------------------------------------------------------------------------------
# Module docstrings


def modules(package: str) -> list[str]:
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    return names


@pytest.mark.parametrize("package", ["radminer", "lesion_model"])
def test_doctests_of_the_modules(package: str) -> None:
    finder, failures, ran = doctest.DocTestFinder(), [], 0
    for name in modules(package):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] in {"radminer", "lesion_model"}:
                raise
            continue  # an optional extra (torch, dask, ...) is absent
        for test in finder.find(module, name):
            if not test.examples:
                continue
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            out: list[str] = []
            runner.run(test, out=out.append)
            ran += len(test.examples)
            failures += out
    assert not failures, "".join(failures)
    assert package == "lesion_model" or ran > 0


# --------------------------------------------------------------------------------------------
# What the docs name exists

PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOP_LEVEL)})/[\w.*/-]*[\w*])")
LINK = re.compile(r"\]\(([^)\s]+)\)")
SECTION = re.compile(r"((?:docs/)?[\w-]+\.md)`?\)?,?\s*\(?\s*\"([^\"]+)\"")
IMPORT = re.compile(r"^\W*from ((?:radminer|lesion_model)[\w.]*) import (?:\(([^)]*)\)|([\w, ]+)$)", re.M)
DOTTED = re.compile(r"^((?:radminer|lesion_model)(?:\.[A-Za-z_]\w*)+)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def headings(doc: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#+\s+(.*)$", prose(doc), flags=re.MULTILINE)]


def path_exists(name: str, doc: Path) -> bool:
    """Whether ``name`` (a path, a glob, ``file.py::test``) is in the repository, from its root or the doc's folder."""
    name = name.split("::")[0].rstrip(".,:;")
    for base in (REPO, doc.parent):
        if not (base / name).resolve().is_relative_to(REPO):
            continue
        if any(base.glob(name)) if "*" in name else (base / name).exists():
            return True
    return False


def help_texts() -> dict[str, str]:
    """The --help of every console script and every radminer subcommand."""
    from radminer.cli import main

    texts: dict[str, str] = {}

    def walk(command: click.Command, path: list[str]) -> None:
        # the command's own settings (-h): click caches the help option of the first context it sees
        with click.Context(command, info_name=" ".join(path), **command.context_settings) as ctx:
            texts[" ".join(path)] = command.get_help(ctx)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(main, ["radminer"])
    for script, command in console_scripts().items():
        if script != "radminer":
            walk(command, [script])
    return texts


def console_scripts() -> dict[str, click.Command]:
    scripts = {}
    for entry in importlib.metadata.distribution("radminer").entry_points:
        if entry.group == "console_scripts":
            scripts[entry.name] = entry.load()
    return scripts


@pytest.mark.parametrize("doc", CHECKED, ids=lambda d: str(d.relative_to(REPO)))
def test_every_path_and_link_named_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for name in PATH.findall(text):
        if not path_exists(name, doc):
            missing.append(name)
    for span in inline_code(prose(doc)):
        # a path relative to the doc's own folder (ontologies/README.md: `source/...`)
        first = span.split("/")[0]
        relative = re.fullmatch(r"\w[\w.*/-]*", span) and "/" in span and (doc.parent / first).is_dir()
        if relative and not path_exists(span, doc):
            missing.append(span)
    own = {slug(h) for h in headings(doc)}
    for target in LINK.findall(prose(doc)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        if path and not (doc.parent / path).exists():
            missing.append(target)
            continue
        if anchor and anchor not in ({slug(h) for h in headings(doc.parent / path)} if path else own):
            missing.append(target)
    flat = " ".join(text.split())
    for file, section in SECTION.findall(flat):
        target = REPO / file if "/" in file else doc.parent / file
        if not target.is_file():
            target = REPO / "docs" / file
        if target.is_file() and not any(h.lower().startswith(section.lower()) for h in headings(target)):
            missing.append(f'{file}, "{section}"')
    assert not missing, f"{doc.relative_to(REPO)} names what is not in the repository: {sorted(set(missing))}"


@pytest.mark.parametrize("doc", CHECKED, ids=lambda d: str(d.relative_to(REPO)))
def test_no_doc_cites_files_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert [f for f in FORBIDDEN if f in text] == []


def test_no_help_cites_missing_files() -> None:
    bad = []
    for command, text in help_texts().items():
        bad += [f"{command}: {f}" for f in FORBIDDEN if f in text]
        bad += [f"{command}: {p}" for p in PATH.findall(text) if not path_exists(p, REPO / "README.md")]
    assert not bad, bad


def resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] not in {"radminer", "lesion_model"}:
                raise
            if error.name != ".".join(parts[:cut]):
                raise
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("doc", CHECKED, ids=lambda d: str(d.relative_to(REPO)))
def test_every_module_and_name_in_backticks_imports(doc: Path) -> None:
    names = {m.group(1) for span in inline_code(prose(doc)) if (m := DOTTED.match(span))}
    for block in blocks(doc):
        for m in IMPORT.finditer(block.text):
            imported = m.group(2) if m.group(2) is not None else m.group(3)
            names |= {f"{m.group(1)}.{n.split()[0]}" for n in imported.split(",") if n.strip()}
    bad = []
    for name in sorted(names):
        try:
            resolve(name)
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] in {"radminer", "lesion_model"} or error.name is None:
                bad.append(f"{name} ({error})")
        except (AttributeError, ImportError) as error:
            bad.append(f"{name} ({error})")
    assert not bad, f"{doc.relative_to(REPO)} names what does not import: {bad}"


# --------------------------------------------------------------------------------------------
# Options of the command lines shown


def command_lines(doc: Path) -> list[tuple[str, str]]:
    """(where, command line) of every radminer / lesion-* command shown in a doc."""
    found = []
    for block in blocks(doc):
        if block.lang in {"python", "pycon", "json", "csv"}:
            continue
        text = block.text.replace("\\\n", " ")
        for line in text.splitlines():
            found.append((block.where, line.removeprefix("$ ")))
    found += [(str(doc.relative_to(REPO)), span) for span in inline_code(prose(doc))]
    return found


def command_of(tokens: list[str], scripts: dict[str, click.Command]) -> tuple[click.Command, list[str]] | None:
    """The click command a shell segment runs, and the arguments after it."""
    if "-m" in tokens and tokens.index("-m") + 1 < len(tokens) and tokens[0] in {"python", "torchrun"}:
        module = tokens[tokens.index("-m") + 1]
        if not module.startswith(("lesion_model.cli.", "radminer.cli")):
            return None
        mod = importlib.import_module(module)
        commands = [v for v in vars(mod).values() if isinstance(v, click.Command) and v.callback.__module__ == module]
        return (commands[0], tokens[tokens.index("-m") + 2 :]) if len(commands) == 1 else None
    if not tokens or tokens[0] not in scripts:
        return None
    command, rest = scripts[tokens[0]], tokens[1:]
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


def test_every_option_shown_exists() -> None:
    scripts = console_scripts()
    bad = []
    for doc in CHECKED:
        for where, line in command_lines(doc):
            for segment in re.split(r"\||&&|;|\bdo\b|\bthen\b", line.split("  #")[0]):
                try:
                    tokens = shlex.split(segment)
                except ValueError:
                    tokens = segment.split()
                found = command_of(tokens, scripts)
                if found is None:
                    continue
                command, rest = found
                known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
                for token in rest:
                    for option in token.strip("[]().,").split("/"):
                        option = option.split("=")[0].rstrip("]")
                        if re.fullmatch(r"--?[A-Za-z][\w-]*", option) and option not in known:
                            bad.append(f"{where}: {command.name} {option}")
    assert not bad, bad
