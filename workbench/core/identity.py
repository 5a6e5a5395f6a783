"""What tells machines apart: the host name, /etc/machine-id and the DMI serial numbers, read
from a live machine, a machine root, a capture (its manifest's `facts.identity`) or a
sosreport's root. None is "not recorded", never a value."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.host import Host

NOT_RECORDED = "not recorded"
DMI = "sys/class/dmi/id"
DMI_KEYS = ("product_serial", "product_uuid", "board_serial")
MACHINE_ID = "etc/machine-id"
HOSTNAME_FILES = ("proc/sys/kernel/hostname", "etc/hostname")
_MACHINE_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no space: a serial or a name
# What firmware writes when it has no serial: not a machine's identity.
_PLACEHOLDERS = {
    "",
    "none",
    "n/a",
    "na",
    "not specified",
    "not applicable",
    "default string",
    "to be filled by o.e.m.",
    "system serial number",
    "0",
    "00000000",
    "0123456789",
    "03000200-0400-0500-0006-000700080009",
    "00000000-0000-0000-0000-000000000000",
}


# Host names every unconfigured machine has (systemd's fallback, the kernel's "(none)"): two
# machines sharing one are not one machine, so the name says nothing about which it is.
_NO_HOSTNAME = {"localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6"}
_NO_HOSTNAME |= {"(none)", "(unknown)"}


def clean(value: Any) -> str | None:
    """A recorded identifier, or None when it says nothing (absent, a placeholder, too long,
    not printable)."""
    if not isinstance(value, str):
        return None
    text: str = value.strip()
    if text.lower() in _PLACEHOLDERS or not _TOKEN.match(text):
        return None
    return text


def _read(host: Host, rel: str) -> str | None:
    """The file's text, None when absent or unreadable (root-only: not recorded)."""
    text, _problem = host.try_read(rel)
    return text


def read_machine_facts(host: Host) -> dict[str, str | None]:
    """machine_id and the DMI keys as the machine's files hold them (None: not readable, as
    /sys/class/dmi/id's serials are to anyone but root)."""
    out: dict[str, str | None] = {}
    mid = clean(_read(host, MACHINE_ID))
    out["machine_id"] = mid if mid and _MACHINE_ID.match(mid) else None
    for key in DMI_KEYS:
        out[key] = clean(_read(host, f"{DMI}/{key}"))
    return out


def machine_facts(host: Host) -> dict[str, str | None]:
    """machine_id and the DMI keys of `host`: a recorded machine's manifest (`facts.identity`)
    when it has one, else the machine's files (what a capture records, and `identity` reads)."""
    facts = host.manifest.get("facts") if not host.live else None
    said = facts.get("identity") if isinstance(facts, dict) else None
    if isinstance(said, dict):
        return {k: clean(said.get(k)) for k in ("machine_id", *DMI_KEYS)}
    return read_machine_facts(host)


def clean_hostname(value: Any) -> str | None:
    """A host name that tells a machine apart, or None (absent, a placeholder, or a name any
    unconfigured machine has, such as localhost)."""
    name = clean(value)
    return None if name is None or name.lower() in _NO_HOSTNAME else name


def identity(host: Host) -> dict[str, str | None]:
    """{"hostname", "machine_id", "dmi_serial"} (dmi_serial: the product serial, else the
    board's, else the product UUID); each None when not recorded. A capture's manifest
    (`facts.identity`) is read first, then the machine's files."""
    recorded = machine_facts(host)
    hostname = None
    for rel in HOSTNAME_FILES:
        hostname = clean_hostname(_read(host, rel))
        if hostname:
            break
    serial = next((recorded[k] for k in DMI_KEYS if recorded.get(k)), None)
    out = {"hostname": hostname, "machine_id": recorded.get("machine_id"), "dmi_serial": serial}
    for key in _pseudonyms(host):  # a pseudonym is one capture's token: it tells nothing apart
        out[key] = None
    return out


def _pseudonyms(host: Host) -> list[str]:
    """The identity keys a capture's redaction replaced by pseudonyms."""
    said = host.manifest.get("redaction") if not host.live else None
    kinds = said.get("optional") if isinstance(said, dict) else None
    kinds = kinds if isinstance(kinds, list) else []
    out = ["hostname"] if "hostnames" in kinds else []
    if "hostnames" in kinds or "serials" in kinds:
        out += ["machine_id", "dmi_serial"]
    return out


def differs(a: dict[str, str | None], b: dict[str, str | None]) -> list[str]:
    """What says two identities are two machines: each key both recorded, with different
    values ("hostname a != b")."""
    out = []
    for key in ("hostname", "machine_id", "dmi_serial"):
        x, y = a.get(key), b.get(key)
        if x is not None and y is not None and x != y:
            out.append(key)
    return out


def recorded(a: dict[str, str | None]) -> bool:
    """Whether anything of the identity was recorded."""
    return any(v is not None for v in a.values())
