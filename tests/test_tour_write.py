"""`workbench demo --write DIR` refuses what is not a folder of its own (issue 18): a folder of
the user's files, a link inside it where it writes a folder, an empty name or `-`, a kernel
filesystem, a link or a file named as DIR; a folder it made is written again, only its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

MARKER = ".workbench-tour"


def write(target: str, tmp_path: Path, cwd: Path | None = None) -> tuple[int, str, str]:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = run_cli("demo", "--write", target, env=env, cwd=cwd or tmp_path)
    return out.returncode, out.stdout, out.stderr


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links as their target's name) by its relative path."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = str(path.readlink()).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def test_a_folder_of_the_users_files_is_refused(tmp_path: Path) -> None:
    """DIR holding the user's own kernel.log and no marker: exit 2 with the remedy, the file
    and the folder exactly as they were."""
    mine = tmp_path / "case"
    mine.mkdir()
    (mine / "kernel.log").write_text("the customer's dmesg\n")
    code, stdout, stderr = write("case", tmp_path)
    assert code == 2 and stdout == ""
    assert "case already holds files the demo did not write" in stderr
    assert "an empty or new folder, or one an earlier `demo --write` made" in stderr
    assert tree(mine) == {"kernel.log": b"the customer's dmesg\n"}


def test_a_folder_it_made_is_written_again_keeping_the_users_other_files(tmp_path: Path) -> None:
    """A second --write into a folder the first made replaces its own files (a changed
    kernel.log comes back) and leaves a file the user added there alone."""
    assert write("tour", tmp_path)[0] == 0
    folder = tmp_path / "tour"
    assert (folder / MARKER).is_file()
    first = tree(folder)
    (folder / "kernel.log").write_text("edited\n")
    (folder / "notes.txt").write_text("my notes\n")
    code, _, stderr = write("tour", tmp_path)
    assert code == 0, stderr
    again = tree(folder)
    assert again.pop("notes.txt") == b"my notes\n"
    assert again == first


def test_a_link_inside_where_it_writes_a_folder_is_refused(tmp_path: Path) -> None:
    """`trap/fleet` a link to another folder (in a folder the demo made): exit 2 naming it,
    nothing written into the link's target nor into trap."""
    assert write("trap", tmp_path)[0] == 0
    trap, other = tmp_path / "trap", tmp_path / "other"
    other.mkdir()
    for archive in (trap / "fleet").iterdir():
        archive.unlink()
    (trap / "fleet").rmdir()
    (trap / "fleet").symlink_to(other)
    (trap / "kernel.log").write_text("left as it was\n")
    before = tree(trap)
    code, stdout, stderr = write("trap", tmp_path)
    assert code == 2 and stdout == ""
    assert stderr == "workbench: demo --write: trap/fleet is a symbolic link: " \
        "the demo writes a folder there\n"  # fmt: skip
    assert list(other.iterdir()) == [] and tree(trap) == before


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("", "an empty name is no folder"),
        ("-", "`-` is not a folder here"),
        ("/proc", "/proc is not a folder the demo can write into (a kernel filesystem)"),
        ("/proc/self", "/proc/self is not a folder the demo can write into (a kernel filesystem)"),
        ("/sys/kernel/tour", "a kernel filesystem"),
    ],
)
def test_names_that_are_no_folder_of_the_users_are_refused(
    name: str, said: str, tmp_path: Path
) -> None:
    """An empty name, `-`, /proc and /proc/self: exit 2 saying what is wrong, nothing made in
    the current folder."""
    home = tmp_path / "cwd"
    home.mkdir()
    code, stdout, stderr = write(name, tmp_path, cwd=home)
    assert code == 2 and stdout == ""
    assert stderr.startswith("workbench: demo --write: ") and said in stderr
    assert stderr.count("\n") == 1 and list(home.iterdir()) == []


def test_a_dangling_link_named_as_the_folder_is_refused(tmp_path: Path) -> None:
    """DIR a symbolic link to nowhere: "is a symbolic link", exit 2, nothing made at its
    target."""
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    code, _, stderr = write("dangling", tmp_path)
    assert code == 2
    assert (
        stderr == "workbench: demo --write: dangling is a symbolic link: name the folder itself\n"
    )
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_at_a_file_name_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """A folder where it writes kernel.log (in a folder it made): exit 2 naming it, the other
    files not rewritten."""
    assert write("tour", tmp_path)[0] == 0
    folder = tmp_path / "tour"
    (folder / "kernel.log").unlink()
    (folder / "kernel.log").mkdir()
    (folder / "qemu-media-server.log").write_text("kept\n")
    code, _, stderr = write("tour", tmp_path)
    assert code == 2 and "tour/kernel.log is a folder: the demo writes a file there" in stderr
    assert (folder / "qemu-media-server.log").read_text() == "kept\n"
