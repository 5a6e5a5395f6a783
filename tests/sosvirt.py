"""sosreport-shaped fixtures of a hypervisor: domain XML as libvirt writes it (definitions in
etc/libvirt/qemu, `<domstatus>` in run/libvirt/qemu), `virsh -r` outputs as sos names them,
QEMU logs as libvirt writes them, and lines of real failures (../shared/evidence/cases.jsonl)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SHARED, put

HOTSOS = SHARED / "peer-data" / "hotsos-openstack"

# Real lines, from ../shared/evidence/cases.jsonl: a host's boot framebuffer holds the BAR
# vfio-pci maps (case bootfb-sticky-pve515-igpu-mmap, QEMU's stderr), and a VFIO DMA mapping
# over the locked-memory limit (case ch-memlock-vfio-pin-pages, dmesg).
BAR_LINE = (
    "kvm: -device vfio-pci,host=00:02.0,addr=0x18,x-igd-opregion=on: Failed to mmap "
    "0000:00:02.0 BAR 2. Performance may be slow"
)
IOMEM_BOOTFB = (
    "cc800000-efffffff : PCI Bus 0000:00\n"
    "  cc800000-cc800fff : 0000:00:1f.5\n"
    "  d0000000-dfffffff : 0000:00:02.0\n"
    "    d0000000-d1fa3fff : BOOTFB\n"
    "  e0000000-e0ffffff : 0000:00:02.0\n"
)
MEMLOCK_LINE = "[  365.159219] vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded"
DMESG = (
    "[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)\n"
    "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on\n"
    "[    0.120000] DMAR: IOMMU enabled\n"
    f"{MEMLOCK_LINE}\n"
)
LIST_ALL = (
    " Id   Name     State\n"
    "-------------------------\n"
    " 1    web      running\n"
    " -    igpu-vm  shut off\n"
    "\n"
)
VERSION = (
    "Compiled against library: libvirt 9.0.0\n"
    "Using library: libvirt 9.0.0\n"
    "Using API: QEMU 9.0.0\n"
    "Running hypervisor: QEMU 7.2.0\n"
)
CAPABILITIES = (
    "<capabilities><host><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model></cpu>"
    "</host><guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/>"
    "<domain type='kvm'/></arch></guest></capabilities>\n"
)


def domain_xml(name: str, hostdevs: tuple[str, ...] = (), agent: bool = True) -> str:
    """A domain's definition as libvirt writes it (with its warning comment)."""
    devs = "".join(
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='0x0000' bus='0x{b[5:7]}' slot='0x{b[8:10]}' function='0x{b[11]}'/>"
        "</source></hostdev>"
        for b in hostdevs
    )
    channel = (
        "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
        if agent
        else ""
    )
    return (
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n"
        "OVERWRITTEN AND LOST.\n-->\n\n"
        f"<domain type='kvm'>\n  <name>{name}</name>\n  <memory unit='KiB'>4194304</memory>\n"
        f"  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>\n"
        f"  <devices>{devs}{channel}</devices>\n</domain>\n"
    )


def status_xml(name: str, state: str = "running", reason: str = "booted") -> str:
    """A running domain's live state (`run/libvirt/qemu/NAME.xml`)."""
    return (
        f"<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE.\n-->\n<domstatus state='{state}' "
        f"reason='{reason}' pid='4242'>\n  <monitor path='/var/lib/libvirt/qemu/m.sock' "
        f"type='unix'/>\n  {domain_xml(name).split('-->', 1)[1].strip()}\n</domstatus>\n"
    )


def qemu_log(name: str, *lines: str, failed: bool = True) -> str:
    """A QEMU log with one start, as libvirt writes it: header, command line, QEMU's words."""
    end = "shutting down, reason=failed" if failed else "shutting down, reason=shutdown"
    return (
        "2024-03-01 10:00:00.000+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4 "
        "(Debian), qemu version: 7.2.0Debian 1:7.2+dfsg-7, kernel: 6.1.0-18-amd64, "
        "hostname: gpuhost\n"
        "LC_ALL=C \\\n/usr/bin/qemu-system-x86_64 \\\n"
        f"-name guest={name},debug-threads=on \\\n-msg timestamp=on\n"
        + "".join(f"{line}\n" for line in lines)
        + f"2024-03-01 10:00:01.000+0000: {end}\n"
    )


def make_report(top: Path, *, libvirt: bool = True, virsh: bool = True) -> Path:
    """A sos 4.5-shaped report of a GPU host: `web` running, `igpu-vm` shut off whose last
    start failed on its BAR (its QEMU log), a dmesg with a VFIO memlock failure."""
    put(top, "version.txt", "sosreport: 4.5.6\n")
    put(top, "sos_commands/kernel/dmesg", DMESG)
    put(top, "proc/iomem", IOMEM_BOOTFB)
    put(top, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on\n")
    put(top, "etc/hostname", "gpuhost\n")
    if not libvirt:
        return top
    put(top, "etc/libvirt/qemu/web.xml", domain_xml("web"))
    put(top, "run/libvirt/qemu/web.xml", status_xml("web"))
    put(top, "etc/libvirt/qemu/igpu-vm.xml", domain_xml("igpu-vm", ("0000:00:02.0",)))
    put(top, "var/log/libvirt/qemu/igpu-vm.log", qemu_log("igpu-vm", BAR_LINE))
    put(top, "var/log/libvirt/qemu/web.log", qemu_log("web", failed=False))
    if virsh:
        put(top, "sos_commands/virsh/virsh_-r_list_--all", LIST_ALL)
        put(top, "sos_commands/virsh/virsh_-r_version", VERSION)
        put(top, "sos_commands/virsh/virsh_-r_capabilities", CAPABILITIES)
    return top
