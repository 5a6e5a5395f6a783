"""Capture files built member by member for hostile-input tests: tar entries, a manifest that
lists them, the real CLI run on them, and what a directory tree holds."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import WORKBENCH
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, Source
from workbench.core.host import Host

Member = tuple[tarfile.TarInfo, bytes | None]


def good_capture(make_root: Callable[..., Path], tmp_path: Path) -> Path:
    """A real capture of a recorded machine (no log: small and quick), as tmp_path/good.tar.gz."""
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


def crafted(good: Path, out: Path, extra: list[Member], manifest: bytes | None = None) -> Path:
    """`good`'s members after `extra` (in that order), the manifest listing every extra file and
    link with its checksum, so the archive passes every check but the one under test."""
    items = members(good)
    for info, data in items:
        if info.name == "manifest.json":
            doc = json.loads(data or b"{}")
    for info, data in extra:
        if info.isreg() and info.name != "manifest.json":
            doc["files"][info.name] = hashlib.sha256(data or b"").hexdigest()
        elif info.issym():
            doc["links"][info.name] = info.linkname
    body = manifest if manifest is not None else json.dumps(doc).encode()
    items = retarget(items, "manifest.json", body)
    return write(out, [*extra, *items])


def link(name: str, target: str) -> Member:
    return entry(name, kind=tarfile.SYMTYPE, link=target)


def run_cli(
    args: tuple[str, ...], private: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real `workbench` with its temp dirs in `private`."""
    return subprocess.run(
        [str(WORKBENCH), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
        timeout=timeout,
        check=False,
    )


def tree_state(top: Path, skip: Path) -> dict[str, tuple[str, str]]:
    """Every path under `top` but `skip`: its kind and content or link target."""
    state: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        if here == skip:
            dirnames[:] = []
            continue
        for name in [*dirnames, *filenames]:
            path = here / name
            rel = str(path.relative_to(top))
            if path.is_symlink():
                state[rel] = ("link", str(path.readlink()))
            elif path.is_dir():
                state[rel] = ("dir", "")
            else:
                state[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return state
