"""What a sosreport says of its hypervisor (the recording's `connection.json`): the URI sos
read, libvirt's and QEMU's versions and the hostname, from `virsh -r version`, else the
package list, else the header libvirt writes atop each start in a QEMU log."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.machinelogs import QEMU_LOG_DIR
from workbench.sos.model import SosNotes
from workbench.sos.packages import installed_version
from workbench.sos.virsh import VirshOutputs
from workbench.virt.hypervisor import ANSWERED

# The URI libvirt's plugin (and `virsh -r`, run as root) reads: the system instance.
SOS_URI = "qemu:///system"
_STARTING = re.compile(r"starting up libvirt version: (?P<libvirt>[0-9][0-9.]{0,30})(?P<rest>.*)")
_QEMU = re.compile(r", qemu version: ([0-9][0-9.]{0,30})")
_HOST = re.compile(r", hostname: ([A-Za-z0-9.-]{1,253})")
LIBVIRT_PACKAGES = ("libvirt-daemon", "libvirt0")  # the daemon's package; a deb's library
ANSWER_HOW = "`sos report -o virsh` with libvirt running"


def connection_info(notes: SosNotes, virsh: VirshOutputs) -> dict[str, Any]:
    """connection.json: the URI, versions and hostname, each from what the report holds.

    `uri_source` is said only when virsh's output was read (it is what connected to that
    URI). When virsh said nothing of libvirt (no `version`, `list --all` nor `capabilities`
    and no refusal), whether libvirt answered is not in the report: said in `not_recorded`
    (ANSWERED), where libvirt.connection reads it; the versions then come from the package
    list or a QEMU log's header, and `sources` says which."""
    info: dict[str, Any] = {"uri": SOS_URI}
    answered = bool(virsh.version) or virsh.listing is not None or virsh.capabilities is not None
    if answered or virsh.connect_error is not None:
        info["uri_source"] = "sosreport (virsh -r, as root)"
    if not answered and virsh.connect_error is None:
        notes.missing(ANSWERED, "virsh's answer (virsh -r version, list --all)", ANSWER_HOW)
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
        notes.sources["libvirt_version"] = "virsh -r version"
    else:
        packaged = _packaged_libvirt(notes)
        if packaged is not None:
            info["libvirt_version"], notes.sources["libvirt_version"] = packaged
    hostname = notes.info.get("hostname")  # the machine builders' (procfiles), checked there
    if isinstance(hostname, str):
        info["hostname"] = hostname
    started, origin = qemu_log_header(notes)  # the newest start's own account
    for key, value in started.items():
        if key not in info:
            info[key] = value
            notes.sources.setdefault(key, f"{origin} (libvirt's header of a domain's start)")
    return info


def qemu_log_header(notes: SosNotes) -> tuple[dict[str, str], str]:
    """What libvirt wrote at the top of a domain's start in its QEMU log (`starting up libvirt
    version: 6.0.0, ..., qemu version: 4.2.1Debian ..., hostname: h`), from the copied logs,
    and the log it came from ({} and "" when none says)."""
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
        return out, f"{QEMU_LOG_DIR}/{vm}.log"
    return out, ""


def _packaged_libvirt(notes: SosNotes) -> tuple[str, str] | None:
    """libvirt's version from the report's package list (`libvirt-daemon 6.0.0-0ubuntu8`),
    and the list it came from."""
    for name in LIBVIRT_PACKAGES:
        found = installed_version(notes.report, name)
        if found is not None:
            return found
    return None
