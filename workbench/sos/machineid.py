"""The machine's identity in a sosreport: /etc/machine-id, and the serial numbers `dmidecode`
printed (best effort), written where a machine's files hold them (etc/machine-id,
sys/class/dmi/id/*) so `core.identity` reads a report's root as any other."""

from __future__ import annotations

from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import read

MACHINE_ID = "etc/machine-id"
DMIDECODE = "sos_commands/hardware/dmidecode"
# dmidecode's section -> (its key, the sysfs file that holds the same value)
_SECTIONS = {
    "System Information": {"Serial Number": "product_serial", "UUID": "product_uuid"},
    "Base Board Information": {"Serial Number": "board_serial"},
}


def build_machine_id(notes: SosNotes) -> None:
    """Copy etc/machine-id and the DMI serials the report holds; absent ones stay absent (not
    recorded), never invented."""
    data = read(notes, MACHINE_ID, limit=4096)
    if data is not None:
        notes.write(MACHINE_ID, data)
        notes.sources[MACHINE_ID] = MACHINE_ID
    text = read(notes, DMIDECODE, limit=4 * 1024 * 1024)
    if text is None:
        return
    for key, value in dmi_serials(text.decode("utf-8", errors="replace")).items():
        rel = f"sys/class/dmi/id/{key}"
        notes.write(rel, value + "\n")
        notes.sources[rel] = DMIDECODE


def dmi_serials(text: str) -> dict[str, str]:
    """The first System and Base Board sections' serial and UUID, by sysfs name."""
    out: dict[str, str] = {}
    section: dict[str, str] | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = _SECTIONS.get(line.strip())
            continue
        if section is None or ":" not in line:
            continue
        key, _, value = line.strip().partition(":")
        name = section.get(key.strip())
        if name and name not in out and value.strip():
            out[name] = value.strip()
    return out
