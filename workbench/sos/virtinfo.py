"""What a sosreport says of its hypervisor (the recording's `connection.json`): the URI sos
read, libvirt's and QEMU's versions and the hostname, from `virsh -r version`, else the
package list, else the header libvirt writes atop each start in a QEMU log."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.machinelogs import QEMU_LOG_DIR
from workbench.sos.model import SosNotes
from workbench.sos.virsh import VirshOutputs

# The URI libvirt's plugin (and `virsh -r`, run as root) reads: the system instance.
SOS_URI = "qemu:///system"
_STARTING = re.compile(r"starting up libvirt version: (?P<libvirt>[0-9][0-9.]{0,30})(?P<rest>.*)")
_QEMU = re.compile(r", qemu version: ([0-9][0-9.]{0,30})")
_HOST = re.compile(r", hostname: ([A-Za-z0-9.-]{1,253})")
PACKAGE_LISTS = ("installed-debs", "installed-rpms", "sos_commands/dpkg/dpkg_-l")


def connection_info(notes: SosNotes, virsh: VirshOutputs) -> dict[str, Any]:
    """connection.json: the URI sos read (said to be from the report), versions, hostname."""
    info: dict[str, Any] = {"uri": SOS_URI, "uri_source": "sosreport (virsh -r, as root)"}
    if virsh.connect_error is not None:
        notes.info["virsh_connect_error"] = {
            "file": virsh.connect_error_file,
            "message": virsh.connect_error,
        }
    version = virsh.version
    if version.get("hypervisor"):
        info["hypervisor"] = version["hypervisor"]
        info["hypervisor_version"] = version.get("hypervisor_version")
    if version.get("libvirt_version"):
        info["libvirt_version"] = version["libvirt_version"]
    else:
        packaged = _packaged_libvirt(notes)
        if packaged is not None:
            info["libvirt_version"] = packaged
    hostname = _hostname(notes)
    if hostname is not None:
        info["hostname"] = hostname
    started = qemu_log_header(notes)  # the newest QEMU log's own account, when virsh is absent
    for key, value in started.items():
        info.setdefault(key, value)
    return info


def qemu_log_header(notes: SosNotes) -> dict[str, str]:
    """What libvirt wrote at the top of a domain's start in its QEMU log (`starting up libvirt
    version: 6.0.0, ..., qemu version: 4.2.1Debian ..., hostname: h`), from the copied logs."""
    out: dict[str, str] = {}
    logs = notes.facts.get("qemu_logs", {}).get("domains", {})
    for vm in sorted(logs):
        path = notes.out / QEMU_LOG_DIR / f"{vm}.log"
        if not path.is_file():
            continue
        with path.open("rb") as fh:
            head = fh.read(64 * 1024).decode("utf-8", errors="replace")
        found = list(_STARTING.finditer(head))
        if not found:
            continue
        m = found[-1]
        out["libvirt_version"] = m.group("libvirt")
        rest = m.group("rest")[:1000]
        if qemu := _QEMU.search(rest):
            out["hypervisor"] = "QEMU"
            out["hypervisor_version"] = qemu.group(1)
        if host := _HOST.search(rest):
            out["hostname"] = host.group(1)
        return out
    return out


def _packaged_libvirt(notes: SosNotes) -> str | None:
    """libvirt's version from the report's package list (`libvirt-daemon 6.0.0-0ubuntu8`)."""
    for rel in PACKAGE_LISTS:
        text, _ = notes.report.try_read(rel)
        if not text:
            continue
        for line in text.splitlines()[:100_000]:
            words = line.split()
            if (
                words[:1] == ["ii"]
                and len(words) >= 3
                and words[1].split(":")[0]
                in (
                    "libvirt-daemon",
                    "libvirt0",
                )
            ):
                return _upstream(words[2])  # a deb: [EPOCH:]VERSION-REVISION
            if words and words[0].startswith("libvirt-daemon-") and words[0][15:16].isdigit():
                return _upstream(words[0][len("libvirt-daemon-") :])  # an rpm: NAME-VER-REL
    return None


def _upstream(version: str) -> str | None:
    """libvirt's own version in a package's (`1:9.0.0-4` -> `9.0.0`), or None."""
    upstream = version.split(":", 1)[-1].split("-", 1)[0]
    return upstream[:40] if upstream[:1].isdigit() else None


def _hostname(notes: SosNotes) -> str | None:
    for rel in ("hostname", "etc/hostname", "sos_commands/host/hostname"):
        text, _ = notes.report.try_read(rel)
        name = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
        if name and name.isprintable() and len(name) <= 253:
            return name
    return None
