"""The demo machine as a sosreport (`workbench demo --sos`): the archive `sos report` would make
of it, written from the demo's facts (lspci -nnvv with its IOMMU groups, the boot's dmesg, /proc,
lsmod, hugepages, the domain XML and `virsh -r list --all`, the failed VM's QEMU log), packed
as a .tar.xz once per version of the facts under the user's cache dir, like demo.cached_root."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import workbench
from workbench import demo
from workbench.demo import FACTS, STORY, demo_facts

SOS_VERSION = "4.8.1"  # its /dev listing is `ls -alZR /dev`
TOP = "sosreport-demo-workstation-2026-11-29-dmowks"
# pciutils' class names of the classes the demo machine holds
CLASS_NAMES = {
    "0106": "SATA controller",
    "0108": "Non-Volatile memory controller",
    "0200": "Ethernet controller",
    "0300": "VGA compatible controller",
    "0403": "Audio device",
    "0500": "RAM memory",
    "0600": "Host bridge",
    "0601": "ISA bridge",
    "0604": "PCI bridge",
    "0c03": "USB controller",
    "0c05": "SMBus",
}
FLEET = FACTS.with_name("demo-fleet.json")
# A domain as the report's files show it: (name, "running" | "shut off", hostdevs)
Dom = tuple[str, str, tuple[str, ...]]
# The domains of the demo's hypervisor (demo.demo_environment's) and the story's VM
DOMAINS: tuple[Dom, ...] = (
    ("win11-gaming", "running", ("0000:01:00.0", "0000:01:00.1")),
    ("ubuntu-dev", "running", ()),
    ("truenas", "shut off", ("0000:02:00.0",)),
)


def lspci_text(devices: list[dict[str, Any]]) -> str:
    """`lspci -nnvv` of the devices as pciutils 3.7+ prints it (root: groups and drivers)."""
    blocks = []
    for dev in sorted(devices, key=lambda d: d["bdf"]):
        cls = dev["class"]
        rev = f" (rev {dev['rev']})" if dev.get("rev") else ""
        progif = " (prog-if 00 [VGA controller])" if cls == "0300" else ""
        lines = [
            f"{dev['bdf'][5:]} {CLASS_NAMES.get(cls, 'Class')} [{cls}]: {dev['name']} "
            f"[{dev['vendor']}:{dev['device']}]{rev}{progif}",
            "\tSubsystem: Device [0000:0000]",
            "\tControl: I/O+ Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- "
            "SERR- FastB2B- DisINTx+",
            "\tLatency: 0",
        ]
        if dev.get("iommu_group") is not None:
            lines.append(f"\tIOMMU group: {dev['iommu_group']}")
        lines.append("\tCapabilities: [60] Power Management version 3")
        if dev.get("driver"):
            lines.append(f"\tKernel driver in use: {dev['driver']}")
            lines.append(f"\tKernel modules: {dev['driver'].replace('-', '_')}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + "\n"


def _domain(name: str, hostdevs: tuple[str, ...], agent: bool, indent: str = "") -> str:
    devs = "".join(
        "\n    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n"
        f"        <address domain='0x{b[:4]}' bus='0x{b[5:7]}' slot='0x{b[8:10]}' "
        f"function='0x{b[11]}'/>\n      </source>\n    </hostdev>"
        for b in hostdevs
    )
    if agent:
        devs += (
            "\n    <channel type='unix'>\n      <target type='virtio' "
            "name='org.qemu.guest_agent.0'/>\n    </channel>"
        )
    xml = (
        f"<domain type='kvm'>\n  <name>{escape(name)}</name>\n"
        "  <memory unit='KiB'>8388608</memory>\n  <vcpu placement='static'>4</vcpu>\n"
        "  <os>\n    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>\n  </os>\n"
        f"  <devices>{devs}\n  </devices>\n</domain>\n"
    )
    return "".join(indent + line + "\n" for line in xml.splitlines())


def domain_xml(name: str, hostdevs: tuple[str, ...], agent: bool) -> str:
    """A domain's definition as libvirt writes it under /etc/libvirt/qemu."""
    return (
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n"
        "OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n"
        f"  virsh edit {escape(name).replace('--', '- -')}\nor other application using the "
        "libvirt API.\n-->\n\n" + _domain(name, hostdevs, agent)
    )


def status_xml(name: str, hostdevs: tuple[str, ...], agent: bool) -> str:
    """A running domain's live state (`run/libvirt/qemu/NAME.xml`): its XML inside."""
    return (
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE.\n-->\n"
        "<domstatus state='running' reason='booted' pid='4242'>\n"
        + _domain(name, hostdevs, agent, "  ")
        + "</domstatus>\n"
    )


def report_files(facts: dict[str, Any], hostname: str, domains: list[Dom]) -> dict[str, str]:
    """What the report of the machine `facts` holds, by its path inside the report's top
    directory (what the facts do not say is left out, as a report without it would)."""
    devices = [d for d in facts["devices"] if d.get("class")]
    listed = [" Id   Name           State", "-------------------------------"]
    for n, (name, state, _) in enumerate(sorted(domains, key=lambda d: d[1] != "running")):
        listed.append(f" {n + 1 if state == 'running' else '-':<4} {name:<14} {state}")
    amd = facts.get("cpu_vendor") == "amd"
    vendor_id, flag = ("AuthenticAMD", "svm") if amd else ("GenuineIntel", "vmx")
    cpu = (
        "processor\t: {n}\nvendor_id\t: {v}\nmodel name\t: 12th Gen Intel(R) Core(TM) i7-12700K\n"
        "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep {f} sse sse2 ht\n\n"
    )
    files = {
        "version.txt": f"This is a sosreport\n\nsosreport: {SOS_VERSION}\n",
        "sos_reports/manifest.json": json.dumps({"version": SOS_VERSION}) + "\n",
        "sos_commands/pci/lspci_-nnvv": lspci_text(devices),
        "sos_commands/kernel/dmesg": "".join(f"{x}\n" for x in facts.get("kernel_log", [])),
        "sos_commands/kernel/lsmod": "Module                  Size  Used by\n"
        + "".join(
            f"{m:<23} {65536:>6}  0\n"
            for m in ["kvm_intel", "kvm", *facts.get("modules", []), "vfio_pci", "snd_hda_intel"]
        ),
        "sos_commands/dpkg/dpkg_-l": (
            "Desired=Unknown/Install/Remove/Purge/Hold\n"
            "||/ Name           Version          Architecture Description\n"
            "+++-==============-================-============-=================\n"
            "ii  pciutils       1:3.10.0-2build1 amd64        PCI utilities\n"
        ),
        "sos_commands/virsh/virsh_-r_list_--all": "\n".join(listed) + "\n\n",
        "proc/cmdline": (facts.get("kernel_cmdline") or "BOOT_IMAGE=/boot/vmlinuz ro").strip()
        + "\n",
        "proc/cpuinfo": "".join(cpu.format(n=n, v=vendor_id, f=flag) for n in range(2)),
        "proc/sys/kernel/hostname": f"{hostname}\n",
    }
    if not facts.get("kernel_log"):
        del files["sos_commands/kernel/dmesg"]
    if facts.get("memory_kb"):
        files["proc/meminfo"] = f"MemTotal:       {facts['memory_kb']} kB\n"
    if facts.get("iomem"):
        files["proc/iomem"] = "".join(f"{line}\n" for line in facts["iomem"])
    if facts.get("kernel"):
        files["proc/sys/kernel/osrelease"] = f"{facts['kernel']}\n"
    if facts.get("device_nodes"):
        files["sos_commands/block/ls_-alZR_.dev"] = dev_listing(facts["device_nodes"])
    for size_kb, pages in facts.get("hugepages", {}).items():
        hdir = f"sys/kernel/mm/hugepages/hugepages-{size_kb}kB"
        files[f"{hdir}/nr_hugepages"] = f"{pages.get('nr', 0)}\n"
        files[f"{hdir}/free_hugepages"] = f"{pages.get('free', 0)}\n"
    for name, state, hostdevs in domains:
        agent = state == "running"  # as in the demo's hypervisor: the running two have one
        files[f"etc/libvirt/qemu/{name}.xml"] = domain_xml(name, hostdevs, agent)
        if state == "running":
            files[f"run/libvirt/qemu/{name}.xml"] = status_xml(name, hostdevs, agent)
    for name, lines in facts.get("qemu_logs", {}).items():
        files[f"var/log/libvirt/qemu/{name}.log"] = "".join(f"{line}\n" for line in lines)
    return files


def _mode_text(kind: str, mode: str) -> str:
    bits = int(mode, 8)
    rwx = "".join(c if bits & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return {"char": "c", "block": "b", "dir": "d"}.get(kind, "-") + rwx


def dev_listing(nodes: dict[str, dict[str, Any]]) -> str:
    """`ls -alZR /dev` (sos >= 4.8 collects it) of the device nodes the facts record: /dev's
    own nodes and a section for each directory below it (/dev/net for tun), as -R lists them;
    a directory left out would read as one the machine does not have."""
    by_dir: dict[str, list[tuple[str, dict[str, Any]]]] = {"/dev": []}
    for path, node in sorted(nodes.items()):
        parent, _, name = path.rpartition("/")
        if not parent.startswith("/dev") or not name:
            continue
        by_dir.setdefault(parent, []).append((name, node))
        while parent != "/dev":  # each directory on the way is an entry of its parent
            up, _, sub = parent.rpartition("/")
            entries = by_dir.setdefault(up, [])
            if all(n != sub for n, _ in entries):
                entries.append(
                    (sub, {"kind": "dir", "mode": "0755", "owner": "root", "group": "root"})
                )
            parent = up
    sections = []
    minor = 232
    for directory in sorted(by_dir):
        lines = [f"{directory}:", "total 0"]
        for name, node in sorted(by_dir[directory]):
            size = "60" if node["kind"] == "dir" else f"10, {minor}"
            minor += 1
            lines.append(
                f"{_mode_text(node['kind'], node['mode'])}. 1 {node['owner']} {node['group']} "
                f"system_u:object_r:device_t:s0 {size} Nov 29 07:41 {name}"
            )
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def demo_domains() -> list[Dom]:
    """The demo hypervisor's domains, the story's VM (shut off) among them."""
    story = json.loads(STORY.read_text())
    return [*DOMAINS, (str(story["vm"]), "shut off", tuple(story["hostdevs"]))]


def build_sos(facts: dict[str, Any], hostname: str, domains: list[Dom], out: Path) -> Path:
    """The sosreport archive of the machine `facts` written at `out` (a .tar.xz; returned)."""
    top = out.name.removesuffix(".tar.xz")
    with tarfile.open(out, "w:xz") as tar:
        for rel, text in sorted(report_files(facts, hostname, domains).items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1796025600  # 2026-11-29
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"{top}/lspci")  # sos links its top-level names into the report
        link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "sos_commands/pci/lspci_-nnvv", 0
        tar.addfile(link)
    return out


def _cache(name: str, sources: list[Path]) -> tuple[Path, bool]:
    """The cache directory `name-KEY` for these source files and this version, and whether it
    is built already."""
    digest = hashlib.sha256(workbench.__version__.encode())
    # the builders too: a changed builder is a new archive even at the same version
    for source in [*sources, Path(__file__), Path(demo.__file__)]:
        digest.update(source.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    where = cache / f"{name}-{digest.hexdigest()[:16]}"
    return where, where.is_dir()


def _publish(where: Path, build: Callable[[Path], object]) -> Path:
    """`build` into a private staging directory, then renamed to `where` at once: a half-built
    one is never seen; if another start won the race, its copy is ours."""
    where.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=where.parent))
    build(staging)
    with contextlib.suppress(OSError):
        staging.rename(where)
    shutil.rmtree(staging, ignore_errors=True)
    return where


def cached_sos() -> Path:
    """The demo's sosreport archive, built once per version of its facts under the user's
    cache dir (private to the user); rebuilt when missing."""
    where, built = _cache("demo-sos", [FACTS, STORY])
    archive = where / f"{TOP}.tar.xz"
    if not built:
        _publish(
            where,
            lambda d: build_sos(demo_facts(), "demo-workstation", demo_domains(), d / archive.name),
        )
    return archive


def fleet_machines() -> list[tuple[str, dict[str, Any], list[Dom]]]:
    """The demo fleet: (hostname, facts, domains) of each machine, the demo workstation first."""
    plan = json.loads(FLEET.read_text())
    machines = [("demo-workstation", demo_facts(), demo_domains())]
    for entry in plan["machines"]:
        facts = json.loads(FACTS.with_name(f"{entry['facts']}.json").read_text())
        facts["qemu_logs"] = entry["qemu_logs"]
        domains = [(str(n), str(s), tuple(h)) for n, s, h in entry["domains"]]
        machines.append((str(entry["hostname"]), facts, domains))
    return machines


def cached_fleet() -> Path:
    """A directory of the demo fleet's sosreport archives, built once per version of their
    facts under the user's cache dir."""
    plan = json.loads(FLEET.read_text())
    hosts = [FACTS.with_name(f"{m['facts']}.json") for m in plan["machines"]]
    where, built = _cache("demo-fleet", [FACTS, STORY, FLEET, *hosts])

    def build(into: Path) -> None:
        for hostname, facts, domains in fleet_machines():
            build_sos(facts, hostname, domains, into / f"sosreport-{hostname}.tar.xz")

    return where if built else _publish(where, build)
