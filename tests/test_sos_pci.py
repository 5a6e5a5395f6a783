"""A sosreport's PCI inventory, IOMMU groups, boot VGA and IOMMU evidence (workbench.sos)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sosfixtures import HOSTS, HOTSOS, load_facts, lspci_text, write_sos_fixture
from workbench.sos.groups import nodedev_groups
from workbench.sos.lspci import parse_lspci
from workbench.sos.nodedev import parse_node_device
from workbench.sos.translate import build_root

WORKBENCH = Path(sys.executable).with_name("workbench")
DUO = HOSTS / "asokolsky-duo-z370-gt1030.json"  # Intel: i915 at 00:02.0, GT 1030 at 01:00.0
needs_hosts = pytest.mark.skipif(not DUO.exists(), reason="../shared/hosts is absent")

GPU = (
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP108 [GeForce GT 1030] "
    "[10de:1d01] (rev a1) (prog-if 00 [VGA controller])\n"
    "\tSubsystem: ASUSTeK Computer Inc. Device [1043:85f4]\n"
    "\tIOMMU group: 1\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tKernel modules: nouveau, nvidia_drm\n"
)


def translate(report: Path, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The machine root of a report directory, and its manifest."""
    out = tmp / "root"
    out.mkdir(parents=True)
    return out, build_root(report, out, report.name)


def probe(report: Path, *only: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    """(exit status, probes by id, stderr) of `workbench probe --sos REPORT --json`."""
    args = [str(WORKBENCH), "probe", "--sos", str(report), "--json"]
    if only:
        args += ["--only", ",".join(only)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    probes = {p["id"]: p for p in json.loads(done.stdout)["probes"]} if done.stdout else {}
    return done.returncode, probes, done.stderr


# --- lspci ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bdf", "cls", "ids", "driver", "group"),
    [
        (GPU, "0000:01:00.0", "030000", ("10de", "1d01"), "vfio-pci", 1),
        ("0000:01:00.0 " + GPU[8:], "0000:01:00.0", "030000", ("10de", "1d01"), "vfio-pci", 1),
        (
            "0001:02:00.1 Audio device [0403]: NVIDIA Corporation GP108 [10de:0fb8] (rev a1)\n",
            "0001:02:00.1",
            "040300",
            ("10de", "0fb8"),
            None,
            None,
        ),
        (
            "01:00.0 0300: 10de:1d01 (rev a1)\n\tKernel driver in use: nouveau\n",
            "0000:01:00.0",
            "030000",
            ("10de", "1d01"),
            "nouveau",
            None,
        ),
        (
            "01:00.0 VGA compatible controller: NVIDIA Corporation GP108 [GeForce GT 1030] (rev a1)\n",
            "0000:01:00.0",
            "030000",
            (None, None),
            None,
            None,
        ),
        (
            "05:00.0 Class [ff00]: Device [1d6a:07b1] (rev 02)\n",
            "0000:05:00.0",
            "ff0000",
            ("1d6a", "07b1"),
            None,
            None,
        ),
        (
            "00:14.0 USB controller [0c03]: Intel Corporation Device [8086:7ae0] (rev 11) "
            "(prog-if 30 [XHCI])\n",
            "0000:00:14.0",
            "0c0330",
            ("8086", "7ae0"),
            None,
            None,
        ),
        (GPU.replace("\n", "\r\n"), "0000:01:00.0", "030000", ("10de", "1d01"), "vfio-pci", 1),
    ],
    ids=["nnvv", "domain", "other-domain", "nvv", "vv-names", "unknown-class", "prog-if", "crlf"],
)
def test_lspci_forms(
    text: str,
    bdf: str,
    cls: str,
    ids: tuple[str | None, str | None],
    driver: str | None,
    group: int | None,
) -> None:
    """Each form pciutils 3.5-3.13 prints gives the function's address, class, ids, driver."""
    listing = parse_lspci(text)
    assert len(listing.devices) == 1 and not listing.problems
    dev = listing.devices[0]
    assert (dev.bdf, dev.pci_class, (dev.vendor, dev.device)) == (bdf, cls, ids)
    assert (dev.driver, dev.iommu_group) == (driver, group)


def test_lspci_own_warning_is_said_not_counted() -> None:
    """lspci's stderr line that sos keeps (`lspci: Unable to load libkmod...`) is quoted, not noise."""
    listing = parse_lspci("lspci: Unable to load libkmod resources: error -2\n" + GPU)
    assert [d.bdf for d in listing.devices] == ["0000:01:00.0"] and listing.skipped == 0
    assert listing.problems == ["lspci said: Unable to load libkmod resources: error -2"]


def test_lspci_garbage_is_counted_never_fatal() -> None:
    """Binary, a 100 kB line, unreadable device lines and header type 7f are said; the rest read."""
    text = (
        "\x00\x01\x02binary\xff\n"
        + "x" * 100_000
        + "\n"
        + "00:1f.9 not a function\n"
        + "10000:e0:06.0 PCI bridge [0604]: Intel Corporation Device [8086:464d]\n"
        + "02:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1c82] "
        "(rev ff) (prog-if ff)\n\t!!! Unknown header type 7f\n\tKernel driver in use: vfio-pci\n\n"
        + GPU
        + "\x1b[31mred\n"
    )
    listing = parse_lspci(text)
    assert [d.bdf for d in listing.devices] == ["0000:02:00.0", "0000:01:00.0"]
    said = " | ".join(listing.problems)
    assert "00:1f.9 not a function" in said and "10000:e0:06.0" in said
    assert "overlong or binary" in said and "Unknown header type 7f" in said
    assert listing.skipped >= 4
    assert all("\x1b" not in p for p in listing.problems)


def test_lspci_names_never_carry_control_codes() -> None:
    """A device name with terminal escapes is kept as shown text, never as control codes."""
    listing = parse_lspci(
        "01:00.0 VGA compatible controller [0300]: Evil\x1b]0;x\x07 [10de:1d01]\n"
    )
    assert "\x1b" not in listing.devices[0].name and "\\x1b" in listing.devices[0].name


# --- node-device XML --------------------------------------------------------------------------


def parse_nodedev(text: str) -> dict[str, int] | None:
    """bdf -> group of one node-device XML; None for text that is not such XML (or is
    refused as hostile: read_nodedevs names that file in the manifest's problems)."""
    try:
        dev = parse_node_device(text)
    except ValueError:
        return None
    return None if dev is None else nodedev_groups([dev])


def test_nodedev_hostile_xml_is_refused() -> None:
    """Entities, non-XML and out-of-range numbers give nothing; a good file gives its group."""
    good = (
        "<device><capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot>"
        "<function>0</function><iommuGroup number='7'>"
        "<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>"
        "</iommuGroup></capability></device>"
    )
    assert parse_nodedev(good) == {"0000:01:00.0": 7, "0000:01:00.1": 7}
    laughs = '<!DOCTYPE d [<!ENTITY a "aaaa">]><device>&a;</device>'
    assert parse_nodedev(laughs) is None
    assert parse_nodedev("not xml <") is None
    assert parse_nodedev(good.replace("'7'", "'99999999999'")) is None
    assert parse_nodedev(good.replace("bus='0x01'", "bus='../..'")) == {"0000:01:00.0": 7}


def test_two_nodedev_files_of_one_address_keep_the_first(tmp_path: Path) -> None:
    """Two node-device files naming one address: the report is still read, the first kept and
    the duplicate said."""
    xml = (
        "<device><driver><name>{drv}</name></driver><capability type='pci'><domain>0</domain>"
        "<bus>1</bus><slot>0</slot><function>0</function><class>0x030000</class>"
        "<vendor id='0x10de'/><product id='0x1d01'/><iommuGroup number='1'>"
        "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>"
        "</iommuGroup></capability></device>"
    )
    report = tmp_path / "sos"
    virsh = report / "sos_commands/virsh"
    virsh.mkdir(parents=True)
    (report / "version.txt").write_text("sosreport: 4.5.6\n")
    (virsh / "virsh_-r_nodedev-dumpxml_pci_0000_01_00_0").write_text(xml.format(drv="vfio-pci"))
    (virsh / "virsh_-r_nodedev-dumpxml_pci_0000_01_00_0_copy").write_text(xml.format(drv="nouveau"))
    root, manifest = translate(report, tmp_path)
    assert (root / "sys/bus/pci/devices/0000:01:00.0/driver").readlink().name == "vfio-pci"
    assert any(
        "1 node-device file(s) describe an address already read" in p
        and "_copy (0000:01:00.0)" in p
        for p in manifest["problems"]
    )


def test_nodedev_xml_with_a_dtd_is_refused_by_the_one_untrusted_parser() -> None:
    """A DOCTYPE in any case or spacing (what safexml refuses) gives nothing."""
    good = (
        "<device><capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot>"
        "<function>0</function></capability></device>"
    )
    assert parse_nodedev(good) == {}
    assert parse_nodedev("<!doctype device>" + good) is None
    assert parse_nodedev("<! DOCTYPE device>" + good) is None


def _pci_manifest(status: dict[str, Any] | None) -> str:
    """The JSON of a sosreport manifest whose pci plugin ran `lspci -nnvv` as `status` says
    (None: the pci plugin did not run)."""
    plugins = {"pci": {"commands": [{"exec": "lspci -nnvv", **status}]}} if status else {}
    return json.dumps({"components": {"report": {"plugins": plugins}}})


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (
            {"filepath": None, "return_code": 127},
            "`lspci -nnvv` was not installed on the machine (exit 127); collected by the pci",
        ),
        (None, "the pci plugin did not run; collected by the pci plugin"),
    ],
)
def test_missing_lspci_says_why_from_the_reports_manifest(
    tmp_path: Path, status: dict[str, Any] | None, says: str
) -> None:
    """No lspci output: the hint says what the report's own manifest says of lspci (pciutils
    not installed, or the pci plugin not run), then what collects it."""
    report = tmp_path / "sos"
    (report / "sos_commands").mkdir(parents=True)
    (report / "sos_reports").mkdir()
    (report / "version.txt").write_text("sosreport: 4.5.6\n")
    (report / "sos_reports/manifest.json").write_text(_pci_manifest(status))
    _, manifest = translate(report, tmp_path)
    hint = manifest["not_recorded"]["sys/bus/pci/devices"]
    assert hint.startswith("not in this sosreport: needs lspci -nnvv (" + says)
    assert manifest["not_recorded"]["sys/kernel/iommu_groups"] == hint


@needs_hosts
def test_nodedev_is_preferred_and_a_disagreement_is_said(tmp_path: Path) -> None:
    """When lspci and the node-device XML disagree, the XML's groups are used and it is said."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos", groups=("nodedev", "lspci"))
    lspci = report / "sos_commands/pci/lspci_-nnvv"
    lspci.write_text(lspci.read_text().replace("IOMMU group: 1\n", "IOMMU group: 42\n", 1))
    root, manifest = translate(report, tmp_path)
    assert manifest["sources"]["iommu_groups"].startswith("nodedev: ")
    assert any("nodedev and lspci disagree" in p for p in manifest["problems"])
    assert not (root / "sys/kernel/iommu_groups/42").exists()


@needs_hosts
def test_virt_profile_without_lspci_reads_libvirts_node_devices(tmp_path: Path) -> None:
    """No lspci but node-device XML (`sos report -p virt`): the GPUs judged as on the root."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos", groups="nodedev")
    (report / "lspci").unlink()
    (report / "sos_commands/pci/lspci_-nnvv").unlink()
    _, got, _ = probe(report, "pci.gpus", "iommu.enabled")
    gpus = {g["bdf"]: g for g in got["pci.gpus"]["facts"]["gpus"]}
    assert sorted(gpus) == ["0000:00:02.0", "0000:01:00.0"]
    assert gpus["0000:00:02.0"]["driver"] == "i915" and gpus["0000:01:00.0"]["isolated"] is True
    assert got["pci.gpus"]["summary"] == "2 GPU(s); passthrough-ready: 0000:01:00.0"


# --- groups from the kernel log, /dev/vfio, packages --------------------------------------------


@needs_hosts
def test_dmesg_groups_only_from_a_log_that_starts_at_boot(tmp_path: Path) -> None:
    """`Adding to iommu group` lines of a wrapped ring buffer are not taken as the groups."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos", groups="dmesg", pciutils=None)
    dmesg = report / "sos_commands/kernel/dmesg"
    lines = dmesg.read_text().splitlines()
    dmesg.write_text("\n".join(line for line in lines if "Linux version" not in line)[20:] + "\n")
    _, manifest = translate(report, tmp_path)
    assert "sys/kernel/iommu_groups" in manifest["not_recorded"]
    assert any("does not start at boot" in p for p in manifest["problems"])
    assert manifest["evidence"]["iommu"]  # the IOMMU is still proven on


@needs_hosts
def test_dev_vfio_proves_the_iommu_on(tmp_path: Path) -> None:
    """/dev/vfio/N in the /dev listing makes iommu.enabled pass; the groups stay not recorded."""
    report = write_sos_fixture(
        load_facts(DUO), tmp_path / "sos", groups="none", pciutils=None, iommu_lines=False
    )
    listing = report / "sos_commands/block/ls_-lanR_.dev"
    listing.parent.mkdir(parents=True)
    listing.write_text(
        "/dev:\ntotal 0\ndrwxr-xr-x  2 0 0 80 Nov 29 10:00 vfio\n\n/dev/vfio:\ntotal 0\n"
        "crw-------  1 0 0 243,   0 Nov 29 10:00 12\ncrw-rw-rw-  1 0 0  10, 196 Nov 29 10:00 vfio\n"
    )
    status, probes, _ = probe(report, "iommu.enabled")
    enabled = probes["iommu.enabled"]
    assert enabled["status"] == "pass" and "/dev/vfio/12" in enabled["summary"]
    assert "not in this sosreport" in enabled["summary"]
    assert status == 0


@needs_hosts
@pytest.mark.parametrize(
    ("lists", "groups_dir"),
    [
        (
            {"sos_commands/dpkg/dpkg_-l": "ii  pciutils:amd64  1:3.7.0-6  amd64  PCI utilities\n"},
            True,
        ),
        ({"installed-rpms": "pciutils-3.7.0-5.el9.x86_64     Tue Nov 29 2026\n"}, True),
        ({"installed-rpms": "pciutils-libs-3.9.0-1.x86_64\npciutils-3.6.4-1.x86_64\n"}, False),
        ({"sos_commands/dpkg/dpkg_-l": "rc  pciutils  1:3.9.0-1  amd64  removed\n"}, False),
        ({}, False),
    ],
    ids=["dpkg-3.7", "rpm-3.7", "rpm-3.6", "dpkg-removed", "no-list"],
)
def test_no_group_lines_are_no_groups_only_when_pciutils_proves_it(
    lists: dict[str, str], groups_dir: bool, tmp_path: Path
) -> None:
    """lspci of pciutils >= 3.7 without a group line and no IOMMU line: a real 'no groups'."""
    report = write_sos_fixture(
        load_facts(DUO), tmp_path / "sos", groups="none", pciutils=None, iommu_lines=False
    )
    for rel, text in lists.items():
        (report / rel).parent.mkdir(parents=True, exist_ok=True)
        (report / rel).write_text(text)
    root, manifest = translate(report, tmp_path)
    assert (root / "sys/kernel/iommu_groups").is_dir() is groups_dir
    assert ("sys/kernel/iommu_groups" in manifest["not_recorded"]) is not groups_dir
    if groups_dir:
        assert manifest["sources"]["iommu_groups"].startswith("none: lspci of pciutils 3.7")


@needs_hosts
def test_proven_no_groups_fail_names_the_proof(tmp_path: Path) -> None:
    """pciutils 3.9 printed no group line: IOMMU off, said from that proof, not from /sys/class."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos", groups="none", iommu_lines=False)
    status, got, _ = probe(report, "iommu.enabled")
    (finding,) = got["iommu.enabled"]["findings"]
    assert status == 1 and finding["code"] == "IOMMU_OFF"
    assert "lspci of pciutils 3.9 (sos_commands/dpkg/dpkg_-l)" in finding["message"]
    assert "/sys/class/iommu" not in finding["message"]


@needs_hosts
def test_kernel_says_off(tmp_path: Path) -> None:
    """`DMAR: IOMMU disabled` fails iommu.enabled quoting the line; no line at all is a skip."""
    facts = load_facts(DUO)
    quiet = write_sos_fixture(
        facts, tmp_path / "q", groups="none", pciutils=None, iommu_lines=False
    )
    off = write_sos_fixture(facts, tmp_path / "o", groups="none", pciutils=None, iommu_lines=False)
    dmesg = off / "sos_commands/kernel/dmesg"
    dmesg.write_text(dmesg.read_text() + "[    0.200000] DMAR: IOMMU disabled\n")
    _, got, _ = probe(quiet, "iommu.enabled")
    assert got["iommu.enabled"]["status"] == "skip"
    assert "shows no IOMMU line" in got["iommu.enabled"]["summary"]
    status, got, _ = probe(off, "iommu.enabled")
    assert got["iommu.enabled"]["status"] == "fail" and status == 1
    assert "DMAR: IOMMU disabled" in got["iommu.enabled"]["summary"]


@needs_hosts
def test_intel_iommu_on_echo_alone_proves_nothing(tmp_path: Path) -> None:
    """`DMAR: IOMMU enabled` and IRQ remapping without VT-d's own line: a skip that quotes them."""
    report = write_sos_fixture(
        load_facts(DUO), tmp_path / "sos", groups="none", pciutils=None, iommu_lines=False
    )
    dmesg = report / "sos_commands/kernel/dmesg"
    dmesg.write_text(
        dmesg.read_text()
        + "[    0.100000] DMAR: IOMMU enabled\n"
        + "[    0.200000] DMAR-IR: Enabled IRQ remapping in x2apic mode\n"
    )
    status, got, _ = probe(report, "iommu.enabled")
    enabled = got["iommu.enabled"]
    assert enabled["status"] == "skip" and status == 0
    assert "has only `[    0.100000] DMAR: IOMMU enabled` and 1 more" in enabled["summary"]
    assert "does not prove DMA translation on" in enabled["summary"]


@needs_hosts
def test_journal_of_this_boot_gives_groups_and_boot_vga(tmp_path: Path) -> None:
    """Without dmesg, this boot's journal (sos 4.4+ name) gives the groups, vgaarb and evidence."""
    facts = load_facts(DUO)
    report = write_sos_fixture(facts, tmp_path / "sos", groups="dmesg", pciutils=None)
    dmesg = report / "sos_commands/kernel/dmesg"
    journal = report / "sos_commands/logs/journalctl_--no-pager_--boot"
    journal.parent.mkdir(parents=True)
    lines = [line.split("] ", 1)[1] for line in dmesg.read_text().splitlines()]
    journal.write_text("".join(f"Nov 29 10:00:00 duo kernel: {line}\n" for line in lines))
    (report / "sos_commands/logs/journalctl_--no-pager_--boot_-1").write_text(
        "Nov 28 10:00:00 duo kernel: pci 0000:01:00.0: Adding to iommu group 99\n"
    )
    dmesg.unlink()
    root, manifest = translate(report, tmp_path)
    assert manifest["sources"]["iommu_groups"] == "dmesg: " + str(journal.relative_to(report))
    assert (root / "sys/bus/pci/devices/0000:01:00.0/iommu_group").resolve().name == "2"
    assert (root / "sys/bus/pci/devices/0000:00:02.0/boot_vga").read_text() == "1\n"
    assert manifest["evidence"]["iommu"]


def _wrapped_dmesg_and_boot_journal(tmp_path: Path, padding: int = 0) -> Path:
    """A report whose dmesg lost the boot (no IOMMU line left) and whose boot journal holds
    it, `padding` bytes of later kernel lines after."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos", groups="dmesg", pciutils=None)
    dmesg = report / "sos_commands/kernel/dmesg"
    lines = [line.split("] ", 1)[1] for line in dmesg.read_text().splitlines()]
    journal = report / "sos_commands/logs/journalctl_--no-pager_--boot"
    journal.parent.mkdir(parents=True)
    with journal.open("w") as fh:
        fh.write("".join(f"Nov 29 10:00:00 duo kernel: {line}\n" for line in lines))
        later = "Nov 29 11:00:00 duo kernel: usb 1-1: new high-speed USB device number 9\n"
        fh.write(later * (padding // len(later) + 1 if padding else 0))
    dmesg.write_text("[ 9000.000000] usb 1-1: new high-speed USB device number 9\n")
    return report


@needs_hosts
@pytest.mark.parametrize("padding", [0, 17 * 1024 * 1024], ids=["small", "over-16MiB"])
def test_wrapped_dmesg_gives_way_to_the_boot_journal_for_groups_too(
    tmp_path: Path, padding: int
) -> None:
    """A wrapped dmesg and a boot journal (even over 16 MiB): groups and IOMMU from the journal."""
    report = _wrapped_dmesg_and_boot_journal(tmp_path, padding)
    journal = "sos_commands/logs/journalctl_--no-pager_--boot"
    root, manifest = translate(report, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"] == journal
    assert manifest["sources"]["iommu_groups"] == f"dmesg: {journal}"
    assert manifest["evidence"]["iommu_log"] == [f"{journal} (starts at boot)"]
    assert (root / "sys/bus/pci/devices/0000:01:00.0/iommu_group").resolve().name == "2"
    status, probes, _ = probe(report, "iommu.enabled", "pci.gpus")
    assert probes["iommu.enabled"]["status"] == "pass"
    shown = json.dumps(probes["pci.gpus"])
    assert "isolation not recorded" not in shown and "cannot be judged" not in shown
    assert status in (0, 1)


def test_hostile_driver_and_group_names_never_become_paths(tmp_path: Path) -> None:
    """A driver `../../x`, a group `1/../../y`: left out; nothing is written outside the root."""
    text = GPU.replace("vfio-pci", "../../../../escaped").replace(
        "IOMMU group: 1", "IOMMU group: 1/../../y"
    )
    report = _bare_report(tmp_path, text)
    root, _ = translate(report, tmp_path / "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["root"]
    assert not (root / "sys/bus/pci/devices/0000:01:00.0/driver").exists()
    assert not (root / "sys/kernel/iommu_groups").exists()


# --- boot VGA ----------------------------------------------------------------------------------


@needs_hosts
def test_boot_vga_from_vgaarb_or_not_recorded(tmp_path: Path) -> None:
    """vgaarb's lines give boot_vga; without them there is no file and a hint in the manifest."""
    facts = load_facts(DUO)
    root, _ = translate(write_sos_fixture(facts, tmp_path / "a"), tmp_path / "x")
    devices = root / "sys/bus/pci/devices"
    assert (devices / "0000:00:02.0/boot_vga").read_text() == "1\n"
    assert (devices / "0000:01:00.0/boot_vga").read_text() == "0\n"
    root, manifest = translate(
        write_sos_fixture(facts, tmp_path / "b", vgaarb=False), tmp_path / "y"
    )
    assert not (root / "sys/bus/pci/devices/0000:00:02.0/boot_vga").exists()
    assert "sys/bus/pci/devices/0000:00:02.0/boot_vga" in manifest["not_recorded"]


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="the hotsos sosreport slice is absent")
def test_hotsos_boot_vga_from_the_journal_its_kernel_log_came_from(tmp_path: Path) -> None:
    """The real sos 4.2 slice's dmesg lost the boot; its boot journal's vgaarb line is read."""
    _, manifest = translate(HOTSOS, tmp_path)
    journal = "sos_commands/logs/journalctl_--no-pager_--catalog_--boot"
    assert manifest["facts"]["kernel_log"]["origin"] == journal
    assert manifest["sources"]["boot_vga"] == journal
    _, got, _ = probe(HOTSOS, "pci.gpus")
    assert got["pci.gpus"]["facts"]["gpus"][0]["boot_vga"] is True
    shown = " ".join(f["message"] for f in got["pci.gpus"]["findings"])
    assert "the host boots on it" in shown


# --- bad input ---------------------------------------------------------------------------------


def _bare_report(tmp_path: Path, lspci: str | bytes | None) -> Path:
    report = tmp_path / "sos"
    (report / "sos_commands/pci").mkdir(parents=True)
    (report / "version.txt").write_text("sosreport: 4.5.6\n")
    if lspci is not None:
        path = report / "sos_commands/pci/lspci_-nnvv"
        path.write_bytes(lspci if isinstance(lspci, bytes) else lspci.encode())
    return report


def test_report_without_lspci_says_what_to_collect(tmp_path: Path) -> None:
    """No lspci: pci.gpus and iommu.enabled skip naming the pci plugin; no traceback."""
    status, got, err = probe(_bare_report(tmp_path, None), "pci.gpus", "iommu.enabled")
    assert "Traceback" not in err
    for pid in ("pci.gpus", "iommu.enabled"):
        assert got[pid]["status"] == "skip"
        assert "not in this sosreport: needs lspci -nnvv" in got[pid]["summary"]
        assert "sos report -o pci" in got[pid]["summary"]
    assert status == 0


def test_garbage_lspci_is_said_in_the_manifest(tmp_path: Path) -> None:
    """Binary lspci: the devices it holds are read, the garbage counted in the problems."""
    data = (
        b"\x00\xff" * 60_000
        + b"\n"
        + lspci_text(
            [
                {
                    "bdf": "0000:00:02.0",
                    "class": "0300",
                    "vendor": "8086",
                    "device": "3e92",
                    "name": "Intel Corporation UHD 630",
                    "rev": "02",
                    "driver": "i915",
                }
            ],
            group_lines=False,
        ).encode()
    )
    report = _bare_report(tmp_path, data)
    _, manifest = translate(report, tmp_path)
    assert any("overlong or binary" in p for p in manifest["problems"])
    status, got, err = probe(report, "pci.gpus")
    assert "Traceback" not in err and status in (0, 1)
    assert [g["bdf"] for g in got["pci.gpus"]["facts"]["gpus"]] == ["0000:00:02.0"]


def test_lspci_of_nothing_but_garbage_is_not_recorded(tmp_path: Path) -> None:
    """An lspci file without one readable function: the devices are not recorded, not 'no GPU'."""
    status, got, err = probe(_bare_report(tmp_path, b"\x00garbage\n" * 100), "pci.gpus")
    assert "Traceback" not in err and status == 0
    assert got["pci.gpus"]["status"] == "skip"
    assert "not in this sosreport: needs a readable lspci -nnvv" in got["pci.gpus"]["summary"]


@pytest.mark.skipif(shutil.which("sos") is None, reason="Debian's sosreport is not installed")
def test_real_sos_report_of_this_machine(tmp_path: Path) -> None:
    """A real `sos report` here: every PCI function of /sys, its class, no wrong IOMMU verdict."""
    subprocess.run(
        [
            "sos",
            "report",
            "--batch",
            "--build",
            "-o",
            "pci,kernel,processor,block",
            "--tmp-dir",
            str(tmp_path),
        ],
        capture_output=True,
        timeout=300,
        check=True,
    )
    (report,) = [p for p in tmp_path.iterdir() if p.name.startswith("sosreport-")]
    root, manifest = translate(report, tmp_path / "x")
    live = sorted(os.listdir("/sys/bus/pci/devices"))
    assert sorted(os.listdir(root / "sys/bus/pci/devices")) == live
    for bdf in live:
        want = Path(f"/sys/bus/pci/devices/{bdf}/class").read_text().strip()
        assert (root / f"sys/bus/pci/devices/{bdf}/class").read_text().strip() == want
    assert not [p for p in manifest["problems"] if "not understood" in p]
    _, got, err = probe(report, "iommu.enabled", "pci.gpus")
    assert "Traceback" not in err
    enabled = got["iommu.enabled"]["status"]
    live_groups = os.listdir("/sys/kernel/iommu_groups")
    assert enabled in (("pass", "skip") if live_groups else ("skip", "fail"))
