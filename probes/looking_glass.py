"""`display.looking_glass`: the shared-memory path of Looking Glass (kvmfr or /dev/shm) and its size."""

from __future__ import annotations

import math
from typing import Any

from probes.modules import module_loaded
from probes.parsers import parse_resolution
from probes.processes import process_facts
from workbench.core.probe import Probe, ProbeContext, ProbeOption
from workbench.core.report import Finding, Outcome, not_recorded, worst
from workbench.core.text import parse_uint

MIB = 1024 * 1024
MAX_STATIC_MB = 1 << 32  # kvmfr takes an unsigned int of MiB
DEFAULT_RESOLUTION = "1920x1080"
LG_RESOLUTION = ProbeOption(
    "lg_resolution", str, DEFAULT_RESOLUTION, "the guest's resolution Looking Glass must carry"
)
LG_BYTES_PER_PIXEL = ProbeOption(
    "lg_bytes_per_pixel", int, 4, "bytes per pixel of the captured frames (4; 8 for HDR)"
)


def required_mib(width: int, height: int, bytes_per_pixel: int = 4) -> int:
    """Looking Glass's formula: width x height x bpp x 2 (two frames), plus 10 MiB, rounded up to a
    power of two (in MiB)."""
    needed = math.ceil(width * height * bytes_per_pixel * 2 / MIB) + 10
    return 1 << (needed - 1).bit_length()


class LookingGlass(Probe):
    id = "display.looking_glass"
    title = "Looking Glass"
    area = "display"
    order = 90
    options = (LG_RESOLUTION, LG_BYTES_PER_PIXEL)

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        resolution = ctx.option(LG_RESOLUTION)
        parsed = parse_resolution(resolution) or (1920, 1080)
        bpp = ctx.option(LG_BYTES_PER_PIXEL)
        need = required_mib(*parsed, bpp)
        kvmfr = module_loaded(host, "kvmfr")  # None: the record has no module list
        static_text, _ = host.try_read("sys/module/kvmfr/parameters/static_size_mb")
        static_sizes = [
            size
            for size in (parse_uint(s, limit=MAX_STATIC_MB) for s in (static_text or "").split(","))
            if size is not None
        ]
        node = host.device_node("/dev/kvmfr0")
        shm_names = [n for n in host.listdir("dev/shm") if n.startswith("looking-glass")]
        shm = [host.device_node(f"/dev/shm/{n}") for n in shm_names]  # noqa: S108
        facts: dict[str, Any] = {
            "resolution": f"{parsed[0]}x{parsed[1]}",
            "required_mib": need,
            "kvmfr_loaded": kvmfr,
            "kvmfr_static_size_mb": static_sizes,
            "kvmfr_device": None
            if node is None
            else {
                "kind": node.kind,
                "mode": node.mode,
                "owner": node.owner,
                "accessible": node.accessible,
            },
            "shm_files": [
                {"path": s.path, "kind": s.kind, "size": s.size} for s in shm if s is not None
            ],
            "processes": process_facts(host, ("looking-glass",)),
        }
        findings: list[Finding] = []
        unparsed = [t.strip() for t in (static_text or "").split(",") if t.strip()]
        if len(unparsed) != len(static_sizes):
            findings.append(
                Finding(
                    "LG_KVMFR_BAD_SIZE",
                    "warn",
                    f"kvmfr static_size_mb holds {(static_text or '').strip()[:40]!r}, not a list "
                    "of sizes in MiB.",
                    f"Set `options kvmfr static_size_mb={need}` in /etc/modprobe.d/kvmfr.conf and "
                    "reload the module.",
                )
            )
        if resolution != facts["resolution"]:
            findings.append(
                Finding(
                    "LG_BAD_RESOLUTION",
                    "warn",
                    f"Resolution {resolution!r} is not WIDTHxHEIGHT; "
                    f"judged for {facts['resolution']}.",
                )
            )
        if not kvmfr and node is None and not shm_names:
            if kvmfr is None or (not host.live and not host.is_dir("sys/module")):
                return Outcome(
                    "skip", not_recorded("sys/module", host=host).summary, facts, findings
                )
            if not host.device_recorded("/dev/kvmfr0") and not host.is_dir("dev/shm"):
                # Neither place Looking Glass could use was recorded: no verdict on it.
                return Outcome(
                    "skip", not_recorded("dev/kvmfr0", host=host).summary, facts, findings
                )
            return Outcome(
                "skip", "Looking Glass is not set up (no kvmfr, no /dev/shm file)", facts, findings
            )
        kvmfr_unknown = node is None and not host.device_recorded("/dev/kvmfr0")
        if kvmfr_unknown and not shm_names:
            # kvmfr is loaded but the record has no /dev: nothing to judge its device by.
            return Outcome("skip", not_recorded("dev/kvmfr0", host=host).summary, facts, findings)
        if (kvmfr or node is not None) and not kvmfr_unknown:
            findings += self._kvmfr(node, static_sizes, need)
        for s in shm:
            if s is not None:
                findings += self._shm(s.path, s.kind, s.size, need)
        status = worst(findings)
        via = "kvmfr" if node is not None else "/dev/shm"  # noqa: S108 - a name shown to the user
        summary = {
            "pass": f"{via} ready for {facts['resolution']} (needs {need} MiB)",
            "warn": f"{via} usable with warnings",
            "fail": f"{via} not usable for {facts['resolution']}",
        }[status]
        return Outcome(status, summary, facts, findings)

    @staticmethod
    def _kvmfr(node: Any, static_sizes: list[int], need: int) -> list[Finding]:
        out: list[Finding] = []
        if node is None:
            out.append(
                Finding(
                    "LG_KVMFR_NO_DEVICE",
                    "fail",
                    "The kvmfr module is loaded but /dev/kvmfr0 does not exist.",
                    f"Reload it with a size: `modprobe -r kvmfr; modprobe kvmfr static_size_mb={need}`.",
                )
            )
            return out
        if node.kind != "char":
            out.append(
                Finding(
                    "LG_KVMFR_NOT_CHAR",
                    "fail",
                    f"/dev/kvmfr0 is a {node.kind}, not a character device (created by hand or by a "
                    "wrong path in the domain XML?).",
                    f"Remove it and load the module: `rm /dev/kvmfr0; modprobe kvmfr "
                    f"static_size_mb={need}`.",
                )
            )
            return out
        if static_sizes and static_sizes[0] < need:
            out.append(
                Finding(
                    "LG_KVMFR_TOO_SMALL",
                    "fail",
                    f"kvmfr static_size_mb={static_sizes[0]} is below the {need} MiB this "
                    "resolution needs.",
                    f"Set `options kvmfr static_size_mb={need}` in /etc/modprobe.d/kvmfr.conf and "
                    "reload the module; match the domain's shmem size.",
                )
            )
        if node.accessible is False:
            out.append(
                Finding(
                    "LG_KVMFR_NO_ACCESS",
                    "warn",
                    f"/dev/kvmfr0 (mode {node.mode}, owner {node.owner}) is not readable and "
                    "writable by this user, so looking-glass-client cannot open it.",
                    'Add a udev rule: SUBSYSTEM=="kvmfr", OWNER="<user>", GROUP="kvm", MODE="0660".',
                )
            )
        return out

    @staticmethod
    def _shm(path: str, kind: str, size: int | None, need: int) -> list[Finding]:
        if kind != "file":
            return [
                Finding(
                    "LG_SHM_NOT_FILE",
                    "fail",
                    f"{path} is a {kind}, not a file.",
                    f"Remove {path}; QEMU recreates it when the VM starts.",
                )
            ]
        if size is None:
            return [
                Finding(
                    "LG_SHM_SIZE_UNKNOWN",
                    "warn",
                    f"The size of {path} is not recorded, so it cannot be judged.",
                )
            ]
        if size == 0:
            return [
                Finding(
                    "LG_SHM_EMPTY",
                    "warn",
                    f"{path} is empty (VM not started yet?).",
                    "Start the VM; QEMU sizes the file from the ivshmem device.",
                )
            ]
        mib = size / MIB
        if mib < need:
            return [
                Finding(
                    "LG_SHM_TOO_SMALL",
                    "fail",
                    f"{path} is {mib:g} MiB; this resolution needs {need} MiB.",
                    f"Set the domain's <shmem name='looking-glass'><size unit='M'>{need}</size> "
                    "and restart the VM.",
                )
            ]
        if size & (size - 1):
            return [
                Finding(
                    "LG_SHM_NOT_POW2",
                    "warn",
                    f"{path} is {mib:g} MiB, not a power of two.",
                    f"Use {need} MiB.",
                )
            ]
        return []
