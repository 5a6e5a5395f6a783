"""Hostile and broken capture files: each refused with exit 2 and a clear message, nothing
written outside the private temp dir, and that temp dir removed."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, Source
from workbench.capture.unpack import Limits, open_capture
from workbench.core.errors import CaptureError
from workbench.core.host import Host

Member = tuple[tarfile.TarInfo, bytes | None]


@pytest.fixture
def good(make_root: Callable[..., Path], tmp_path: Path) -> Path:
    """A real capture of a recorded machine (no log: small and quick)."""
    collectors = {k: v for k, v in COLLECTORS.items() if k != "log"}
    source = Source(Host(make_root("asrock-z170-gtx960")))
    return capture(source, tmp_path / "good.tar.gz", collectors=collectors).path


def members(archive: Path) -> list[Member]:
    out = []
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            fh = tar.extractfile(info) if info.isreg() else None
            out.append((info, fh.read() if fh else None))
    return out


def write(path: Path, items: list[Member]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in items:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path


def entry(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


def with_manifest(items: list[Member], change: Callable[[dict], None]) -> list[Member]:
    out = []
    for info, data in items:
        if info.name == "manifest.json":
            manifest = json.loads(data or b"{}")
            change(manifest)
            data = json.dumps(manifest).encode()
            info.size = len(data)
        out.append((info, data))
    return out


def retarget(items: list[Member], name: str, data: bytes) -> list[Member]:
    out = []
    for info, old in items:
        if info.name == name:
            info.size = len(data)
            old = data
        out.append((info, old))
    return out


# name -> (how to make the hostile file from a good capture, what the refusal says)
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
