"""Hostile and broken capture files: each refused with exit 2 and a clear message, nothing
written outside the private temp dir, and that temp dir removed."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.capture_files import (
    Member,
    crafted,
    entry,
    good_capture,
    link,
    members,
    retarget,
    run_cli,
    tree_state,
    with_manifest,
    write,
)
from tests.conftest import WORKBENCH
from workbench.capture.links import too_long_chain
from workbench.capture.unpack import Limits, open_capture
from workbench.core.errors import CaptureError


@pytest.fixture
def good(make_root: Callable[..., Path], tmp_path: Path) -> Path:
    """A real capture of a recorded machine (no log: small and quick)."""
    return good_capture(make_root, tmp_path)


CASES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "absolute path": (
        lambda g, out: write(out, [*members(g), entry("/tmp/wb-evil-abs")]),
        "absolute or unsafe path",
    ),
    "dot-dot path": (
        lambda g, out: write(out, [*members(g), entry("sys/../../../wb-evil-dotdot")]),
        "leaves the capture's root",
    ),
    "symlink out of the root": (
        lambda g, out: write(
            out, [*members(g), entry("sys/escape", kind=tarfile.SYMTYPE, link="../../../etc")]
        ),
        "symbolic link 'sys/escape' -> '../../../etc' leaves",
    ),
    "absolute symlink": (
        lambda g, out: write(
            out, [*members(g), entry("sys/abs", kind=tarfile.SYMTYPE, link="/etc/passwd")]
        ),
        "leaves the capture's root",
    ),
    "symlink up through a link": (
        lambda g, out: write(
            out, [*members(g), entry("sys/x", kind=tarfile.SYMTYPE, link="proc/../../..")]
        ),
        "leaves the capture's root",
    ),
    "file written through a symlink": (
        lambda g, out: write(
            out,
            [
                *members(g),
                entry("sys/l", kind=tarfile.SYMTYPE, link="../proc"),
                entry("sys/l/evil"),
            ],
        ),
        "inside the symbolic link 'sys/l'",
    ),
    "hard link": (
        lambda g, out: write(
            out, [*members(g), entry("sys/h", kind=tarfile.LNKTYPE, link="proc/cmdline")]
        ),
        "hard link",
    ),
    "character device": (
        lambda g, out: write(out, [*members(g), entry("dev/kvm", kind=tarfile.CHRTYPE)]),
        "device, FIFO or other special file",
    ),
    "fifo": (
        lambda g, out: write(out, [*members(g), entry("dev/fifo", kind=tarfile.FIFOTYPE)]),
        "device, FIFO or other special file",
    ),
    "duplicate member": (
        lambda g, out: write(out, [*members(g), entry("proc/cmdline", b"other")]),
        "appears twice",
    ),
    "truncated": (
        lambda g, out: out.write_bytes(g.read_bytes()[: g.stat().st_size // 2]) and out,
        "truncated or corrupt archive",
    ),
    "garbage": (
        lambda g, out: out.write_bytes(os.urandom(4096)) and out,
        "truncated or corrupt archive",
    ),
    "plain tar, not gzip": (
        lambda g, out: out.write_bytes(gzip.decompress(g.read_bytes())) and out,
        "truncated or corrupt archive",
    ),
    "no manifest": (
        lambda g, out: write(out, [m for m in members(g) if m[0].name != "manifest.json"]),
        "no manifest.json",
    ),
    "manifest not JSON": (
        lambda g, out: write(out, retarget(members(g), "manifest.json", b"{not json")),
        "manifest.json is not valid JSON",
    ),
    "manifest of another schema": (
        lambda g, out: write(out, with_manifest(members(g), lambda m: m.update(schema="x/9"))),
        "is not a workbench.capture/1 manifest",
    ),
    "checksum mismatch": (
        lambda g, out: write(out, retarget(members(g), "proc/cmdline", b"intel_iommu=on\n")),
        "proc/cmdline: checksum mismatch",
    ),
    "member not in the manifest": (
        lambda g, out: write(out, [*members(g), entry("proc/extra", b"smuggled")]),
        "proc/extra: not listed in manifest.json",
    ),
    "listed file missing": (
        lambda g, out: write(out, [m for m in members(g) if m[0].name != "proc/cpuinfo"]),
        "proc/cpuinfo: listed in manifest.json but missing",
    ),
    "huge sparse entry": (
        lambda g, out: write(
            out,
            [
                *with_manifest(members(g), lambda m: m["sparse"].update({"dev/shm/lg": 2**50})),
                entry("dev/shm/lg", b""),
            ],
        ),
        "bad sparse entry",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_capture_is_refused(case: str, good: Path, tmp_path: Path) -> None:
    make, says = CASES[case]
    hostile = make(good, tmp_path / "hostile.tar.gz")
    private = tmp_path / "tmpdir"
    private.mkdir()
    env = {**os.environ, "TMPDIR": str(private)}
    for args in (("probe", "--capture"), ("logs", "--capture"), ("open",)):
        out = subprocess.run(
            [str(WORKBENCH), *args, str(hostile)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1  # one line, with the remedy
        assert "Ask for a new capture" in out.stderr or case == "missing file"
        assert list(private.iterdir()) == []  # the private temp dir is gone
    for evil in ("/tmp/wb-evil-abs", tmp_path.parent / "wb-evil-dotdot"):
        assert not Path(evil).exists()


def test_a_missing_capture_file_is_bad_usage(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(WORKBENCH), "probe", "--capture", str(tmp_path / "nope.tar.gz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "no such capture file" in out.stderr


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (Limits(member_bytes=1000), "bytes (limit 1000)"),
        (Limits(total_bytes=5000), "unpacks to more than 5000 bytes"),
        (Limits(members=20), "more than 20 members"),
    ],
)
def test_size_and_count_limits(good: Path, limits: Limits, says: str) -> None:
    with pytest.raises(CaptureError) as caught, open_capture(good, limits):
        pass
    assert says in caught.value.message
    assert caught.value.code == "CAPTURE_REFUSED"


def test_a_good_capture_opens_and_its_temp_dir_goes(good: Path) -> None:
    with open_capture(good) as root:
        assert (root / "manifest.json").is_file()
        assert (root / "sys/bus/pci/devices").is_dir()
        seen = root
    assert not seen.exists() and not seen.parent.exists()


# --- Members that land through other links (issue 11) --------------------------------------


# The capture root is PRIVATE/workbench-capture-XXX/root: `../../..` from it is tmp_path.
# name -> (members placed before the good capture's, what the refusal says)
THROUGH_LINKS: dict[str, tuple[list[Member], str]] = {
    "manifest written through a link made through a later link": (
        [link("a/b/x/manifest.json", "../../../victim"), link("a/b/x", "../..")],
        "inside the symbolic link 'a/b/x'",
    ),
    "link planted and directory made outside through links": (
        [
            link("a/b/x/c/d/e/y/made/planted", "victim"),
            link("a/b/x/c/d/e/y", "../../../../../.."),
            link("a/b/x", "../.."),
        ],
        "inside the symbolic link",
    ),
    "file written before a link on its parent": (
        [entry("sys/zz/f"), link("sys/zz", "../proc")],
        "inside the symbolic link 'sys/zz'",
    ),
    "a member inside manifest.json": (
        [entry("manifest.json/x")],
        "inside the file 'manifest.json'",
    ),
    "a link named manifest.json": (
        [link("manifest.json", "proc/cmdline")],
        "appears twice",
    ),
    "a directory named like a file": (
        [entry("proc/cmdline/x")],
        "inside the file 'proc/cmdline'",
    ),
    "3,000 directories deep": (
        [entry("d/" * 3000 + "f")],
        "3001 directories deep (limit 128)",
    ),
    "a link 3,000 directories deep": (
        [link("sys/deep", "d/" * 3000 + "f")],
        "points 3001 directories deep (limit 128)",
    ),
    "a name longer than the file system takes": (
        [entry("sys/" + "n" * 300)],
        "has a name over 255 bytes",
    ),
}


def assert_refused(hostile: Path, says: str, tmp_path: Path) -> None:
    """Every command that opens a capture refuses `hostile`: exit 2, `says` in one line on
    stderr, no traceback, the private temp dir gone, nothing else under tmp_path changed."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    private = tmp_path / "private"
    private.mkdir()
    good = tmp_path / "good.tar.gz"
    before = tree_state(tmp_path, private)
    for args in (("probe", "--capture"), ("logs", "--capture"), ("open",), ("diff", str(good))):
        out = run_cli((*args, str(hostile)), private)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1, out.stderr
        assert list(private.iterdir()) == []
        assert tree_state(tmp_path, private) == before
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("case", sorted(THROUGH_LINKS))
def test_nothing_lands_through_a_link(case: str, good: Path, tmp_path: Path) -> None:
    """Members ordered so that one lands through a link made for another are refused, exit 2,
    one line, and nothing outside the private temp dir is written, made or planted."""
    extra, says = THROUGH_LINKS[case]
    assert_refused(crafted(good, tmp_path / "hostile.tar.gz", extra), says, tmp_path)


def chain(length: int) -> list[Member]:
    """A PCI device link at the head of `length` chained links, ending at a real directory."""
    items = [link("sys/bus/pci/devices/0000:00:1f.7", "../../../../c/l0")]
    items += [link(f"c/l{i}", f"l{i + 1}") for i in range(length)]
    return [*items, link(f"c/l{length}", "../sys/devices")]


def test_a_long_chain_of_links_is_refused(good: Path, tmp_path: Path) -> None:
    """5,000 chained links (nothing behind more than 40 is readable) are refused up front."""
    hostile = crafted(good, tmp_path / "hostile.tar.gz", chain(5000))
    assert_refused(hostile, "needs more than 40 links to resolve", tmp_path)


def test_short_chains_and_loops_of_links_still_open(good: Path, tmp_path: Path) -> None:
    """A chain of 40 links (the kernel's limit) resolves, one of 41 is refused, and a loop
    (unreadable, as on the machine it came from) does not stop the capture from opening."""
    loop = [link("c/loop/a", "b"), link("c/loop/b", "a")]
    with open_capture(crafted(good, tmp_path / "ok.tar.gz", [*chain(38), *loop])) as root:
        assert (root / "sys/bus/pci/devices/0000:00:1f.7").is_dir()
        assert (root / "c/loop/a").is_symlink()
    too_long = crafted(good, tmp_path / "long.tar.gz", chain(39))
    says = r"0000:00:1f\.7' needs more than 40 links"
    with pytest.raises(CaptureError, match=says), open_capture(too_long):
        pass


def test_a_deeply_nested_manifest_is_refused(good: Path, tmp_path: Path) -> None:
    """A manifest.json nested 100,000 deep is refused, not a RecursionError."""
    doc = json.loads(dict((i.name, d) for i, d in members(good))["manifest.json"] or b"")
    deep = json.dumps(doc)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    hostile = crafted(good, tmp_path / "hostile.tar.gz", [], manifest=deep.encode())
    assert_refused(hostile, "manifest.json is nested too deeply", tmp_path)


def chained(count: int, prefix: str = "c") -> dict[str, str]:
    """`count` links, each to the next, the last to a plain name."""
    links = {f"{prefix}/l{i}": f"l{i + 1}" for i in range(count - 1)}
    return {**links, f"{prefix}/l{count - 1}": "end"}


@pytest.mark.parametrize(
    ("links", "refused"),
    [
        ({}, None),
        (chained(40), None),
        (chained(41), "c/l0"),
        ({"a": "b", "b": "a", "c": "a/x"}, None),  # a loop resolves to nothing, as in Linux
        ({"a": "a/x"}, "a"),  # a link through itself grows without end
        ({"d/l": "../e/l", "e/l": "../d/m", "d/m": "x"}, None),
        ({**chained(40, "p"), "p/l39": "../q/l0", **chained(2, "q")}, "p/l0"),
        ({f"{k}/x": f"../{k + 1}/x" for k in range(45)}, "0/x"),  # through directories
    ],
)
def test_link_chains_over_40_are_found(links: dict[str, str], refused: str | None) -> None:
    """The first link needing more than 40 links to resolve, by name; loops are no chain."""
    assert too_long_chain(links) == refused
