"""`workbench explain --sos`: a report's kernel log and QEMU logs feed the causes, its facts
join; `vm.preflight` explains a domain's last start from the report's QEMU log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.sosvirt import HOTSOS, make_report


def explain(*args: str) -> tuple[int, dict[str, Any], str]:
    """(exit status, the --json answer, stderr) of `workbench explain ARGS --json`."""
    out = run_cli("explain", *args, "--json")
    return out.returncode, json.loads(out.stdout) if out.stdout else {}, out.stderr


def causes(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in answer["causes"] if not c["benign"]}


def test_report_logs_and_facts_give_the_causes(tmp_path: Path) -> None:
    """The QEMU log's BAR failure and dmesg's memlock failure are causes; /proc/iomem's
    BOOTFB (a fact of the report) joins the BAR one as evidence; exit 1."""
    top = make_report(tmp_path / "sosreport-gpuhost")
    status, answer, _ = explain("--sos", str(top))
    assert status == 1
    found = causes(answer)
    assert {"MEMLOCK_LIMIT", "BOOT_FB_HOLDS_BAR"} <= set(found)
    bar = found["BOOT_FB_HOLDS_BAR"]
    texts = [e["text"] for e in bar["evidence"]]
    assert any("Failed to mmap 0000:00:02.0 BAR 2" in t for t in texts)
    assert any("BOOTFB" in t for t in texts)
    assert bar["subject"].get("vm") == "igpu-vm"
    assert any("RLIMIT_MEMLOCK" in e["text"] for e in found["MEMLOCK_LIMIT"]["evidence"])


def test_text_output_names_each_log(tmp_path: Path) -> None:
    """The text report says which of the report's logs each evidence line came from."""
    top = make_report(tmp_path / "sosreport-gpuhost")
    out = run_cli("explain", "--sos", str(top))
    assert out.returncode == 1
    assert "qemu:igpu-vm:" in out.stdout and "kernel:" in out.stdout


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared hotsos slice absent")
def test_hotsos_slice_has_no_cause() -> None:
    """The hotsos slice (a healthy nova-compute host): its logs read, no cause, exit 0."""
    status, answer, _ = explain("--sos", str(HOTSOS))
    assert status == 0, answer
    assert answer["lines"] > 100 and not causes(answer)


def test_report_without_libvirt_says_which_plugin(tmp_path: Path) -> None:
    """No QEMU logs in the report: said on stderr with the plugin that collects them, and in
    `not_read`; the kernel log is still judged."""
    top = make_report(tmp_path / "r", libvirt=False)
    status, answer, err = explain("--sos", str(top))
    assert status == 1 and "MEMLOCK_LIMIT" in causes(answer)
    qemu = next(n for n in answer["not_read"] if n["source"] == "qemu")
    assert "not in this sosreport" in qemu["why"] and "sos report -o libvirt" in qemu["why"]
    assert "qemu logs: not recorded: not in this sosreport" in err


def test_files_given_with_a_report_join_its_facts(tmp_path: Path) -> None:
    """`explain FILE --sos R`: the file's lines, with the report's facts (its /proc/iomem)."""
    top = make_report(tmp_path / "r", libvirt=False)
    log = tmp_path / "qm-start.txt"
    log.write_text(
        "kvm: -device vfio-pci,host=00:02.0,addr=0x18,x-igd-opregion=on: Failed to mmap "
        "0000:00:02.0 BAR 2. Performance may be slow\n"
    )
    status, answer, _ = explain(str(log), "--sos", str(top))
    assert status == 1
    texts = [e["text"] for e in causes(answer)["BOOT_FB_HOLDS_BAR"]["evidence"]]
    assert any("BOOTFB" in t for t in texts)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: tmp / "absent", "no such sosreport"),
        (lambda tmp: tmp, "not a sosreport"),
    ],
)
def test_bad_report_is_one_line_and_exit_2(tmp_path: Path, make: Any, said: str) -> None:
    """A missing path or a directory that is no report: one line on stderr, exit 2."""
    out = run_cli("explain", "--sos", str(make(tmp_path)))
    assert out.returncode == 2 and said in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) <= 3


def test_preflight_explains_the_last_start_from_the_report(tmp_path: Path) -> None:
    """vm.preflight on a report: the shut-off domain's last start failed, and why (its QEMU
    log's BAR line); the running one is not judged by its log."""
    top = make_report(tmp_path / "r")
    out = run_cli("probe", "--sos", str(top), "--only", "vm.preflight", "--json")
    result = next(p for p in json.loads(out.stdout)["probes"] if p["id"] == "vm.preflight")
    last = result["facts"]["vms"]["igpu-vm"]["last_start"]
    assert (last["recorded"], last["failed"], last["causes"]) == (True, True, ["BOOT_FB_HOLDS_BAR"])
    assert any(f["cause"] == "BOOT_FB_HOLDS_BAR" for f in result["findings"])
    assert "last_start" not in result["facts"]["vms"]["web"]


def test_libvirt_daemon_log_feeds_the_causes(tmp_path: Path) -> None:
    """The report's /var/log/libvirt/libvirtd.log is read as libvirt's log."""
    top = make_report(tmp_path / "r")
    (top / "var/log/libvirt/libvirtd.log").write_text(
        "2024-03-01 10:00:00.000+0000: 1234: error : virNetSocketNewConnectUNIX:700 : Failed "
        "to connect socket to '/var/run/libvirt/virtlogd-sock': No such file or directory\n"
    )
    status, answer, _ = explain("--sos", str(top))
    assert status == 1
    found = causes(answer)["LIBVIRT_DAEMON_NOT_RUNNING"]
    assert [e["source"] for e in found["evidence"]] == ["libvirt"]
    assert not [n for n in answer["not_read"] if n["source"] == "libvirt"]
