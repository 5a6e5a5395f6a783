"""Sosreport-shaped directories made from ../shared/hosts facts, for the tests (shared helper).

`write_sos_fixture(facts, out)` writes what `sos report` collects of such a machine, in the
text its tools print: `lspci -nnvv` as pciutils prints it, the kernel's boot lines in dmesg
(vgaarb, DMAR / AMD-Vi, `Adding to iommu group`), libvirt's node-device XML, /proc, the
package list. Which files hold the IOMMU groups is chosen by `groups`, so each source can be
tested alone; what a real report of that machine would lack is left out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.machines import _boot_vga

SHARED = Path(__file__).resolve().parents[1].joinpath("..", "shared").resolve()
HOSTS = SHARED / "hosts"
HOTSOS = SHARED / "peer-data" / "hotsos-openstack"
GROUP_SOURCES = ("lspci", "nodedev", "dmesg")

# pciutils' class names (pci.ids) for the classes in ../shared/hosts; others print `Class`.
CLASS_NAMES = {
    "0100": "SCSI storage controller",
    "0104": "RAID bus controller",
    "0106": "SATA controller",
    "0108": "Non-Volatile memory controller",
    "0200": "Ethernet controller",
    "0280": "Network controller",
    "0300": "VGA compatible controller",
    "0302": "3D controller",
    "0380": "Display controller",
    "0403": "Audio device",
    "0480": "Multimedia controller",
    "0500": "RAM memory",
    "0580": "Memory controller",
    "0600": "Host bridge",
    "0601": "ISA bridge",
    "0604": "PCI bridge",
    "0780": "Communication controller",
    "0880": "System peripheral",
    "0c03": "USB controller",
    "0c05": "SMBus",
    "0c80": "Serial bus controller",
    "1080": "Encryption controller",
    "1180": "Signal processing controller",
}


def host_facts() -> list[Path]:
    """Every machine of ../shared/hosts (empty when the shared data is absent)."""
    return sorted(HOSTS.glob("*.json")) if HOSTS.is_dir() else []


def load_facts(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)


def lspci_text(devices: list[dict[str, Any]], *, group_lines: bool, crlf: bool = False) -> str:
    """`lspci -nnvv` of these devices, as pciutils 3.7+ prints it (run as root by sos)."""
    short = all(d["bdf"].startswith("0000:") for d in devices)
    blocks = []
    for dev in sorted(devices, key=lambda d: d["bdf"]):
        cls = dev["class"]
        addr = dev["bdf"][5:] if short else dev["bdf"]
        rev = f" (rev {dev['rev']})" if dev.get("rev") else ""
        progif = " (prog-if 00 [VGA controller])" if cls == "0300" else ""
        head = (
            f"{addr} {CLASS_NAMES.get(cls, 'Class')} [{cls}]: {dev.get('name') or 'Device'} "
            f"[{dev['vendor']}:{dev['device']}]{rev}{progif}"
        )
        lines = [
            head,
            "\tSubsystem: Device [0000:0000]",
            "\tControl: I/O+ Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- "
            "SERR- FastB2B- DisINTx+",
            "\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- "
            "<MAbort- >SERR- <PERR- INTx-",
            "\tLatency: 0",
        ]
        if group_lines and dev.get("iommu_group") is not None:
            lines.append(f"\tIOMMU group: {dev['iommu_group']}")
        lines.append("\tCapabilities: [40] Power Management version 3")
        if dev.get("driver"):
            lines.append(f"\tKernel driver in use: {dev['driver']}")
            lines.append(f"\tKernel modules: {dev['driver'].replace('-', '_')}")
        blocks.append("\n".join(lines) + "\n")
    text = "\n".join(blocks) + "\n"
    return text.replace("\n", "\r\n") if crlf else text


def lspci_tree_text(devices: list[dict[str, Any]]) -> str:
    """`lspci -tv` of these devices, drawn as pciutils' ls-tree.c draws it. A device sits below
    its `parent`; one without sits on a root bus of its own number (as lspci shows a bus it
    finds no bridge to). A bridge with no known child is drawn as a leaf (its secondary bus
    is not in the facts, and is never invented)."""
    by_bdf = {d["bdf"]: d for d in devices}
    kids: dict[str, list[str]] = {}
    roots: dict[str, list[str]] = {}
    for dev in sorted(devices, key=lambda d: d["bdf"]):
        parent = dev.get("parent")
        if parent in by_bdf:
            kids.setdefault(parent, []).append(dev["bdf"])
        else:
            roots.setdefault(dev["bdf"][:7], []).append(dev["bdf"])
    buf: list[str] = []
    out: list[str] = []

    def put(pos: int, text: str) -> int:
        del buf[pos:]
        buf.extend(" " * (pos - len(buf)))
        buf.extend(text)
        return pos + len(text)

    def print_it(pos: int) -> None:
        out.append("".join(buf[:pos]))
        buf[:pos] = ["|" if c in "+|" else " " for c in buf[:pos]]

    def buses(bdf: str) -> list[int]:
        return [int(bdf[5:7], 16)] + [b for k in kids.get(bdf, []) for b in buses(k)]

    def show_dev(bdf: str, pos: int) -> None:
        pos = put(pos, bdf[8:])
        children = kids.get(bdf)
        if not children:
            print_it(put(pos, f"  {by_bdf[bdf].get('name') or 'Device'}"))
            return
        sec, sub = int(children[0][5:7], 16), max(b for k in children for b in buses(k))
        pos = put(pos, f"-[{sec:02x}]-" if sec == sub else f"-[{sec:02x}-{sub:02x}]-")
        show_bus(children, put(pos, "-"))

    def show_bus(members: list[str], pos: int) -> None:
        if len(members) == 1:
            show_dev(members[0], put(pos, "--"))
            return
        for n, bdf in enumerate(members):
            show_dev(bdf, put(pos, "\\-" if n == len(members) - 1 else "+-"))

    order = sorted(roots, reverse=True)  # lspci lists root buses last-found first
    pos = put(0, "-")
    if len(order) == 1:
        show_bus(roots[order[0]], put(pos, f"[{order[0]}]-"))
    for n, key in enumerate(order if len(order) > 1 else []):
        mark = "\\-" if n == len(order) - 1 else "+-"
        show_bus(roots[key], put(pos, f"{mark}[{key}]-"))
    return "\n".join(out) + "\n"


def dmesg_text(
    facts: dict[str, Any], *, adding_lines: bool, iommu_lines: bool, vgaarb: bool = True
) -> str:
    """The kernel's boot lines of this machine that Workbench reads, as `dmesg` prints them."""
    devices = facts["devices"]
    cmdline = facts.get("kernel_cmdline") or "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda2 ro quiet"
    amd = facts.get("cpu_vendor") == "amd"
    out = [
        "Linux version 6.8.0-49-generic (buildd@lcy02-amd64-103) (gcc 13.2.0) #49-Ubuntu SMP",
        f"Command line: {cmdline}",
    ]
    if iommu_lines and not amd:
        out.append("DMAR: IOMMU enabled")
    boot = _boot_vga(devices)
    if vgaarb:
        for dev in sorted(devices, key=lambda d: d["bdf"]):
            if dev.get("class") != "0300":
                continue
            if dev["bdf"] == boot:
                out.append(f"pci {dev['bdf']}: vgaarb: setting as boot VGA device")
            owns = "io+mem" if dev["bdf"] == boot else "none"
            out.append(
                f"pci {dev['bdf']}: vgaarb: VGA device added: decodes=io+mem,owns={owns},locks=none"
            )
        out.append("vgaarb: loaded")
    if iommu_lines:
        out.append("iommu: Default domain type: Translated")
        if amd:
            out.append("AMD-Vi: Interrupt remapping enabled")
        else:
            out.append("DMAR-IR: Enabled IRQ remapping in x2apic mode")
            out.append("DMAR: Intel(R) Virtualization Technology for Directed I/O")
    if adding_lines:
        for dev in devices:
            if dev.get("iommu_group") is not None:
                out.append(f"pci {dev['bdf']}: Adding to iommu group {dev['iommu_group']}")
    stamped = [f"[{n * 0.01:12.6f}] {line}" for n, line in enumerate(out)]
    return "\n".join(stamped) + "\n"


def nodedev_xml(dev: dict[str, Any], members: Iterable[str]) -> str:
    """`virsh -r nodedev-dumpxml pci_...` of one device, as libvirt prints it."""
    domain, bus, slotfn = dev["bdf"].split(":")
    slot, fn = slotfn.split(".")
    addresses = "".join(
        f"      <address domain='0x{m[:4]}' bus='0x{m[5:7]}' slot='0x{m[8:10]}' "
        f"function='0x{m[11]}'/>\n"
        for m in members
    )
    driver = (
        f"  <driver>\n    <name>{dev['driver']}</name>\n  </driver>\n" if dev.get("driver") else ""
    )
    return (
        "<device>\n"
        f"  <name>pci_{domain}_{bus}_{slot}_{fn}</name>\n"
        f"  <path>/sys/devices/pci{domain}:00/{dev['bdf']}</path>\n"
        f"{driver}"
        "  <capability type='pci'>\n"
        f"    <class>0x{dev['class']}00</class>\n"
        f"    <domain>{int(domain, 16)}</domain>\n    <bus>{int(bus, 16)}</bus>\n"
        f"    <slot>{int(slot, 16)}</slot>\n    <function>{int(fn, 16)}</function>\n"
        f"    <product id='0x{dev['device']}'>Device</product>\n"
        f"    <vendor id='0x{dev['vendor']}'>Vendor</vendor>\n"
        f"    <iommuGroup number='{dev['iommu_group']}'>\n{addresses}    </iommuGroup>\n"
        "  </capability>\n"
        "</device>\n"
    )


def write_sos_fixture(
    facts: dict[str, Any],
    out: Path,
    *,
    groups: str | tuple[str, ...] = "lspci",
    pciutils: str | None = "3.9.0",
    iommu_lines: bool | None = None,
    vgaarb: bool = True,
    sos_version: str = "4.5.6",
    tree: bool = True,
) -> Path:
    """A sosreport-shaped directory of the machine `facts` at `out` (returned).

    `groups`: which sources hold the IOMMU groups: "lspci" (`IOMMU group:` lines), "nodedev"
    (libvirt's node-device XML), "dmesg" (`Adding to iommu group`), several as a tuple, or
    "none". `pciutils`: the version the package list shows (None: no package list).
    `iommu_lines`: whether dmesg has the DMAR / AMD-Vi lines (default: when the machine has
    groups and some source shows them). `vgaarb`: whether dmesg says which GPU is the boot VGA.
    `tree`: whether the report holds `lspci -tv` (where each device sits).
    """
    wanted = (groups,) if isinstance(groups, str) else groups
    devices = [d for d in facts["devices"] if d.get("class")]
    has_groups = any(d.get("iommu_group") is not None for d in devices)
    if iommu_lines is None:
        iommu_lines = has_groups and "none" not in wanted
    out.mkdir(parents=True, exist_ok=False)
    _write(out / "version.txt", f"This is a sosreport\n\nsosreport: {sos_version}\n")
    _write(out / "sos_reports" / "manifest.json", json.dumps({"version": sos_version}) + "\n")
    lspci = out / "sos_commands" / "pci" / "lspci_-nnvv"
    _write(lspci, lspci_text(devices, group_lines="lspci" in wanted))
    (out / "lspci").symlink_to(os.path.relpath(lspci, out))
    if tree:  # sos's pci plugin runs `lspci -tv` beside `lspci -nnvv`
        _write(out / "sos_commands" / "pci" / "lspci_-tv", lspci_tree_text(devices))
    dmesg = dmesg_text(
        facts, adding_lines="dmesg" in wanted, iommu_lines=iommu_lines, vgaarb=vgaarb
    )
    _write(out / "sos_commands" / "kernel" / "dmesg", dmesg)
    if "nodedev" in wanted:
        members: dict[int, list[str]] = {}
        for dev in devices:
            if dev.get("iommu_group") is not None:
                members.setdefault(dev["iommu_group"], []).append(dev["bdf"])
        virsh = out / "sos_commands" / "virsh"
        for dev in devices:
            if dev.get("iommu_group") is None:
                continue
            name = "pci_" + dev["bdf"].replace(":", "_").replace(".", "_")
            xml = nodedev_xml(dev, members[dev["iommu_group"]])
            _write(virsh / f"virsh_-r_nodedev-dumpxml_{name}", xml)
    cmdline = facts.get("kernel_cmdline") or "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda2 ro quiet"
    _write(out / "proc" / "cmdline", cmdline.strip() + "\n")
    amd = facts.get("cpu_vendor") == "amd"
    vendor_id, flag = ("AuthenticAMD", "svm") if amd else ("GenuineIntel", "vmx")
    cpu = (
        "processor\t: {n}\nvendor_id\t: {v}\nmodel name\t: test cpu\n"
        "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep {f} sse sse2 ht\n\n"
    )
    _write(
        out / "proc" / "cpuinfo", "".join(cpu.format(n=n, v=vendor_id, f=flag) for n in range(2))
    )
    if pciutils is not None:
        _write(
            out / "sos_commands" / "dpkg" / "dpkg_-l",
            "Desired=Unknown/Install/Remove/Purge/Hold\n"
            "||/ Name           Version          Architecture Description\n"
            "+++-==============-================-============-=================\n"
            f"ii  pciutils       1:{pciutils}-1   amd64        PCI utilities\n",
        )
    return out
