"""Sosreport-shaped directories for the machine tests: files written as sos writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from workbench.core.host import Host
from workbench.sos.translate import build_root

HOTSOS = Path(__file__).resolve().parent.parent.parent / "shared" / "peer-data" / "hotsos-openstack"

LSMOD = """Module                  Size  Used by
kvm_intel             282624  3
kvm                   663552  1 kvm_intel
vfio_pci               16384  0
"""
DEV_LANR = """/dev:
total 4
drwxr-xr-x 20     0     0     4260 Feb 10 16:16 .
drwxr-xr-x 19     0     0     4096 Feb 10 16:16 ..
crw-rw----  1     0   108  10, 232 Feb 10 16:18 kvm
crw-------  1     0     0  10, 238 Feb 10 16:14 vhost-net
drwxr-xr-x  2     0     0       60 Feb  9 22:38 net
drwxrwxrwt  2     0     0       40 Feb  9 22:38 shm

/dev/net:
total 0
crw-rw-rw-  1 0 0 10, 200 Feb  9 22:38 tun

/dev/shm:
total 0
drwxrwxrwt  2 0 0   40 Feb  9 22:38 .
-rw-rw----  1 1000 36 {shm_size} Feb 10 16:19 looking-glass
"""


def report(tmp_path: Path, files: dict[str, str | bytes], name: str = "report") -> Path:
    """A report's top directory holding `files` (path -> content) and a version.txt."""
    top = tmp_path / name
    (top / "sos_commands").mkdir(parents=True)
    files = {"version.txt": "sosreport: 4.5.6\n", **files}
    for rel, data in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return top


def translate(top: Path, tmp_path: Path) -> tuple[dict[str, Any], Host]:
    """The machine root of report `top`: its manifest and a Host over it."""
    out = tmp_path / "root"
    out.mkdir()
    manifest = build_root(top, out, "test")
    return manifest, Host(out)


def probe_json(top: Path, *only: str) -> dict[str, dict[str, Any]]:
    """`workbench probe --sos TOP --json` (a real subprocess): probe id -> result."""
    args = ["probe", "--sos", str(top), "--json"]
    if only:
        args += ["--only", ",".join(only)]
    done = run_cli(*args)
    assert done.returncode in (0, 1), done.stderr
    return {p["id"]: p for p in json.loads(done.stdout)["probes"]}
