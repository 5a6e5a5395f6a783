"""Build a machine root (ROOT/sys, ROOT/proc, ROOT/manifest.json) from a host-facts JSON file.

The layout is the one a live Linux host exposes and the one ../shared/tools/hostfacts_to_root.py
writes (relative symlinks, driver and iommu_group links, groups, class/iommu units, modules), so
probes read the result exactly as they read `/`. Facts files may carry more than the published
listings (hostname, memory, hugepages, modules and parameters, device nodes, processes, reset
methods, /dev/shm files, the kernel log of the boot, each domain's QEMU log as
`qemu_logs: {NAME: [lines]}`, when it booted as `boot_time` (ISO 8601, /proc/stat's btime));
what a file does not say is left out, never invented, except: subsystem
ids default to 0x0000 and, among VGA-class devices, boot_vga=1 goes to the first one on bus 00
(else the lowest address) unless a device says `boot_vga` itself.

Usage: python -m workbench.machines FACTS.json OUT_DIR
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.core.machinelogs import QEMU_LOG_DIR
from workbench.core.text import safe_text

MANIFEST_SCHEMA = "workbench.machine/1"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _name(value: object) -> str:
    """A facts value that becomes one path component (an address, a driver, a module, a table,
    a file name): refused when it could leave its directory."""
    text = str(value)
    if text in ("", ".", "..") or "/" in text or "\0" in text:
        raise ValueError(f"{safe_text(text[:80])!r} cannot be a file name")
    return text


def _under(root: Path, rel: str) -> Path:
    """ROOT/rel for a facts value naming a path (a mount point): refused when a component is
    `..` (or `.`), or when it resolves outside the root (a symlink the facts made)."""
    parts = [p for p in rel.strip("/").split("/") if p]
    if not parts or any(p in (".", "..") or "\0" in p for p in parts):
        raise ValueError(f"{safe_text(rel[:80])!r} is not a path inside the machine")
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{safe_text(rel[:80])!r} leads outside the machine")
    return path


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent))


def _boot_vga(devices: list[dict[str, Any]]) -> str | None:
    vga = sorted((d for d in devices if d.get("class") == "0300"), key=lambda d: d["bdf"])
    if any("boot_vga" in d for d in vga):
        return next((d["bdf"] for d in vga if d.get("boot_vga")), None)
    boot = next((d for d in vga if d["bdf"][5:7] == "00"), vga[0] if vga else None)
    return None if boot is None else str(boot["bdf"])


def _host_bridge(bdf: str) -> str:
    """The sysfs directory of the root bus a device sits under (pci0000:00; pci10000:e0 for a
    VMD domain), as ../shared/tools/hostfacts_to_root.py names it."""
    domain, bus = bdf.split(":")[:2]
    return f"pci{domain}:00" if domain == "0000" else f"pci{domain}:{bus}"


def device_dir(sys_: Path, dev: dict[str, Any], by_bdf: dict[str, dict[str, Any]]) -> Path:
    """Where a device lives under sys/devices: below its `parent` bridge when the facts give
    one (a live sysfs nests devices under the bridges they sit behind), else on its root bus.
    A chain of parents that loops or names no listed device ends on the root bus."""
    chain = [str(dev["bdf"])]
    parent = dev.get("parent")
    while isinstance(parent, str) and parent in by_bdf and parent not in chain:
        chain.append(parent)
        parent = by_bdf[parent].get("parent")
    return sys_.joinpath("devices", _host_bridge(chain[-1]), *reversed(chain))


def build_root(facts: dict[str, Any], root: Path) -> Path:
    """Write the machine described by `facts` under `root` (created; must not hold a machine)."""
    sys_ = root / "sys"
    devices: list[dict[str, Any]] = facts["devices"]
    boot = _boot_vga(devices)
    by_bdf = {_name(d["bdf"]): d for d in devices}
    for dev in devices:
        if not dev.get("class"):
            continue
        bdf = dev["bdf"]
        ddir = device_dir(sys_, dev, by_bdf)
        _write(ddir / "vendor", f"0x{dev['vendor']}\n")
        _write(ddir / "device", f"0x{dev['device']}\n")
        _write(ddir / "class", f"0x{dev['class']}00\n")
        _write(ddir / "revision", f"0x{dev.get('rev') or '00'}\n")
        _write(ddir / "subsystem_vendor", "0x0000\n")
        _write(ddir / "subsystem_device", "0x0000\n")
        if dev["class"] == "0300":
            _write(ddir / "boot_vga", "1\n" if bdf == boot else "0\n")
        if dev.get("reset_method") is not None:
            _write(ddir / "reset_method", f"{dev['reset_method']}\n")
        for attr in ("resource", "power_state"):  # the device's own state (pci.device_state)
            if dev.get(attr) is not None:
                _write(ddir / attr, f"{dev[attr]}\n")
        if dev.get("config") is not None:  # config space as hex, like `lspci -x` without spaces
            (ddir / "config").write_bytes(bytes.fromhex(dev["config"]))
        _link(sys_ / "bus/pci/devices" / bdf, ddir)
        if dev.get("driver"):
            drv = sys_ / "bus/pci/drivers" / _name(dev["driver"])
            _link(ddir / "driver", drv)
            _link(drv / bdf, ddir)
        if dev.get("iommu_group") is not None:
            grp = sys_ / "kernel/iommu_groups" / _name(dev["iommu_group"])
            _write(grp / "type", "DMA\n")
            _link(ddir / "iommu_group", grp)
            _link(grp / "devices" / bdf, ddir)
    vendor = facts.get("cpu_vendor")
    if (sys_ / "kernel/iommu_groups").exists():
        unit = "ivhd0" if vendor == "amd" else "dmar0"
        target = sys_ / "devices/virtual/iommu" / unit
        target.mkdir(parents=True, exist_ok=True)
        _link(sys_ / "class/iommu" / unit, target)
    else:
        (sys_ / "kernel/iommu_groups").mkdir(parents=True, exist_ok=True)
    modules = ["kvm", "kvm_amd" if vendor == "amd" else "kvm_intel", *facts.get("modules", [])]
    if any(d.get("driver") == "vfio-pci" for d in devices):
        modules.append("vfio_pci")
    for mod in modules:
        (sys_ / "module" / _name(mod)).mkdir(parents=True, exist_ok=True)
    for mod, params in facts.get("module_params", {}).items():
        for name, value in params.items():
            _write(sys_ / "module" / _name(mod) / "parameters" / _name(name), f"{value}\n")
    for table in facts.get("acpi_tables", []):
        _write(sys_ / "firmware/acpi/tables" / _name(table), "")
    for size_kb, pages in facts.get("hugepages", {}).items():
        hdir = sys_ / "kernel/mm/hugepages" / _name(f"hugepages-{size_kb}kB")
        _write(hdir / "nr_hugepages", f"{pages.get('nr', 0)}\n")
        _write(hdir / "free_hugepages", f"{pages.get('free', 0)}\n")
        _write(hdir / "resv_hugepages", f"{pages.get('resv', 0)}\n")
    for name, size in facts.get("shm", {}).items():
        shm = root / "dev/shm" / _name(name)
        shm.parent.mkdir(parents=True, exist_ok=True)
        with shm.open("wb") as fh:
            fh.truncate(int(size))  # sparse: the size is what the probe reads
    cmdline = facts.get("kernel_cmdline") or "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda2 ro quiet"
    _write(root / "proc/cmdline", cmdline.strip() + "\n")
    vendor_id, flag = ("AuthenticAMD", "svm") if vendor == "amd" else ("GenuineIntel", "vmx")
    cpu = (
        "processor\t: {n}\nvendor_id\t: {v}\nmodel name\t: test cpu\n"
        "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep {f} sse sse2 ht{x}\n\n"
    )
    extra = "".join(f" {name}" for name in facts.get("cpu_flags", []))  # such as sev
    _write(
        root / "proc/cpuinfo",
        "".join(cpu.format(n=n, v=vendor_id, f=flag, x=extra) for n in range(2)),
    )
    if facts.get("memory_kb"):
        _write(root / "proc/meminfo", f"MemTotal:       {facts['memory_kb']} kB\n")
    for key, rel in (
        ("hostname", "proc/sys/kernel/hostname"),
        ("kernel", "proc/sys/kernel/osrelease"),
    ):
        if facts.get(key):
            _write(root / rel, f"{facts[key]}\n")
    if facts.get("mounts") is not None:  # /proc/mounts lines (host.cgroups reads the cgroup ones)
        _write(root / "proc/mounts", "".join(f"{line}\n" for line in facts["mounts"]))
    for where, text in facts.get("cgroup_controllers", {}).items():  # mount point -> its file
        _write(_under(root, where) / "cgroup.controllers", f"{text}\n")
    if facts.get("cap_eff") is not None:  # the capturing process's capabilities (host.cgroups)
        _write(root / "proc/self/status", f"CapEff:\t{facts['cap_eff']}\n")
    if facts.get("boot_time"):  # when it booted (ISO 8601): what anchors its dmesg times
        booted = datetime.fromisoformat(str(facts["boot_time"]).replace("Z", "+00:00"))
        _write(root / "proc/stat", f"btime {int(booted.timestamp())}\n")
    if facts.get("iomem") is not None:
        _write(root / "proc/iomem", "".join(f"{line}\n" for line in facts["iomem"]))
    manifest: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "source": facts.get("source")}
    recorded: dict[str, Any] = {k: facts[k] for k in ("device_nodes", "processes") if k in facts}
    if facts.get("kernel_log") is not None:  # lines, as a capture records them
        _write(root / "logs/kernel.log", "".join(f"{line}\n" for line in facts["kernel_log"]))
        lines = len(facts["kernel_log"])
        recorded["kernel_log"] = {"origin": "journal", "lines": lines, "truncated": False}
    for vm, lines in facts.get("qemu_logs", {}).items():  # each domain's QEMU log, as libvirt
        _write(root / QEMU_LOG_DIR / f"{_plain_name(vm)}.log", "".join(f"{x}\n" for x in lines))
    if recorded:
        manifest["facts"] = recorded
    _write(root / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return root


def _plain_name(vm: str) -> str:
    """A domain name that is a plain file name (a facts file names the log it writes)."""
    if not vm or "/" in vm or "\0" in vm or vm in (".", ".."):
        raise ValueError(f"not a domain name: {vm!r}")
    return vm


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m workbench.machines FACTS.json OUT_DIR", file=sys.stderr)
        return 2
    source, out = safe_text(argv[1]), safe_text(argv[2])  # file names are shown, not run
    try:
        facts = json.loads(Path(argv[1]).read_text())
        build_root(facts, Path(argv[2]))
    except RecursionError:
        print(f"workbench.machines: {source} is nested too deeply", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        shown = safe_text(str(exc)[:200])  # a 400-digit number need not be repeated whole
        print(f"workbench.machines: cannot build {out} from {source}: {shown}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
