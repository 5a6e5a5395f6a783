"""libvirt's daemon log of this boot on the live machine: the journal of libvirtd/virtqemud,
else its log file (a machine without systemd)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core import logtools
from workbench.core.bounded import TAIL_BYTES, TAIL_LINES, LiveLog, Newest, tail
from workbench.core.journal import read_journal

if TYPE_CHECKING:
    from workbench.core.host import Host

LIBVIRT_UNITS = ("libvirtd", "virtqemud")
# libvirt's log on a machine without a journal: the monolithic daemon's, else the modular one's
LIBVIRT_FILE_LOGS = ("var/log/libvirt/libvirtd.log", "var/log/libvirt/virtqemud.log")


def live_libvirt_log(
    host: Host,
    max_bytes: int = TAIL_BYTES,
    max_lines: int = TAIL_LINES,
    timeout_s: float = logtools.COMMAND_TIMEOUT_S,
) -> LiveLog:
    """libvirt's daemon log of this boot on the live machine, the newest `max_bytes` /
    `max_lines`: the journal of libvirtd/virtqemud, else its log file (a machine without
    systemd), the monolithic daemon's, else the modular one's."""
    newest = Newest(max_bytes, max_lines)
    units = [arg for unit in LIBVIRT_UNITS for arg in ("-u", unit)]
    why = read_journal(newest, [*units, "-o", "short-iso-precise"], timeout_s, json_lines=False)
    if why is None:
        return newest.result("journal", [])
    tried = [f"journal: {why}"]
    for rel in LIBVIRT_FILE_LOGS:
        data, truncated, problem = tail(host, rel, max_bytes)
        if data is not None:
            lines = data.count(b"\n")
            return LiveLog(data, "/" + rel, lines, truncated, tuple(tried))
        said = "not present" if problem == "missing" else f"not readable ({problem})"
        tried.append(f"/{rel}: {said}")
    return LiveLog(None, None, tried=tuple(tried))
