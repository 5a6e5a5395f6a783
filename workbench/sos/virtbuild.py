"""The hypervisor part of a sosreport's root: a `libvirt/` recording (as a capture writes it,
see workbench.virt.recorded) made from the domain XML (`etc/libvirt/qemu/*.xml`,
`run/libvirt/qemu/*.xml`) and the `virsh -r` outputs the report holds, and the QEMU logs under
`var/log/libvirt/qemu/`. A report without libvirt has no recording: the probes then say what
would record it."""

from __future__ import annotations

import json
from typing import Any

from workbench.core.lifecycle import STATES
from workbench.sos.domains import (
    DEFINED_DIR,
    LIVE_DIR,
    SosDomain,
    domain_name_ok,
    read_domains,
)
from workbench.sos.model import SosNotes
from workbench.sos.qemulogs import copy_libvirt_log, copy_qemu_logs
from workbench.sos.reportfiles import try_read
from workbench.sos.safexml import parse_untrusted
from workbench.sos.virsh import VirshOutputs, domain_file, read_virsh, state_in
from workbench.sos.virtinfo import connection_info
from workbench.virt.recorded import LIBVIRT_DIR, domain_member

LIBVIRT_PLUGINS = "collected by `sos report -o libvirt,virsh`"
STATE_HOW = "`sos report -o virsh` with libvirt running (virsh list --all)"
DOMAINS_WHAT = "the domain definitions (etc/libvirt/qemu) or virsh list --all"
DOMAINS_HOW = (
    "`sos report -o libvirt` collects etc/libvirt/qemu; `-o virsh` with libvirt running "
    "runs virsh list"
)


def build_virt(notes: SosNotes) -> None:
    """The recording, the QEMU logs and libvirt's log; or, without libvirt, why not."""
    copy_qemu_logs(notes)
    copy_libvirt_log(notes)
    virsh = read_virsh(notes)
    has_libvirt = any(
        notes.report.is_dir(d) for d in (DEFINED_DIR, LIVE_DIR, "etc/libvirt")
    ) or bool(virsh.names)
    if not has_libvirt:
        notes.missing(LIBVIRT_DIR, "libvirt's domain XML and virsh outputs", LIBVIRT_PLUGINS)
        return
    before = len(notes.problems)
    domains = read_domains(notes)
    _from_dumpxml(notes, virsh, domains)
    info = connection_info(notes, virsh)
    notes.write(f"{LIBVIRT_DIR}/connection.json", _json(info))
    if virsh.capabilities is not None:
        _capabilities(notes, virsh.capabilities)
    else:
        notes.missing(
            f"{LIBVIRT_DIR}/capabilities.xml",
            "libvirt's capabilities (virsh -r capabilities)",
            "`sos report -o virsh` with libvirt running",
        )
    listing = []
    unknown = []
    for name in sorted(domains):
        dom = domains[name]
        _state(dom, virsh, notes)
        entry: dict[str, Any] = {
            "name": name,
            "state": STATES.index(dom.state) if dom.state is not None else 0,
            "reason": dom.reason,
            "persistent": dom.persistent,
            "state_recorded": dom.state is not None,
            "state_source": dom.state_source,
        }
        if dom.state is None:
            unknown.append(name)
        listing.append(entry)
        notes.write(domain_member(name), dom.xml)
    notes.write(f"{LIBVIRT_DIR}/domains.json", _json(listing))
    _domains_source(notes, virsh)
    left_out = [p for p in notes.problems[before:] if p.endswith("left out")]
    if not listing and left_out:  # none read is not none defined
        notes.not_recorded[f"{LIBVIRT_DIR}/domains.json"] = (
            f"not in this sosreport in a form that can be read: {len(left_out)} of its domain "
            f"files could not be read (first: {left_out[0][:200]})"
        )
    notes.missing(
        f"{LIBVIRT_DIR}/agents.json",
        "the guest agents' answers",
        "no sos plugin asks a guest agent: run `workbench probe --only guest.agent` on the machine",
    )
    notes.info["domains"] = {"listed": len(listing), "state_not_recorded": len(unknown)}
    # What the report's libvirt files got wrong (a definition left out, a virsh table not
    # read): libvirt.domains says it, since a domain left out is not a domain that is absent.
    notes.info["libvirt_problems"] = [p[:300] for p in notes.problems[before:][:50]]
    if unknown:
        notes.missing(f"{LIBVIRT_DIR}/domains.json#state", "the domains' states", STATE_HOW)


def _domains_source(notes: SosNotes, virsh: VirshOutputs) -> None:
    """Where the report's list of domains comes from (the manifest's `sources`), or, when it
    holds none of them (`-p virt` alone: no domain XML, no virsh list), that the domains are
    not recorded: no domain found there is not "0 domains"."""
    found = [d for d in (DEFINED_DIR, LIVE_DIR) if notes.report.is_dir(d)]
    if virsh.listing_file is not None:
        found.append(virsh.listing_file)
    if found:
        notes.sources[f"{LIBVIRT_DIR}/domains.json"] = ", ".join(found)
    else:
        notes.missing(f"{LIBVIRT_DIR}/domains.json", DOMAINS_WHAT, DOMAINS_HOW)


def _from_dumpxml(notes: SosNotes, virsh: VirshOutputs, domains: dict[str, SosDomain]) -> None:
    """Domains virsh listed that no XML file of the report defines (the virsh plugin without
    the libvirt one): their XML from `virsh -r dumpxml NAME`, else a problem that says so."""
    for name in sorted(set(virsh.listing or {}) - set(domains)):
        if not domain_name_ok(name):
            notes.problems.append(f"{virsh.listing_file}: {name[:60]!r} is no domain name")
            continue
        rel = domain_file(virsh.names, "dumpxml", name)
        text = try_read(notes, rel) if rel is not None else None
        if text is None:
            notes.problems.append(
                f"domain {name!r} is listed by virsh but its XML is not in the report "
                "(etc/libvirt/qemu, run/libvirt/qemu, virsh dumpxml); left out"
            )
            continue
        try:
            root = parse_untrusted(text)
        except ValueError as exc:
            notes.problems.append(f"{rel}: {exc}; left out")
            continue
        if root.tag != "domain" or (root.findtext("name") or "").strip() != name:
            notes.problems.append(f"{rel}: not the XML of domain {name!r}; left out")
            continue
        # virsh lists only what libvirt knows: a shut-off one is persistent, a running one
        # may be either (not said: read as transient, as libvirt says of an unknown one).
        state = (virsh.listing or {})[name]
        domains[name] = SosDomain(name, text, state == "shutoff")


def _state(dom: SosDomain, virsh: VirshOutputs, notes: SosNotes) -> None:
    """Running from its status XML; else what virsh said (`list --all`, then `domstate`,
    `dominfo`); else not recorded (None): a definition alone says nothing of its state."""
    if dom.state is not None:
        return
    if virsh.listing is not None and dom.name in virsh.listing:
        dom.state, dom.state_source = virsh.listing[dom.name], virsh.listing_file
        return
    for command in ("domstate", "dominfo"):
        rel = domain_file(virsh.names, command, dom.name)
        if rel is None:
            continue
        text = try_read(notes, rel)
        state = state_in(text or "")
        if state is not None:
            dom.state, dom.state_source = state, rel
            return


def _capabilities(notes: SosNotes, text: str) -> None:
    try:
        parse_untrusted(text)
    except ValueError as exc:
        notes.problems.append(f"virsh -r capabilities: {exc}; left out")
        return
    notes.write(f"{LIBVIRT_DIR}/capabilities.xml", text)


def _json(value: Any) -> str:
    return json.dumps(value, indent=1) + "\n"
