"""A hostile user's sosreports: what the translation says of them (an absence is never a verdict,
a present file is never "missing", a problem names the report's path, not the temp dir)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from probes.libvirt_domains import check_hostdevs
from tests.conftest import run_as, run_cli
from tests.sos_machine_helpers import probe_json, report, translate
from tests.sosvirt import LIST_ALL, domain_xml
from workbench.core.pci import PciDevice, PciInventory
from workbench.sos.open import open_sos

CONNECT_FAILED = (
    "error: failed to connect to the hypervisor\n"
    "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock-ro': No such file\n"
)
LSPCI = "sos_commands/pci/lspci_-nnvv"


def test_virt_plugin_alone_records_no_domains(tmp_path: Path) -> None:
    """`-p virt` alone (etc/libvirt, an ls of /var/lib/libvirt/qemu): domains not recorded."""
    top = report(
        tmp_path,
        {
            "etc/libvirt/libvirt.conf": "uri_default = 'qemu:///system'\n",
            "sos_commands/libvirt/ls_-lR_.var.lib.libvirt.qemu": "total 0\n",
        },
    )
    manifest, _ = translate(top, tmp_path)
    said = manifest["not_recorded"]["libvirt/domains.json"]
    assert said.startswith("not in this sosreport: needs the domain definitions")
    assert "-o libvirt" in said and "-o virsh" in said


def test_virsh_that_failed_to_connect_gives_no_domain_verdict(tmp_path: Path) -> None:
    """virsh list failed and no domain XML: libvirt.domains and vm.preflight skip, no "0 domains"."""
    top = report(
        tmp_path,
        {
            "etc/libvirt/libvirt.conf": "",
            "sos_commands/virsh/virsh_-r_list_--all": CONNECT_FAILED,
        },
    )
    found = probe_json(top, "libvirt.connection", "libvirt.domains", "vm.preflight")
    for probe in ("libvirt.domains", "vm.preflight"):
        assert found[probe]["status"] == "skip", found[probe]
        assert "0 domain" not in found[probe]["summary"]
    assert "not in this sosreport" in found["libvirt.domains"]["summary"]


def test_collected_empty_definitions_are_zero_domains_from_there(tmp_path: Path) -> None:
    """etc/libvirt/qemu collected and empty: "0 domains" is a fact, and says where from."""
    top = report(tmp_path, {"etc/libvirt/qemu/networks/default.xml": "<network/>"})
    manifest, _ = translate(top, tmp_path)
    assert "libvirt/domains.json" not in manifest["not_recorded"]
    assert manifest["sources"]["libvirt/domains.json"] == "etc/libvirt/qemu"
    found = probe_json(top, "libvirt.connection", "libvirt.domains")
    assert found["libvirt.domains"]["status"] == "pass"
    assert "etc/libvirt/qemu" in found["libvirt.domains"]["summary"]


def test_virsh_list_alone_is_domain_evidence(tmp_path: Path) -> None:
    """A virsh list and its dumpxml, no XML directory: the domains are read, not "not recorded"."""
    top = report(
        tmp_path,
        {
            "sos_commands/virsh/virsh_-r_list_--all": LIST_ALL,
            "sos_commands/virsh/virsh_-r_dumpxml_web": domain_xml("web"),
        },
    )
    manifest, _ = translate(top, tmp_path)
    assert "libvirt/domains.json" not in manifest["not_recorded"]
    assert manifest["sources"]["libvirt/domains.json"] == "sos_commands/virsh/virsh_-r_list_--all"


def test_too_large_lspci_is_there_not_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An lspci too large to read: named by its report path, "in this sosreport", no ask for it."""
    monkeypatch.setattr("workbench.core.host.MAX_FILE_BYTES", 1024)
    top = report(tmp_path, {LSPCI: "x" * (1 << 18)})
    manifest, _ = translate(top, tmp_path)
    said = manifest["not_recorded"]["sys/bus/pci/devices"]
    assert said.startswith(f"{LSPCI} is in this sosreport but could not be read (too large")
    assert "not in this sosreport" not in said
    problems = " ".join(manifest["problems"])
    assert f"{LSPCI} is in this sosreport" in problems and str(top) not in problems


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_pci_directory_is_there_not_missing() -> None:
    """An unreadable sos_commands/pci (read by another user): "in this sosreport but could not
    be read (permission)", never "needs lspci"."""
    base = Path(tempfile.mkdtemp(prefix="wb-sos-pci-", dir="/tmp"))  # tmp_path is root-only
    try:
        base.chmod(0o755)
        top = report(base, {LSPCI: "00:00.0 Host bridge [0600]: X [8086:1234]\n"})
        for d in [p for p in top.rglob("*") if p.is_dir()] + [top]:
            d.chmod(0o755)
        for f in [p for p in top.rglob("*") if p.is_file()]:
            f.chmod(0o644)
        (top / "sos_commands" / "pci").chmod(0o700)

        def opened() -> dict[str, Any]:
            with open_sos(top) as got:
                return {
                    "not_recorded": got.manifest["not_recorded"],
                    "problems": got.manifest["problems"],
                }

        opened()  # as root first: every module imported before the child drops its rights
        said = run_as(65534, opened)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    hint = said["not_recorded"]["sys/bus/pci/devices"]
    assert hint.startswith(f"{LSPCI} is in this sosreport but could not be read (permission")
    assert "not in this sosreport" not in hint


def test_nodedev_with_a_dtd_is_a_named_problem(tmp_path: Path) -> None:
    """A node-device XML declaring entities is left out and said in the manifest's problems."""
    name = "sos_commands/virsh/virsh_-r_nodedev-dumpxml_pci_0000_01_00_0"
    bomb = '<!DOCTYPE d [<!ENTITY a "aaaa">]><device>&a;</device>'
    manifest, _ = translate(report(tmp_path, {name: bomb}), tmp_path)
    assert any(name in p and "DTD" in p for p in manifest["problems"]), manifest["problems"]


def test_bad_domain_name_is_escaped_once(tmp_path: Path) -> None:
    """A domain name with a control code is shown escaped once (`ev\\x9b`), not twice."""
    top = report(tmp_path, {"etc/libvirt/qemu/ev.xml": domain_xml("ev\x9bx")})
    manifest, _ = translate(top, tmp_path)
    said = [p for p in manifest["problems"] if "no usable domain" in p]
    assert said and "'ev\\x9bx'" in said[0], said


def test_explain_of_a_report_without_logs_is_unreadable_input(tmp_path: Path) -> None:
    """explain --sos on a report with no log: exit 2, says nothing was read and what collects
    each log, never "0 lines read, no cause found"."""
    done = run_cli("explain", "--sos", str(report(tmp_path, {})))
    assert done.returncode == 2, done.stderr
    assert "explain: nothing read" in done.stderr and "no cause found" not in done.stdout
    assert "kernel log: not read (kernel log not in this sosreport: needs" in done.stderr


def test_lspci_driver_that_is_no_name_is_unknown_not_none(tmp_path: Path) -> None:
    """A `Kernel driver in use:` of control codes: the driver is unknown (a problem, a
    not_recorded entry, PciDevice.driver_known False), never "no driver"."""
    lspci = (
        "0000:01:00.0 VGA compatible controller [0300]: NVIDIA GA102 [10de:2204] (rev a1)\n"
        "\tKernel driver in use: \x1b[31mnvidia\n\n"
    )
    manifest, host = translate(report(tmp_path, {LSPCI: lspci}), tmp_path)
    said = manifest["not_recorded"]["sys/bus/pci/devices/0000:01:00.0/driver"]
    assert "is no driver name" in said and "\\x1b" in said and "\x1b" not in said
    assert said in manifest["problems"]
    dev = host.pci().by_bdf["0000:01:00.0"]
    assert dev.driver is None and not dev.driver_known


def test_unknown_driver_gives_no_no_driver_finding(tmp_path: Path) -> None:
    """pci.gpus says no "has no driver bound" of a GPU whose driver lspci names unreadably."""
    lspci = (
        "0000:01:00.0 VGA compatible controller [0300]: NVIDIA GA102 [10de:2204] (rev a1)\n"
        "\tKernel driver in use: \x1b[31mnvidia\n\n"
    )
    found = probe_json(report(tmp_path, {LSPCI: lspci}), "pci.gpus")["pci.gpus"]
    assert "GPU_NO_DRIVER" not in {f["code"] for f in found["findings"]}
    assert found["facts"]["gpus"][0]["driver_known"] is False


def test_hostdev_with_unknown_driver_is_not_judged() -> None:
    """libvirt.domains: a hostdev whose driver is not known is "not recorded", never "on no
    driver, not vfio-pci"."""
    dev = PciDevice("0000:01:00.0", "10de", "2204", "030000", iommu_group=1, driver_known=False)
    inv = PciInventory((dev,), {1: ("0000:01:00.0",)}, "sysfs")
    found = check_hostdevs("vm", True, [("0000:01:00.0", False)], inv)
    assert [f.code for f in found] == ["DOMAIN_HOSTDEV_DRIVER_NOT_RECORDED"]
