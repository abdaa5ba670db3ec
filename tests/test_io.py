"""radminer.files: outputs appear whole, with open()'s mode, through links, onto devices; clear errors."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from radminer.cli.support import Interrupted, exit_cleanly
from radminer.errors import OutputError
from radminer.files import atomic_output, is_special, same_file


@pytest.fixture
def umask() -> Iterator[int]:
    previous = os.umask(0o027)
    yield 0o027
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_mode_of_open(tmp_path: Path, umask: int) -> None:
    with atomic_output(tmp_path / "out.txt") as handle:
        handle.write("x")
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("x")
    assert mode(tmp_path / "out.txt") == mode(tmp_path / "plain.txt") == 0o666 & ~umask


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(0o640)
    with atomic_output(out, binary=True) as handle:
        handle.write(b"new")
    assert out.read_text() == "new" and mode(out) == 0o640


def test_symlink_is_written_through(tmp_path: Path) -> None:
    target = tmp_path / "real" / "out.txt"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_output(link) as handle:
        handle.write("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_error_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_output(out) as handle:
        handle.write("partial")
        raise KeyboardInterrupt
    assert out.read_text() == "old" and sorted(tmp_path.iterdir()) == [out]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_device_is_written_directly_and_its_error_named() -> None:
    assert is_special(Path("/dev/full")) and not is_special(Path(__file__))
    with (
        pytest.raises(OutputError, match=r"^cannot write /dev/full: No space left on device$"),
        atomic_output(Path("/dev/full")) as handle,
    ):
        handle.write("x" * 100_000)


def test_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it for writing does not block
    try:
        with atomic_output(fifo) as handle:
            handle.write("through")
        assert os.read(reader, 100) == b"through"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_unwritable_folder_is_an_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("radminer.files.os.open", refuse)
    with (
        pytest.raises(OutputError, match=r"^cannot write .*out\.txt: Permission denied$"),
        atomic_output(tmp_path / "out.txt"),
    ):
        pass


def test_same_file_through_links(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x")
    (tmp_path / "soft.csv").symlink_to(a)
    os.link(a, tmp_path / "hard.csv")
    assert same_file(a, tmp_path / "soft.csv") and same_file(a, tmp_path / "hard.csv")
    assert not same_file(a, tmp_path / "absent.csv")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_termination_signals_clean_up_like_ctrl_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signum: int, code: int
) -> None:
    out = tmp_path / "out.txt"

    @exit_cleanly("prog")
    def command() -> None:
        with atomic_output(out) as handle:
            handle.write("partial")
            os.kill(os.getpid(), signum)

    previous = signal.getsignal(signum)
    with pytest.raises(SystemExit) as exited:
        command()
    assert exited.value.code == code
    assert capsys.readouterr().err == f"prog: terminated ({signal.Signals(signum).name})\n"
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signum) == previous
    assert issubclass(Interrupted, KeyboardInterrupt)


def test_an_unexpected_io_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    @exit_cleanly("prog")
    def command() -> None:
        raise PermissionError(13, "Permission denied", "/data/ontology.owl")

    with pytest.raises(SystemExit) as exited:
        command()
    assert exited.value.code == 1
    assert capsys.readouterr().err == "prog: error: /data/ontology.owl: Permission denied\n"
