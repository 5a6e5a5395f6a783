"""A real `sos report` of this machine, opened by Workbench: no claim its evidence does not hold.

What is asserted, and why: the report is taken seconds before it is judged, so this machine's
own /proc and /sys are the truth to hold its verdicts to. This test machine is a VM with no GPU
passthrough and no IOMMU (nor, usually, vmx/svm); the assertions are written from what the
machine shows at run time, so they hold on a host that has them too:
- no probe breaks (`error`);
- cpu.virtualization passes exactly when /proc/cpuinfo has vmx or svm, else fails;
- pci.gpus lists exactly the class-03 devices of /sys/bus/pci (none here), never a GPU that
  is not there;
- with no IOMMU (no /sys/class/iommu entry, no group), nothing IOMMU-related passes; with one,
  iommu.enabled does not fail;
- /dev/kvm exists here, so kvm.device does not fail (a report cannot show it: skip);
- every cause kernel.log names has evidence lines that are lines of the report's dmesg (other
  tests on this machine write to /dev/kmsg, so which causes appear is not fixed; that each is
  backed by the report is);
- every "not in this sosreport" says what to collect.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from workbench.sos.archive import check_digest, unpack_report

PLUGINS = "pci,kernel,processor,memory,libvirt,block,logs"
SOS = ["sos", "report", "--batch", "--label", "wbtest", "--case-id", "15"]  # fixed names
VAR_TMP = "/var/tmp"  # sos's default place, which must stay clean

pytestmark = [
    pytest.mark.skipif(shutil.which("sos") is None, reason="no `sos` (make setup installs it)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="sos report needs root"),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real `sos report` of this machine with the plugins Workbench reads (~5 s)."""
    out = tmp_path_factory.mktemp("sos")
    before = set(os.listdir(VAR_TMP))
    run = subprocess.run(
        [*SOS, "--tmp-dir", str(out), "-o", PLUGINS],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    made = sorted(out.glob("sosreport-*-wbtest-15-*.tar.*"))
    made = [p for p in made if not p.name.endswith((".md5", ".sha256"))]
    assert len(made) == 1, os.listdir(out)
    yield made[0]
    shutil.rmtree(out, ignore_errors=True)
    assert {n for n in set(os.listdir(VAR_TMP)) - before if n.startswith("sos")} == set()


def _report(named: Path) -> dict[str, Any]:
    out = run_cli("probe", "--sos", str(named), "--json")
    assert out.returncode in (0, 1), out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["status"] for p in doc["probes"]}


def _gpus_here() -> set[str]:
    devices = Path("/sys/bus/pci/devices")
    return {
        d.name
        for d in (devices.iterdir() if devices.is_dir() else [])
        if (d / "class").read_text().strip().startswith("0x03")
    }


def _iommu_here() -> bool:
    return any(Path("/sys/class/iommu").glob("*")) or any(
        Path("/sys/kernel/iommu_groups").glob("*")
    )


def _report_dmesg(archive: Path, into: Path) -> set[str]:
    top = unpack_report(archive, into)
    dmesg = top / "sos_commands/kernel/dmesg"
    return set(dmesg.read_text(errors="replace").splitlines()) if dmesg.is_file() else set()


def test_the_real_report_makes_no_wrong_claim(archive: Path, tmp_path: Path) -> None:
    """Every verdict on the real report is what this machine's own state supports."""
    doc = _report(archive)
    status = _statuses(doc)
    by_id = {p["id"]: p for p in doc["probes"]}
    assert "error" not in status.values(), [p for p in doc["probes"] if p["status"] == "error"]
    flags = Path("/proc/cpuinfo").read_text()
    virt = " vmx" in flags or " svm" in flags
    assert status["cpu.virtualization"] == ("pass" if virt else "fail")
    gpus = {g["bdf"] for g in (by_id["pci.gpus"]["facts"] or {}).get("gpus", [])}
    assert gpus == _gpus_here()
    if not _iommu_here():
        for probe in ("iommu.enabled", "iommu.groups", "vfio.binding"):
            assert status[probe] != "pass", by_id[probe]
    else:
        assert status["iommu.enabled"] != "fail", by_id["iommu.enabled"]
    if Path("/dev/kvm").exists():
        assert status["kvm.device"] != "fail", by_id["kvm.device"]
    for probe in doc["probes"]:
        if "not in this sosreport" in probe["summary"]:
            assert "sos report -o" in probe["summary"] or "pciutils" in probe["summary"]


def test_each_cause_is_backed_by_the_reports_kernel_log(archive: Path, tmp_path: Path) -> None:
    """explain --sos names only causes whose evidence lines are in the report's dmesg."""
    out = run_cli("explain", "--sos", str(archive), "--json")
    assert out.returncode in (0, 1), out.stderr
    lines = _report_dmesg(archive, tmp_path / "unpacked")
    for cause in json.loads(out.stdout)["causes"]:
        for evidence in cause["evidence"]:
            assert evidence["text"] in lines, evidence


def test_the_checksum_sos_wrote_is_checked(archive: Path) -> None:
    """sos writes a .md5 (4.0) or .sha256 (later) beside its archive: it is found and matches."""
    assert check_digest(archive) in ("md5", "sha256")


def test_the_header_names_the_real_report(archive: Path) -> None:
    """The text report names the archive as given, its sos version and this host."""
    version = subprocess.run(
        ["sos", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    out = run_cli("probe", "--sos", str(archive))
    first = out.stdout.splitlines()[0]
    assert f"report for sosreport {archive} (sos " in first
    assert first.endswith(f", host {socket.gethostname()})")
    said = (version.stdout + version.stderr).split()
    if said and said[-1][:1].isdigit():
        assert f"(sos {said[-1]}," in first


def test_the_unpacked_directory_gives_the_same_verdicts(archive: Path, tmp_path: Path) -> None:
    """`tar xf` of the real report, read in place, is judged as its archive is."""
    subprocess.run(["tar", "xf", str(archive), "-C", str(tmp_path)], check=True, timeout=120)
    (top,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert _statuses(_report(top)) == _statuses(_report(archive))
    opened = run_cli("open", str(top), stdin=subprocess.DEVNULL)  # opened, then no terminal
    assert "needs a terminal" in opened.stderr, opened.stderr
