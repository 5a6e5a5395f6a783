"""The domains a sosreport shows: persistent definitions (`etc/libvirt/qemu/*.xml`) and the
live state of running ones (`run/libvirt/qemu/*.xml`: `<domstatus state= reason= pid=>`
around the `<domain>` it runs with), merged by the name inside the XML, never the file name.
Every file is hostile input: a broken, oversized or duplicated one is a problem, not a crash."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from workbench.core.lifecycle import STATES
from workbench.sos import reportfiles
from workbench.sos.model import SosNotes
from workbench.sos.safexml import parse_untrusted

DEFINED_DIR = "etc/libvirt/qemu"
LIVE_DIR = "run/libvirt/qemu"
MAX_DOMAIN_FILES = 1000  # per directory; a report with more is read in part, and says so
NAME_MAX = 200  # bytes of a domain name (libvirt's files add ".xml", ".log")
# libvirt's reason numbers of the running state (virDomainRunningReason), by the word a
# status XML holds; an unknown word is 0 (unknown), as libvirt itself reads it.
RUNNING_REASONS = (
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
)


@dataclass
class SosDomain:
    """One domain as the report shows it."""

    name: str
    xml: str  # what it runs with (live) or is defined as (persistent)
    persistent: bool  # a definition in etc/libvirt/qemu
    state: str | None = None  # a lifecycle state name; None: the report does not say
    reason: int = 0
    state_source: str | None = None  # the report's file that says the state
    pid: int | None = None


def domain_name_ok(name: str) -> bool:
    """A name libvirt could have given a domain: printable, no `/`, not hidden, bounded."""
    return (
        bool(name.strip())
        and name.isprintable()
        and "/" not in name
        and not name.startswith(".")
        and len(name.encode(errors="surrogateescape")) <= NAME_MAX
    )


def read_domains(notes: SosNotes) -> dict[str, SosDomain]:
    """The report's domains by name: definitions, then live state over them."""
    domains: dict[str, SosDomain] = {}
    defined_in: dict[str, str] = {}
    for rel, root in _xml_files(notes, DEFINED_DIR):
        if root.tag != "domain":
            continue  # networks and storage live elsewhere; a stray file is no domain
        name = _name(root, rel, notes)
        if name is None:
            continue
        if name in domains:
            notes.problems.append(
                f"{rel}: domain {name!r} is defined twice (also in {defined_in[name]}); "
                "this one left out"
            )
            continue
        defined_in[name] = rel
        xml = _text(root, rel, notes)
        if xml is not None:
            domains[name] = SosDomain(name, xml, True)
    seen_live: set[str] = set()
    for rel, root in _xml_files(notes, LIVE_DIR):
        if root.tag != "domstatus":
            continue
        inner = root.find("domain")
        if inner is None:
            notes.problems.append(f"{rel}: a status XML without its <domain>; left out")
            continue
        name = _name(inner, rel, notes)
        if name is None:
            continue
        if name in seen_live:
            notes.problems.append(f"{rel}: a second live state of domain {name!r}; left out")
            continue
        seen_live.add(name)
        xml = _text(inner, rel, notes)
        if xml is None:
            continue
        state, reason = _status(root, rel, notes)
        defined = domains.get(name)
        domains[name] = SosDomain(
            name,
            xml,
            defined is not None,
            state=state,
            reason=reason,
            state_source=rel if state is not None else None,
            pid=_pid(root.get("pid")),
        )
    return domains


def _xml_files(notes: SosNotes, folder: str) -> list[tuple[str, ET.Element]]:
    """Each parseable `*.xml` directly in `folder` of the report (sorted, capped)."""
    if not notes.report.is_dir(folder):
        return []
    names = [
        n for n in reportfiles.names(notes, folder, keep=None, limit=None) if n.endswith(".xml")
    ]
    odd = [n for n in names if not n.isprintable()]  # never echoed: control codes
    if odd:
        notes.problems.append(f"{folder}: {len(odd)} file name(s) with control characters left out")
        names = [n for n in names if n.isprintable()]
    if len(names) > MAX_DOMAIN_FILES:
        notes.problems.append(
            f"{folder}: {len(names)} XML files; the first {MAX_DOMAIN_FILES} read, "
            f"{len(names) - MAX_DOMAIN_FILES} left out"
        )
        names = names[:MAX_DOMAIN_FILES]
    out: list[tuple[str, ET.Element]] = []
    for file in names:
        rel = f"{folder}/{file}"
        text = reportfiles.try_read(notes, rel)
        if text is None:
            continue
        try:
            out.append((rel, parse_untrusted(text)))
        except ValueError as exc:
            notes.problems.append(f"{rel}: {exc}; left out")
    return out


def _name(root: ET.Element, rel: str, notes: SosNotes) -> str | None:
    name = (root.findtext("name") or "").strip()
    if not domain_name_ok(name):
        # repr escapes a control code once (`'ev\x9b'`), the problem's reader shows it as is
        notes.problems.append(f"{rel}: no usable domain <name> ({name[:60]!r}); left out")
        return None
    return name


def _status(root: ET.Element, rel: str, notes: SosNotes) -> tuple[str | None, int]:
    """A status XML's state (libvirt writes the state's name: `running`, `paused`)."""
    said = root.get("state") or ""
    state = said if said in STATES else None
    if state is None:
        notes.problems.append(f"{rel}: state {said[:40]!r} is not a libvirt state; not read")
        return None, 0
    reason = root.get("reason") or ""
    number = (
        RUNNING_REASONS.index(reason) if state == "running" and reason in RUNNING_REASONS else 0
    )
    return state, number


def _pid(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


def _text(root: ET.Element, rel: str, notes: SosNotes) -> str | None:
    """The element as XML text (the recording's domain XML); None and a problem when it is
    nested too deeply to write (ElementTree's writer recurses)."""
    try:
        return ET.tostring(root, encoding="unicode")
    except RecursionError:
        notes.problems.append(f"{rel}: nested too deeply to record; left out")
        return None
