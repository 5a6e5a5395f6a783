"""Small sosreport-shaped trees and archives (good and hostile) for the opening tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

TOP = "sosreport-gpuhost-2026-11-29-abcdefg"
LSPCI_VGA = (
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] "
    "[10de:2204] (rev a1) (prog-if 00 [VGA controller])"
)
LSPCI = f"""\
00:00.0 Host bridge [0600]: Intel Corporation Device [8086:4660] (rev 02)
\tSubsystem: ASUSTeK Computer Inc. Device [1043:8882]
\tIOMMU group: 0
\tKernel driver in use: igen6_edac

{LSPCI_VGA}
\tSubsystem: NVIDIA Corporation Device [10de:147d]
\tIOMMU group: 14
\tKernel driver in use: vfio-pci
\tKernel modules: nouveau

01:00.1 Audio device [0403]: NVIDIA Corporation GA102 High Definition Audio Controller [10de:1aef] (rev a1)
\tIOMMU group: 14
\tKernel driver in use: vfio-pci
"""
DMESG = "[    0.000000] Linux version 6.1.0\n[    0.120000] DMAR: IOMMU enabled\n"


def report_tree(parent: Path, top: str = TOP, version: str = "4.5.6") -> Path:
    """A minimal sosreport directory under `parent` (with its root `lspci` link); its path."""
    root = parent / top
    files = {
        "version.txt": f"sosreport: {version}\n",
        "sos_commands/pci/lspci_-nnvv": LSPCI,
        "sos_commands/kernel/dmesg": DMESG,
        "sos_commands/host/hostname": "gpuhost\n",
        "proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt\n",
        "sos_reports/manifest.json": '{"version": "' + version + '"}\n',
        "sos_strings/libvirt/var.log.libvirt.qemu.win11.log.tailed": "2026-11-29 qemu start\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "lspci").symlink_to("sos_commands/pci/lspci_-nnvv")
    log = root / "var/log/libvirt/qemu/win11.log"
    log.parent.mkdir(parents=True)
    log.symlink_to("../../../../sos_strings/libvirt/var.log.libvirt.qemu.win11.log.tailed")
    return root


def pack(tree: Path, out: Path, mode: str = "w:xz") -> Path:
    """`tree` (a report directory) as an archive at `out`, the way sos packs it."""
    with tarfile.open(out, mode) as tar:  # type: ignore[call-overload]
        tar.add(tree, arcname=tree.name)
    return out


def member(
    name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    """One hand-made member (name, type and link target as an attacker would write them)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def hostile(
    out: Path, members: Iterable[tuple[tarfile.TarInfo, bytes]], mode: str = "w:xz"
) -> Path:
    """An archive of exactly these members, in this order."""
    with tarfile.open(out, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out


def base_members(top: str = TOP) -> list[tuple[tarfile.TarInfo, bytes]]:
    """The members of a minimal good report, to which a hostile one is added."""
    return [
        member(top, kind=tarfile.DIRTYPE),
        member(f"{top}/sos_commands", kind=tarfile.DIRTYPE),
        member(f"{top}/sos_commands/pci/lspci_-nnvv", LSPCI.encode()),
        member(f"{top}/version.txt", b"sosreport: 4.5.6\n"),
    ]
