"""vm.preflight: can each VM start now, and why its last start failed, on recorded machines
(roots from snapshots/hosts with a recorded hypervisor) and on this one (libvirt's test
driver)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_facts, report_for, run_cli
from workbench.core.report import ProbeResult, Report
from workbench.virt.recorded import domain_member

ONLY = ["vm.preflight"]
SHUTOFF, RUNNING = 5, 1
KIB_1G = 1 << 20


def hostdev(bdf: str, managed: bool = True, rom: str | None = None) -> str:
    dom, bus, rest = bdf.split(":")
    slot, fn = rest.split(".")
    return (
        f"<hostdev mode='subsystem' type='pci' managed='{'yes' if managed else 'no'}'><source>"
        f"<address domain='0x{dom}' bus='0x{bus}' slot='0x{slot}' function='0x{fn}'/>"
        "</source>" + (f"<rom file='{rom}'/>" if rom else "") + "</hostdev>"
    )


def domain_xml(
    name: str,
    devices: list[str],
    memory_kib: int = 8 * KIB_1G,
    pages: str | None = None,
    extra: str = "",
) -> str:
    """A domain as libvirt describes it; `pages` is the <hugepages> content ('' for the
    default size), `extra` more top-level elements (<numatune>, <seclabel>, <os>)."""
    backing = (
        "" if pages is None else f"<memoryBacking><hugepages>{pages}</hugepages></memoryBacking>"
    )
    return (
        f"<domain type='kvm'><name>{name}</name><memory unit='KiB'>{memory_kib}</memory>"
        f"{backing}<vcpu>4</vcpu>{extra}<devices>{''.join(devices)}</devices></domain>"
    )


def record_hypervisor(
    root: Path, domains: list[tuple[str, int, str]], uri: str = "qemu:///system"
) -> Path:
    """Write the recording a capture makes of a hypervisor (libvirt/ in the root)."""
    lib = root / "libvirt"
    (lib / "domains").mkdir(parents=True)
    (lib / "connection.json").write_text(
        json.dumps({"uri": uri, "hypervisor": "QEMU", "libvirt_version": "10.0.0"})
    )
    listing = [{"name": n, "state": s, "reason": 0, "persistent": True} for n, s, _ in domains]
    (lib / "domains.json").write_text(json.dumps(listing))
    for name, _, xml in domains:
        (root / domain_member(name)).write_text(xml)
    return root


def with_drivers(name: str, drivers: dict[str, str | None], **changes: Any) -> dict[str, Any]:
    """A recorded machine's facts with these devices bound to these drivers."""
    facts = load_facts(name)
    for dev in facts["devices"]:
        if dev["bdf"] in drivers:
            dev["driver"] = drivers[dev["bdf"]]
    facts.update(changes)
    return facts


# A device's own state as a capture records it (pci.device_state): BAR 0 and the 64-bit BAR 1.
BARS = "\n".join(
    [
        "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200",
        "0x00000000e0000000 0x00000000efffffff 0x000000000014220c",
    ]
)
AUDIO_BAR = "0x00000000f7080000 0x00000000f7083fff 0x0000000000040200"
CONFIG_OK = "de10011d0704100000000003" + "00" * 52
IOMEM_EFIFB_ELSEWHERE = ["00000000-00000fff : Reserved", "c0000000-c02fffff : efifb"]


def with_state(
    facts: dict[str, Any],
    bdfs: list[str],
    changes: dict[str, dict[str, str]] | None = None,
    iomem: list[str] = IOMEM_EFIFB_ELSEWHERE,
) -> dict[str, Any]:
    """These devices' state recorded, healthy (BARs, D0, config space) but for `changes`
    (per device), and /proc/iomem."""
    for dev in facts["devices"]:
        if dev["bdf"] in bdfs:
            bars = BARS if dev["class"] == "0300" else AUDIO_BAR
            dev.update(resource=bars, power_state="D0", config=CONFIG_OK)
            dev.update((changes or {}).get(dev["bdf"], {}))
    facts["iomem"] = iomem
    return facts


def preflight(root: Path) -> tuple[ProbeResult, Report]:
    report = report_for(root, only=ONLY)
    return report.get("vm.preflight"), report


def checks(result: ProbeResult, vm: str, kind: str) -> list[dict[str, Any]]:
    return [c for c in result.facts["vms"][vm]["checks"] if c["check"] == kind]


def causes(result: ProbeResult, vm: str) -> list[str]:
    return [c["code"] for c in result.facts["vms"][vm]["causes"]]


DEMO_GPU = [hostdev("0000:01:00.0"), hostdev("0000:01:00.1")]


def test_ready_when_everything_a_start_needs_is_there(make_root: Callable[..., Path]) -> None:
    """The demo's RTX 3080 and its audio, both on vfio-pci in their own group: ready, pass."""
    root = record_hypervisor(
        make_root("demo-workstation"), [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU))]
    )
    result, _ = preflight(root)
    assert result.status == "pass", result.findings
    vm = result.facts["vms"]["win11"]
    assert vm["ready"] is True
    assert vm["causes"] == []
    assert {c["check"] for c in vm["checks"]} >= {"hostdev", "iommu_group", "card", "vfio_node"}
    assert result.summary == "can start: win11"


def test_missing_hostdev_is_not_ready_and_reported_once(make_root: Callable[..., Path]) -> None:
    """A hostdev the machine lacks: not ready; libvirt.domains' finding names it, no second one."""
    root = record_hypervisor(
        make_root("demo-workstation"),
        [("gone", SHUTOFF, domain_xml("gone", [*DEMO_GPU, hostdev("0000:09:00.0")]))],
    )
    result, report = preflight(root)
    assert result.facts["vms"]["gone"]["ready"] is False
    (missing,) = [c for c in checks(result, "gone", "hostdev") if c["status"] == "fail"]
    assert missing["subject"] == "0000:09:00.0"
    assert [f.code for f in report.get("libvirt.domains").findings if "09:00.0" in f.message] == [
        "DOMAIN_HOSTDEV_MISSING"
    ]
    assert not any("09:00.0" in f.message for f in result.findings)
    # ... yet the probe never passes while it says "cannot": one finding points there.
    assert result.status == "fail"
    assert [f.code for f in result.findings] == ["VM_CANNOT_START"]


def test_group_member_on_host_driver_by_the_kernel_rule(make_root: Callable[..., Path]) -> None:
    """The B550's chipset-slot Radeon: its group also holds the NIC on r8169 and USB on
    xhci_hcd: GROUP_MEMBER_NOT_VFIO, once for the group, naming a member and its driver,
    carried by libvirt.domains' finding (no second finding); the VM cannot start."""
    facts = with_drivers(
        "mapmanagement-b550-chipset-gpu",
        {
            "0000:04:00.0": "vfio-pci",
            "0000:04:00.1": "vfio-pci",
            "0000:05:00.0": "r8169",
            "0000:02:00.0": "xhci_hcd",
            "0000:02:00.1": None,
            "0000:02:00.2": "pcieport",
        },
    )
    xml = domain_xml("gamer", [hostdev("0000:04:00.0"), hostdev("0000:04:00.1")])
    root = record_hypervisor(make_root(facts), [("gamer", SHUTOFF, xml)])
    result, report = preflight(root)
    assert result.facts["vms"]["gamer"]["ready"] is False
    found = [f for r in report.probes for f in r.findings if f.cause == "GROUP_MEMBER_NOT_VFIO"]
    assert [f.code for f in found] == ["DOMAIN_GROUP_NOT_VIABLE"]
    assert report.get("libvirt.domains").status == "fail"
    (cause,) = [c for c in result.facts["causes"] if c["code"] == "GROUP_MEMBER_NOT_VFIO"]
    assert cause["subject"]["group"] == "15"
    assert cause["subject"]["vm"] == "gamer"
    assert (cause["subject"]["device"], cause["subject"]["driver"]) == ("0000:02:00.0", "xhci_hcd")
    (check,) = checks(result, "gamer", "iommu_group")
    assert "0000:05:00.0 on r8169" in check["detail"]
    assert "0000:02:00.1" not in check["detail"]  # unbound: allowed by the kernel's rule


def test_group_of_unbound_members_is_viable(make_root: Callable[..., Path]) -> None:
    """The same group with every other member unbound (bridges on pcieport): viable."""
    facts = with_drivers(
        "mapmanagement-b550-chipset-gpu",
        {"0000:04:00.0": "vfio-pci", "0000:04:00.1": "vfio-pci", "0000:02:00.2": "pcieport"},
    )
    xml = domain_xml("gamer", [hostdev("0000:04:00.0"), hostdev("0000:04:00.1")])
    root = record_hypervisor(make_root(facts), [("gamer", SHUTOFF, xml)])
    result, _ = preflight(root)
    (check,) = checks(result, "gamer", "iommu_group")
    assert check["status"] == "pass"
    assert "GROUP_MEMBER_NOT_VFIO" not in causes(result, "gamer")


def test_unmanaged_hostdev_on_host_driver(make_root: Callable[..., Path]) -> None:
    """The GTX 960 on nvidia with managed='no': HOST_DRIVER_BOUND, carried by libvirt.domains'
    finding (no second finding); the VM cannot start."""
    facts = with_drivers(
        "asrock-z170-gtx960", {"0000:01:00.0": "nvidia", "0000:01:00.1": "vfio-pci"}
    )
    devices = [hostdev("0000:01:00.0", managed=False), hostdev("0000:01:00.1", managed=False)]
    root = record_hypervisor(make_root(facts), [("w10", SHUTOFF, domain_xml("w10", devices))])
    result, report = preflight(root)
    assert result.facts["vms"]["w10"]["ready"] is False
    assert "HOST_DRIVER_BOUND" in causes(result, "w10")
    domains = report.get("libvirt.domains").findings
    assert [f.cause for f in domains if f.code == "DOMAIN_HOSTDEV_NOT_VFIO"] == [
        "HOST_DRIVER_BOUND"
    ]
    assert not [f for f in result.findings if f.cause == "HOST_DRIVER_BOUND"]


def test_managed_hostdev_on_host_driver_is_detached(make_root: Callable[..., Path]) -> None:
    """The same card with managed='yes': libvirt detaches it at start; said, not a failure."""
    facts = with_drivers(
        "asrock-z170-gtx960", {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}
    )
    facts = with_state(facts, ["0000:01:00.0", "0000:01:00.1"])
    devices = [hostdev("0000:01:00.0"), hostdev("0000:01:00.1")]
    root = record_hypervisor(make_root(facts), [("w10", SHUTOFF, domain_xml("w10", devices))])
    result, _ = preflight(root)
    gpu = checks(result, "w10", "hostdev")[0]
    assert gpu["status"] == "pass"
    assert "libvirt detaches it" in gpu["detail"]
    assert result.facts["vms"]["w10"]["ready"] is True


def test_partial_card_is_a_warning(make_root: Callable[..., Path]) -> None:
    """The GTX 960 without its audio function: INCOMPLETE_DEVICE_FUNCTIONS (warn), carried by
    libvirt.domains' DOMAIN_CARD_PARTIAL; the VM may still start."""
    facts = with_drivers(
        "asrock-z170-gtx960", {"0000:01:00.0": "vfio-pci", "0000:01:00.1": "vfio-pci"}
    )
    facts = with_state(facts, ["0000:01:00.0", "0000:01:00.1"])
    root = record_hypervisor(
        make_root(facts), [("w10", SHUTOFF, domain_xml("w10", [hostdev("0000:01:00.0")]))]
    )
    result, report = preflight(root)
    (cause,) = [c for c in result.facts["causes"] if c["code"] == "INCOMPLETE_DEVICE_FUNCTIONS"]
    assert cause["severity"] == "warn"
    assert cause["subject"]["device"] == "0000:01:00.1"
    assert result.facts["vms"]["w10"]["ready"] is True
    partial = [f for f in report.get("libvirt.domains").findings if f.code == "DOMAIN_CARD_PARTIAL"]
    assert [f.cause for f in partial] == ["INCOMPLETE_DEVICE_FUNCTIONS"]


def hugepage_root(
    make_root: Callable[..., Path], pages: dict[str, dict[str, int]], state: int, xml: str
) -> Path:
    facts = with_drivers("demo-workstation", {}, hugepages=pages)
    return record_hypervisor(make_root(facts), [("big", state, xml)])


GPU_1G = "<page size='1' unit='G'/>"


@pytest.mark.parametrize(
    ("pages", "code"),
    [
        ({"1048576": {"nr": 0, "free": 0}}, "HUGEPAGES_NOT_RESERVED"),
        ({"1048576": {"nr": 8, "free": 4}}, "HUGEPAGES_INSUFFICIENT"),
        ({"2048": {"nr": 4096, "free": 4096}}, "HUGEPAGE_SIZE_MISCONFIGURED"),
        ({"1048576": {"nr": 8, "free": 8}}, None),
    ],
)
def test_hugepages_of_its_size(
    make_root: Callable[..., Path], pages: dict[str, dict[str, int]], code: str | None
) -> None:
    """8 GiB in 1 GiB pages: none reserved, 4 free, the size missing, 8 free (ready)."""
    xml = domain_xml("big", DEMO_GPU, pages=GPU_1G)
    result, _ = preflight(hugepage_root(make_root, pages, SHUTOFF, xml))
    (check,) = checks(result, "big", "hugepages")
    assert check["cause"] == code
    assert result.facts["vms"]["big"]["ready"] is (code is None)
    if code is not None:
        (finding,) = [f for f in result.findings if f.cause == code]
        assert finding.severity == "fail"
        assert "big:" in finding.message and "1 GiB" in finding.message


def test_running_vm_holds_its_pages(make_root: Callable[..., Path]) -> None:
    """A running VM already holds its hugepages: none free is not judged against it."""
    xml = domain_xml("big", DEMO_GPU, pages=GPU_1G)
    pages = {"1048576": {"nr": 8, "free": 0}}
    result, _ = preflight(hugepage_root(make_root, pages, RUNNING, xml))
    assert checks(result, "big", "hugepages") == []
    assert "last_start" not in result.facts["vms"]["big"]


def test_hugepages_on_its_numa_node(make_root: Callable[..., Path]) -> None:
    """Memory bound to host node 1 by <numatune>: node 0's free pages do not count."""
    xml = domain_xml(
        "big",
        DEMO_GPU,
        pages=GPU_1G,
        extra="<numatune><memory mode='strict' nodeset='1'/></numatune>",
    )
    root = hugepage_root(make_root, {"1048576": {"nr": 12, "free": 12}}, SHUTOFF, xml)
    for node, (nr, free) in {0: (8, 8), 1: (4, 4)}.items():
        where = root / f"sys/devices/system/node/node{node}/hugepages/hugepages-1048576kB"
        where.mkdir(parents=True)
        (where / "nr_hugepages").write_text(f"{nr}\n")
        (where / "free_hugepages").write_text(f"{free}\n")
    result, _ = preflight(root)
    (check,) = checks(result, "big", "hugepages")
    assert check["cause"] == "HUGEPAGES_INSUFFICIENT"
    assert "4 of 4 free on NUMA node 1" in check["detail"]
    (cause,) = [c for c in result.facts["causes"] if c["code"] == "HUGEPAGES_INSUFFICIENT"]
    assert cause["subject"]["node"] == "1"
    assert any("node1" in (e.get("source") or "") for e in cause["evidence"])


def numa_root(make_root: Callable[..., Path], numatune: str, free: int = 12) -> Path:
    """8 GiB in 1 GiB pages, bound by `numatune`; `free` pages on the machine, 4 of them on
    node 1 (the rest on node 0)."""
    xml = domain_xml("big", DEMO_GPU, pages=GPU_1G, extra=f"<numatune>{numatune}</numatune>")
    root = hugepage_root(make_root, {"1048576": {"nr": 12, "free": free}}, SHUTOFF, xml)
    for node, (nr, left) in {0: (8, free - 4), 1: (4, 4)}.items():
        where = root / f"sys/devices/system/node/node{node}/hugepages/hugepages-1048576kB"
        where.mkdir(parents=True)
        (where / "nr_hugepages").write_text(f"{nr}\n")
        (where / "free_hugepages").write_text(f"{left}\n")
    return root


@pytest.mark.parametrize(
    ("numatune", "status", "cause"),
    [
        ("<memory mode='preferred' nodeset='1'/>", "warn", "HUGEPAGES_INSUFFICIENT"),
        ("<memory mode='interleave' nodeset='1'/>", "pass", None),
        ("<memory mode='restrictive' nodeset='1'/>", "fail", "HUGEPAGES_INSUFFICIENT"),
        ("<memory nodeset='1'/>", "fail", "HUGEPAGES_INSUFFICIENT"),  # libvirt's default: strict
    ],
)
def test_numatune_mode_decides_which_free_pages_count(
    make_root: Callable[..., Path], numatune: str, status: str, cause: str | None
) -> None:
    """preferred and interleave take pages from any node: the machine's 12 free decide (a
    short preferred node is a warning at most); strict and restrictive count node 1's 4."""
    result, _ = preflight(numa_root(make_root, numatune))
    (check,) = checks(result, "big", "hugepages")
    assert (check["status"], check["cause"]) == (status, cause)
    assert result.facts["vms"]["big"]["ready"] is (status != "fail")
    severities = {f.severity for f in result.findings if f.cause == "HUGEPAGES_INSUFFICIENT"}
    assert severities == ({status} if cause else set())


def test_preferred_node_with_the_machine_short_fails(make_root: Callable[..., Path]) -> None:
    """preferred, and the whole machine has 6 free for 8 pages: it cannot start."""
    result, _ = preflight(numa_root(make_root, "<memory mode='preferred' nodeset='1'/>", free=6))
    (check,) = checks(result, "big", "hugepages")
    assert (check["status"], check["cause"]) == ("fail", "HUGEPAGES_INSUFFICIENT")
    assert "6 of 12 free (preferred on NUMA node 1)" in check["detail"]


def test_default_page_size_not_recorded(make_root: Callable[..., Path]) -> None:
    """<hugepages/> (the default size) on a recording with two sizes and no Hugepagesize:
    not recorded, so `ready` is null, never true."""
    pages = {"2048": {"nr": 4096, "free": 4096}, "1048576": {"nr": 8, "free": 8}}
    xml = domain_xml("big", DEMO_GPU, pages="")
    result, _ = preflight(hugepage_root(make_root, pages, SHUTOFF, xml))
    (check,) = checks(result, "big", "hugepages")
    assert check["status"] == "not recorded"
    assert result.facts["vms"]["big"]["ready"] is None
    assert "not known: big" in result.summary


UNRELABELED = "<seclabel type='static' model='dac' relabel='no'><label>qemu:qemu</label></seclabel>"


def test_vfio_node_not_openable_without_relabel(make_root: Callable[..., Path]) -> None:
    """No DAC relabel and /dev/vfio/1 recorded as root's 0600: VFIO_DEVICE_PERMISSION for the
    seclabel's user."""
    nodes = {"/dev/vfio/1": {"kind": "char", "mode": "0600", "owner": "root", "group": "root"}}
    facts = with_drivers("demo-workstation", {}, device_nodes=nodes)
    xml = domain_xml("win11", DEMO_GPU, extra=UNRELABELED)
    root = record_hypervisor(make_root(facts), [("win11", SHUTOFF, xml)])
    result, _ = preflight(root)
    vm = result.facts["vms"]["win11"]
    assert vm["qemu_user"] == {
        "user": "qemu",
        "group": "qemu",
        "from": "seclabel",
        "relabel": False,
    }
    (check,) = checks(result, "win11", "vfio_node")
    assert check["cause"] == "VFIO_DEVICE_PERMISSION"
    assert "0600 root:root" in check["detail"]
    assert vm["ready"] is False


def test_vfio_node_relabelled_by_the_system_instance(make_root: Callable[..., Path]) -> None:
    """The system instance with DAC relabelling (the default) hands /dev/vfio/1 to QEMU's
    user, here the one qemu.conf names: not a failure."""
    root = make_root("demo-workstation")
    (root / "etc/libvirt").mkdir(parents=True)
    (root / "etc/libvirt/qemu.conf").write_text('# user = "nobody"\nuser = "libvirt-qemu"\n')
    record_hypervisor(root, [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU))])
    result, _ = preflight(root)
    vm = result.facts["vms"]["win11"]
    assert vm["qemu_user"]["user"] == "libvirt-qemu"
    assert vm["qemu_user"]["from"] == "qemu.conf"
    (check,) = checks(result, "win11", "vfio_node")
    assert check["status"] == "pass"
    assert "libvirt-qemu" in check["detail"]


def test_session_instance_cannot_open_roots_vfio_node(make_root: Callable[..., Path]) -> None:
    """qemu:///session runs QEMU as its user without relabelling: root's 0600 group file is
    VFIO_DEVICE_PERMISSION."""
    nodes = {"/dev/vfio/1": {"kind": "char", "mode": "0600", "owner": "root", "group": "root"}}
    facts = with_drivers("demo-workstation", {}, device_nodes=nodes)
    root = record_hypervisor(
        make_root(facts),
        [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU))],
        uri="qemu:///session",
    )
    result, _ = preflight(root)
    assert result.facts["vms"]["win11"]["qemu_user"]["from"] == "session"
    assert "VFIO_DEVICE_PERMISSION" in causes(result, "win11")


def test_rom_ownership_not_recorded(make_root: Callable[..., Path]) -> None:
    """A recorded machine does not record a ROM file's owner: not recorded, `ready` null."""
    devices = [hostdev("0000:01:00.0", rom="/var/lib/libvirt/vbios/3080.rom"), DEMO_GPU[1]]
    root = record_hypervisor(
        make_root("demo-workstation"), [("win11", SHUTOFF, domain_xml("win11", devices))]
    )
    result, _ = preflight(root)
    (check,) = checks(result, "win11", "rom")
    assert check["status"] == "not recorded"
    assert result.facts["vms"]["win11"]["ready"] is None


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user may traverse (pytest's own are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="workbench-rom-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the ROM must belong to another user (root)")
def test_live_rom_unreadable_by_qemus_user(shared_dir: Path) -> None:
    """On this machine, through libvirt's test driver: a root-only ROM file is unreadable by
    the seclabel's user (nobody): ROMFILE_UNREADABLE; readable by all, it passes."""
    rom = shared_dir / "gpu.rom"
    rom.write_bytes(b"\x55\xaa" + bytes(510))
    rom.chmod(0o600)
    seclabel = (
        "<seclabel type='static' model='dac' relabel='no'><label>nobody:nogroup</label></seclabel>"
    )
    extra = f"<os><type>hvm</type></os>{seclabel}"
    xml = domain_xml("rommy", [hostdev("0000:00:00.0", rom=str(rom))], extra=extra)
    xml = xml.replace("<domain type='kvm'>", "<domain type='test'>").replace(
        "</devices>", "</devices><test:runstate>5</test:runstate>"
    )
    node = shared_dir / "node.xml"
    node.write_text(f"<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>{xml}</node>")
    uri = f"test://{node}"
    result = report_for("/", connect=uri, only=ONLY).get("vm.preflight")
    (check,) = checks(result, "rommy", "rom")
    assert check["cause"] == "ROMFILE_UNREADABLE"
    assert "nobody (seclabel) cannot read it" in check["detail"]
    assert any(f.cause == "ROMFILE_UNREADABLE" for f in result.findings)
    rom.chmod(0o644)
    result = report_for("/", connect=uri, only=ONLY).get("vm.preflight")
    (check,) = checks(result, "rommy", "rom")
    assert check["status"] == "pass"


DEVICE = (
    "2026-11-21T10:00:00.500000Z qemu-system-x86_64: "
    "-device vfio-pci,host=0000:01:00.0,id=hostdev0,bus=pci.3,addr=0x0"
)
QEMU_LOG = f"""\
2026-11-20 09:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2
LC_ALL=C PATH=/usr/bin HOME=/var/lib/libvirt/qemu/domain-1-win11 /usr/bin/qemu-system-x86_64 -name guest=win11
2026-11-20T09:00:01.000000Z qemu-system-x86_64: VFIO_MAP_DMA failed: Cannot allocate memory
2026-11-20T09:00:01.000000Z qemu-system-x86_64: vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded
2026-11-20 09:00:02.000+0000: shutting down, reason=failed
2026-11-21 10:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2
LC_ALL=C PATH=/usr/bin HOME=/var/lib/libvirt/qemu/domain-2-win11 /usr/bin/qemu-system-x86_64 -name guest=win11
{DEVICE}: vfio 0000:01:00.0: group 1 is not viable
Please ensure all devices within the iommu_group are bound to their vfio bus driver.
2026-11-21 10:00:01.000+0000: shutting down, reason=failed
"""


def log_root(make_root: Callable[..., Path], log: str, audio: str = "snd_hda_intel") -> Path:
    """The demo machine with its GPU's audio on `audio`, win11 (given the GPU alone) shut off,
    and win11's QEMU log."""
    facts = with_drivers("demo-workstation", {"0000:01:00.1": audio})
    root = record_hypervisor(
        make_root(facts), [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU[:1]))]
    )
    (root / "var/log/libvirt/qemu").mkdir(parents=True)
    (root / "var/log/libvirt/qemu/win11.log").write_text(log)
    return root


def test_last_start_failure_explained(make_root: Callable[..., Path]) -> None:
    """The last start's `group 1 is not viable`, with the audio on snd_hda_intel, is
    GROUP_MEMBER_NOT_VFIO from the log, with its line; the earlier start's memlock failure is
    not reported; the cause that still holds is one finding of the report (libvirt.domains'),
    not two."""
    result, report = preflight(log_root(make_root, QEMU_LOG))
    vm = result.facts["vms"]["win11"]
    start = vm["last_start"]
    assert (start["failed"], start["reason"], start["first_line"]) == (True, "failed", 6)
    assert start["causes"][0] == "GROUP_MEMBER_NOT_VFIO"
    assert "MEMLOCK_LIMIT" not in start["causes"]
    from_log = [c for c in vm["causes"] if any(e["line"] == 8 for e in c["evidence"])]
    assert from_log[0]["code"] == "GROUP_MEMBER_NOT_VFIO"
    assert from_log[0]["evidence"][0]["source"] == "/var/log/libvirt/qemu/win11.log"
    assert from_log[0]["subject"]["vm"] == "win11"
    found = [f.cause for r in report.probes for f in r.findings]
    assert found.count("GROUP_MEMBER_NOT_VFIO") == 1
    assert vm["ready"] is False


def test_last_start_failure_fixed_since(make_root: Callable[..., Path]) -> None:
    """The audio on vfio-pci now: the checks pass, the last start's failure is a finding of its
    own (the ambiguous line's runner-up is not), and `ready` is null, not true."""
    result, _ = preflight(log_root(make_root, QEMU_LOG, audio="vfio-pci"))
    vm = result.facts["vms"]["win11"]
    assert vm["ready"] is None
    logged = [f for f in result.findings if "last start failed" in f.message]
    assert [f.cause for f in logged] == ["GROUP_MEMBER_NOT_VFIO"]
    assert "HOST_DRIVER_BOUND" in vm["last_start"]["causes"]  # a candidate, kept as a fact


def test_last_start_memlock(make_root: Callable[..., Path]) -> None:
    """A last start that failed on the locked-memory limit: MEMLOCK_LIMIT, from the log alone."""
    first = QEMU_LOG.split("2026-11-21 10:00:00.000+0000")[0]
    result, _ = preflight(log_root(make_root, first, audio="vfio-pci"))
    logged = [f for f in result.findings if "last start failed" in f.message]
    assert logged[0].cause == "MEMLOCK_LIMIT"
    assert logged[0].severity == "fail"
    assert result.status == "fail"


def test_last_start_that_succeeded_names_no_cause(make_root: Callable[..., Path]) -> None:
    """A last section that ended with reason=shutdown: its start did not fail."""
    log = QEMU_LOG + (
        "2026-11-22 10:00:00.000+0000: starting up libvirt version: 10.0.0\n"
        "2026-11-22 18:00:00.000+0000: shutting down, reason=shutdown\n"
    )
    result, _ = preflight(log_root(make_root, log))
    start = result.facts["vms"]["win11"]["last_start"]
    assert (start["failed"], start["reason"], start["causes"]) == (False, "shutdown", [])
    assert not [f for f in result.findings if "last start failed" in f.message]


def test_qemu_log_not_recorded(make_root: Callable[..., Path]) -> None:
    """No QEMU log in the recording: said, and no failure is assumed either way."""
    root = record_hypervisor(
        make_root("demo-workstation"), [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU))]
    )
    start = preflight(root)[0].facts["vms"]["win11"]["last_start"]
    assert (start["recorded"], start["failed"]) == (False, None)
    assert start["why"].startswith("not recorded")


def test_hostile_log_and_names_reach_no_terminal(make_root: Callable[..., Path]) -> None:
    """Escape codes in the log reach no message; a recorded name that is a path is never read
    as a log."""
    log = QEMU_LOG.replace("group 1 is not viable", "group 1 is not viable\x1b]0;pwned\x07")
    root = log_root(make_root, log)
    result, _ = preflight(root)
    assert all("\x1b" not in f.message and "\x07" not in f.message for f in result.findings)
    record = root / "libvirt/domains.json"
    record.write_text(json.dumps([{"name": "../../../etc/passwd", "state": SHUTOFF}]))
    (root / domain_member("../../../etc/passwd")).write_text(domain_xml("x", []))
    start = preflight(root)[0].facts["vms"]["../../../etc/passwd"]["last_start"]
    assert start["recorded"] is False
    assert start["why"].startswith("not a domain name")


def test_no_hypervisor_skips() -> None:
    """No hypervisor named or recorded: skipped behind libvirt.connection, never a verdict."""
    result, _ = preflight(Path("/"))
    assert result.status == "skip"
    assert "libvirt.connection" in result.blocked_by


def test_cli_exit_status_and_json(make_root: Callable[..., Path]) -> None:
    """`workbench probe --root --only vm.preflight --json`: exit 1 on a VM that cannot start,
    its findings carry their cause."""
    facts = with_drivers("demo-workstation", {}, hugepages={"1048576": {"nr": 0, "free": 0}})
    xml = domain_xml("big", DEMO_GPU, pages=GPU_1G)
    root = record_hypervisor(make_root(facts), [("big", SHUTOFF, xml)])
    done = run_cli("probe", "--root", str(root), "--only", "vm.preflight", "--json")
    assert done.returncode == 1, done.stderr
    (probe,) = [p for p in json.loads(done.stdout)["probes"] if p["id"] == "vm.preflight"]
    assert probe["facts"]["vms"]["big"]["ready"] is False
    assert [f["cause"] for f in probe["findings"]] == ["HUGEPAGES_NOT_RESERVED"]


def test_log_cut_before_libvirt_says_why(make_root: Callable[..., Path]) -> None:
    """A tail that ends on QEMU's error, before libvirt's `shutting down`: a failed start."""
    cut = QEMU_LOG.rsplit("2026-11-21 10:00:01", 1)[0]
    start = preflight(log_root(make_root, cut))[0].facts["vms"]["win11"]["last_start"]
    assert (start["failed"], start["reason"]) == (True, None)
    assert start["causes"][0] == "GROUP_MEMBER_NOT_VFIO"


def test_unreadable_log_says_why(make_root: Callable[..., Path]) -> None:
    """A directory where the QEMU log should be: not read, and why; no failure assumed."""
    root = record_hypervisor(
        make_root("demo-workstation"), [("win11", SHUTOFF, domain_xml("win11", DEMO_GPU))]
    )
    (root / "var/log/libvirt/qemu/win11.log").mkdir(parents=True)
    result, _ = preflight(root)
    start = result.facts["vms"]["win11"]["last_start"]
    assert (start["recorded"], start["failed"]) == (False, None)
    assert "not a regular file" in start["why"]
    assert result.status == "pass"


def test_a_remote_hypervisors_vms_are_not_judged_here(make_root: Callable[..., Path]) -> None:
    """A hypervisor on another machine (qemu+ssh://other): its hostdevs, groups, files and QEMU
    logs are that machine's: every check not recorded, ready null, no log read, no finding."""
    root = log_root(make_root, QEMU_LOG)
    connection = root / "libvirt/connection.json"
    recorded = json.loads(connection.read_text())
    connection.write_text(json.dumps({**recorded, "uri": "qemu+ssh://other.example/system"}))
    result, _ = preflight(root)
    vm = result.facts["vms"]["win11"]
    assert vm["ready"] is None and vm["causes"] == [] and result.findings == []
    assert {c["status"] for c in vm["checks"]} == {"not recorded"}
    assert all("run workbench on other.example" in c["detail"] for c in vm["checks"])
    assert vm["last_start"]["recorded"] is False and vm["last_start"]["failed"] is None
    assert result.facts["remote"] == "other.example"
    assert result.status == "skip" and "run workbench on other.example" in result.summary


@pytest.mark.parametrize(
    ("uri", "remote"),
    [
        ("qemu:///system", None),
        ("qemu+ssh://localhost/system", None),
        ("qemu+ssh://ws/system", None),  # this machine's name
        ("qemu+ssh://WS.lan/system", None),
        ("test:///default", None),
        ("test+tcp://h/default", None),  # the test driver, wherever it says it is
        ("qemu+ssh://root@other/system", "other"),
        ("qemu+tcp://h:16509/system", "h"),
        ("qemu+ssh://[::1/system", None),  # unparsable: libvirt refuses it
    ],
)
def test_remote_host_of_a_uri(uri: str, remote: str | None) -> None:
    """Which URIs name another machine: a host part that is not localhost nor this machine."""
    from workbench.core.remote import remote_host

    assert remote_host(uri, {"ws", "ws.lan"}) == remote
