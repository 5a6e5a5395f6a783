"""Single probes against machines built to show one situation each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import report_for

MakeRoot = Callable[..., Path]
KVM_OK = {"kind": "char", "mode": "0660", "owner": "root", "group": "kvm", "accessible": True}


def codes(root: Path, probe: str, **kw: Any) -> tuple[str, set[str]]:
    result = report_for(root, **kw).get(probe)
    return result.status, {f.code for f in result.findings}


def test_kvm_device_inaccessible(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """/dev/kvm the user cannot open: fail, and the remedy names the group."""
    root = make_root(minimal_facts, device_nodes={"/dev/kvm": {**KVM_OK, "accessible": False}})
    result = report_for(root).get("kvm.device")
    assert result.status == "fail"
    assert "usermod -aG kvm" in (result.findings[0].remedy or "")


def test_kvm_device_regular_file(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """A regular file at /dev/kvm (a classic mistake) is not a device."""
    root = make_root(minimal_facts)
    (root / "dev").mkdir()
    (root / "dev/kvm").write_text("")
    assert codes(root, "kvm.device") == ("fail", {"KVM_NOT_CHAR_DEVICE"})


def test_kvm_device_recorded_absent(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """A capture that says /dev/kvm was absent: fail with the modprobe remedy for the vendor."""
    root = make_root(minimal_facts, device_nodes={"/dev/kvm": None})
    result = report_for(root).get("kvm.device")
    assert result.status == "fail"
    assert "modprobe kvm_intel" in (result.findings[0].remedy or "")


def test_kvm_nested_and_processes(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """Nested virtualization and hypervisor processes are reported as facts."""
    root = make_root(
        minimal_facts,
        device_nodes={"/dev/kvm": KVM_OK},
        module_params={"kvm_intel": {"nested": "Y"}},
        processes=[
            {"pid": 7, "name": "qemu-system-x86_64", "user": "libvirt-qemu"},
            {"pid": 8, "name": "bash", "user": "root"},
        ],
    )
    result = report_for(root).get("kvm.device")
    assert result.status == "pass"
    assert result.facts["nested"] == {"kvm_intel": True}
    assert result.facts["processes"] == [
        {"pid": 7, "name": "qemu-system-x86_64", "user": "libvirt-qemu"}
    ]


@pytest.mark.parametrize(
    ("vendor", "acpi", "cmdline", "remedy_part"),
    [
        ("intel", [], "ro", "Enable VT-d"),
        ("intel", ["DMAR"], "ro", "intel_iommu=on"),
        ("amd", ["IVRS"], "ro amd_iommu=off", "AMD-Vi"),
    ],
)
def test_iommu_off_remedy_by_vendor(
    make_root: MakeRoot,
    minimal_facts: dict[str, Any],
    vendor: str,
    acpi: list[str],
    cmdline: str,
    remedy_part: str,
) -> None:
    """No groups and no units: fail; the remedy names the right parameter or firmware switch."""
    devices = [{**d, "iommu_group": None} for d in minimal_facts["devices"]]
    root = make_root(
        minimal_facts, devices=devices, cpu_vendor=vendor, acpi_tables=acpi, kernel_cmdline=cmdline
    )
    report = report_for(root)
    enabled = report.get("iommu.enabled")
    assert enabled.status == "fail"
    assert remedy_part in (enabled.findings[0].remedy or "")
    if "off" in cmdline:
        assert "amd_iommu=off" in enabled.findings[0].message
    gpus = report.get("pci.gpus").facts["gpus"]
    assert all(g["isolated"] is None and g["blockers"] is None for g in gpus)


def test_iommu_forced_on_by_firmware(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """Groups without any iommu parameter on the command line still pass (firmware turned it on)."""
    root = make_root(minimal_facts, kernel_cmdline="ro quiet")
    assert report_for(root).get("iommu.enabled").status == "pass"


def test_vfio_split_card(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """GPU on vfio-pci but its audio on snd_hda_intel: warn, remedy lists both ids."""
    devices = [dict(d) for d in minimal_facts["devices"]]
    devices[3]["driver"] = "snd_hda_intel"
    devices[2]["reset_method"] = ""
    root = make_root(minimal_facts, devices=devices)
    result = report_for(root).get("vfio.binding")
    assert result.status == "warn"
    split = next(f for f in result.findings if f.code == "VFIO_SPLIT_CARD")
    assert "10de:1d01,10de:0fb8" in (split.remedy or "")
    assert any(f.code == "VFIO_NO_RESET" for f in result.findings)


def test_guest_gpu_on_vfio_not_isolated_fails(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A vfio-bound GPU sharing its group with a NIC cannot start a VM: pci.gpus fails."""
    devices = [
        *minimal_facts["devices"],
        {
            "bdf": "0000:02:00.0",
            "class": "0200",
            "vendor": "8086",
            "device": "1539",
            "iommu_group": 1,
            "driver": "igb",
        },
    ]
    root = make_root(minimal_facts, devices=devices)
    result = report_for(root).get("pci.gpus")
    assert result.status == "fail"
    gpu = next(g for g in result.facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["blockers"] == ["0000:02:00.0"]


def test_cmdline_vfio_ids_for_absent_device(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """vfio-pci.ids naming a device the machine lacks, and malformed entries, warn."""
    root = make_root(minimal_facts, kernel_cmdline="ro vfio-pci.ids=10de:1d01,10de:ffff,nope")
    status, found = codes(root, "kernel.cmdline")
    assert status == "warn"
    assert found == {"CMDLINE_VFIO_IDS_ABSENT", "CMDLINE_BAD_VFIO_IDS"}


@pytest.mark.parametrize(("nr", "status"), [(0, "pass"), (4, "pass"), (13, "warn"), (15, "fail")])
def test_hugepages_against_memory(
    make_root: MakeRoot, minimal_facts: dict[str, Any], nr: int, status: str
) -> None:
    """1 GiB pages against 16 GiB of RAM: none or a few pass; 75% warns; 90% fails."""
    root = make_root(
        minimal_facts,
        memory_kb=16 * 1024 * 1024,
        hugepages={"1048576": {"nr": nr, "free": nr}, "2048": {"nr": 0}},
    )
    result = report_for(root).get("memory.hugepages")
    assert result.status == status
    assert result.facts["hugepages_bytes"] == nr * 1024**3


LG = {"modules": ["kvmfr"], "module_params": {"kvmfr": {"static_size_mb": "32"}}}


@pytest.mark.parametrize(
    ("extra", "resolution", "status", "code"),
    [
        ({**LG, "device_nodes": {"/dev/kvmfr0": KVM_OK}}, "1920x1080", "pass", None),
        (
            {**LG, "device_nodes": {"/dev/kvmfr0": KVM_OK}},
            "2560x1440",
            "fail",
            "LG_KVMFR_TOO_SMALL",
        ),
        ({**LG, "device_nodes": {"/dev/kvmfr0": None}}, "1920x1080", "fail", "LG_KVMFR_NO_DEVICE"),
        (
            {**LG, "device_nodes": {"/dev/kvmfr0": {**KVM_OK, "accessible": False}}},
            "1920x1080",
            "warn",
            "LG_KVMFR_NO_ACCESS",
        ),
        ({"shm": {"looking-glass": 32 * 1024 * 1024}}, "1920x1080", "pass", None),
        ({"shm": {"looking-glass": 16 * 1024 * 1024}}, "1920x1080", "fail", "LG_SHM_TOO_SMALL"),
        ({"shm": {"looking-glass": 48 * 1024 * 1024}}, "1920x1080", "warn", "LG_SHM_NOT_POW2"),
    ],
)
def test_looking_glass(
    make_root: MakeRoot,
    minimal_facts: dict[str, Any],
    extra: dict[str, Any],
    resolution: str,
    status: str,
    code: str | None,
) -> None:
    """kvmfr and /dev/shm set-ups judged against the size the resolution needs."""
    root = make_root(minimal_facts, **extra)
    result = report_for(root, options={"lg_resolution": resolution}).get("display.looking_glass")
    assert result.status == status
    assert [f.code for f in result.findings] == ([code] if code else [])


def test_looking_glass_kvmfr0_regular_file(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """/dev/kvmfr0 as a regular file (not a character device) fails with a fix."""
    root = make_root(minimal_facts, **LG)
    (root / "dev").mkdir()
    (root / "dev/kvmfr0").write_text("")
    result = report_for(root).get("display.looking_glass")
    assert result.status == "fail"
    assert result.findings[0].code == "LG_KVMFR_NOT_CHAR"


def test_guest_agent_remedies_grouped_by_cause(tmp_path: Path) -> None:
    """Agents that do not answer: one finding per cause listing its VMs; only the domains without
    an org.qemu.guest_agent.0 channel are told to add one, the others to install/start qemu-ga;
    libvirt.domains names every domain without a channel in one finding."""
    from workbench.virt.testdriver import Domain, write_node

    node = write_node(
        tmp_path / "node.xml",
        [
            Domain("a", agent_socket=tmp_path / "a.sock"),  # a channel, nothing listening
            Domain("b", agent_socket=tmp_path / "b.sock"),
            Domain("c"),  # no channel
            Domain("d"),
        ],
    )
    report = report_for(
        tmp_path,
        only=["libvirt.connection", "libvirt.domains", "guest.agent"],
        connect=f"test://{node}",
        options={"agent_timeout": 1},
    )
    no_channel = [f for f in report.get("libvirt.domains").findings]
    assert [(f.code, f.message.split(":")[0]) for f in no_channel] == [
        ("DOMAIN_NO_AGENT_CHANNEL", "c, d")
    ]
    agent = report.get("guest.agent")
    assert agent.status == "fail"
    by_vms = {f.message.split(":")[0]: f for f in agent.findings}
    assert set(by_vms) == {"a, b", "c, d"}
    assert "org.qemu.guest_agent.0" not in (by_vms["a, b"].remedy or "")
    assert "qemu-guest-agent" in (by_vms["a, b"].remedy or "")
    assert "Add <channel" in (by_vms["c, d"].remedy or "")


def test_looking_glass_on_a_root_that_recorded_no_dev_is_not_recorded(
    make_root: Callable[..., Path],
) -> None:
    """A machine root with sys/module but no dev/ at all: Looking Glass is not judged absent
    (neither /dev/kvmfr0 nor /dev/shm was recorded), as kvm.device says of /dev/kvm."""
    import shutil

    root = make_root("asrock-z170-gtx960")
    shutil.rmtree(root / "dev", ignore_errors=True)
    report = report_for(root, only=["display.looking_glass", "kvm.device"])
    result = report.get("display.looking_glass")
    assert (result.status, result.summary.split(":")[0]) == ("skip", "dev/kvmfr0 not recorded")
    assert "not set up" not in result.summary
