"""A hypervisor as a capture recorded it (`libvirt/` in a machine root): the Hypervisor
protocol answered from the recording, so a capture's report matches the machine's. A
recording is customer data: every value is checked before it is answered, and what is wrong is
kept as a problem for the probes to report (never a crash)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import (
    GuestAgentError,
    VirtConnectionError,
    WorkbenchError,
    error_context,
)
from workbench.core.host import Host
from workbench.core.lifecycle import STATES, state_name
from workbench.core.report import STATUSES, Finding
from workbench.core.text import mask_uri, mask_uris
from workbench.virt.capabilities import parse_capabilities
from workbench.virt.hypervisor import (
    AgentAnswer,
    Capabilities,
    DomainSnapshot,
    HypervisorInfo,
    RecordedAgents,
    closed_error,
)

MODULE = "virt.recorded"
LIBVIRT_DIR = "libvirt"
# The `not_recorded` entry of a recording that holds no answer of libvirt (a sosreport without
# virsh output): whether the hypervisor answered is then not known.
INFO_KEYS = ("uri", "hypervisor", "hypervisor_version", "libvirt_version", "hostname")
SEVERITIES = ("info", "warn", "fail")
RECORD_AGAIN = "Capture the machine again with `workbench capture`."
MAX_LEAF = 200  # bytes of a member's name before it is shortened with a digest
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+.")


@dataclass
class _Recording:
    """What `libvirt/` holds, checked (read once, on first use)."""

    info: dict[str, Any]  # uri, hypervisor, versions, hostname; or {"uri", "error"}
    domains: list[DomainSnapshot]
    agents: RecordedAgents | None
    problems: list[str] = field(default_factory=list)  # what the recording got wrong
    # Why connection.json cannot be read at all (empty, not JSON, not an object): then nothing
    # about the hypervisor was recorded, which is not the same as "it was unreachable".
    unusable: str | None = None


def has_recording(host: Host) -> bool:
    """Whether a non-live root recorded a hypervisor (its connection.json, even a broken one)."""
    rel = f"{LIBVIRT_DIR}/connection.json"
    return not host.live and (host.exists(rel) or host.link_name(rel) is not None)


class RecordedHypervisor:
    """The Hypervisor protocol answered from a machine root's `libvirt/` recording.

    A recorded connection error is raised again (VirtConnectionError with the recorded code,
    message and remedy; `details["recorded"]` holds the error as recorded); an unusable
    recording raises RECORDING_INVALID. Guest agents are not asked: `recorded_agents()`
    replays what the guest.agent probe concluded when the capture was made."""

    recorded = True

    def __init__(self, host: Host) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._recording: _Recording | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"RecordedHypervisor({str(self.host.root)!r})"

    @property
    def uri(self) -> str:
        return str(self._read().info.get("uri") or "")

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(self._read().problems)

    def info(self) -> HypervisorInfo:
        with error_context(MODULE, "info"):
            info = self._answering().info
            return HypervisorInfo(
                uri=str(info.get("uri") or ""),
                hypervisor=info.get("hypervisor"),
                hypervisor_version=info.get("hypervisor_version"),
                libvirt_version=info.get("libvirt_version"),
                hostname=info.get("hostname"),
                readonly=True,
                recorded=True,
            )

    def domains(self) -> list[DomainSnapshot]:
        with error_context(MODULE, "list_domains"):
            return list(self._answering().domains)

    def agent(self, vm: DomainSnapshot, timeout_s: float) -> AgentAnswer:
        with error_context(MODULE, "agent"):
            self._check_open()
            raise GuestAgentError(
                f"guest agent of {vm.name}: a recording cannot ask it (see the recorded outcome)",
                code="GUEST_AGENT_NOT_RECORDED",
                recoverable=False,
                remedy=None,
            )

    def recorded_agents(self) -> RecordedAgents | None:
        self._check_open()
        return self._read().agents

    def capabilities(self) -> Capabilities:
        with error_context(MODULE, "capabilities"):
            self._answering()
            rel = f"{LIBVIRT_DIR}/capabilities.xml"
            text, problem = self.host.try_read(rel)
            missing = self.host.record_hint(rel) or f"the capture has no {rel}"
            why = problem or (missing if text is None else None)
            if text is not None and why is None:
                try:
                    return parse_capabilities(text)
                except ValueError as exc:
                    why = f"{rel}: {exc}"
            raise WorkbenchError(
                f"capabilities not recorded: {why}",
                code="RECORDING_INVALID",
                details={"problem": why},
                remedy=RECORD_AGAIN,
            )

    def close(self) -> None:
        """Final, like a live one's: a later call raises HYPERVISOR_CLOSED. The recording read
        stays, so `uri` and `problems` still say what it was."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self.uri)

    def _read(self) -> _Recording:
        with self._lock:
            if self._recording is None:
                self._recording = _load(self.host)
            return self._recording

    def _answering(self) -> _Recording:
        """The recording, when it recorded a hypervisor that answered; else its error."""
        self._check_open()
        recording = self._read()
        if recording.unusable is not None:
            raise WorkbenchError(
                f"unusable recording: {recording.unusable}",
                code="RECORDING_INVALID",
                details={"problem": recording.unusable},
                remedy=RECORD_AGAIN,
            )
        error = recording.info.get("error")
        if isinstance(error, dict):
            raise VirtConnectionError(
                str(error.get("message") or "unreachable"),
                code=str(error.get("error") or "LIBVIRT_ERROR"),
                details={"uri": recording.info.get("uri"), "recorded": error},
                remedy=error.get("remedy") if isinstance(error.get("remedy"), str) else None,
            )
        return recording


def _load(host: Host) -> _Recording:
    problems: list[str] = []
    conn_rel = f"{LIBVIRT_DIR}/connection.json"
    raw = _json(host, conn_rel, problems)
    if raw is _MISSING:
        return _Recording({}, [], None, problems, unusable=f"{conn_rel} is missing")
    if not isinstance(raw, dict):
        why = problems[-1] if problems else f"{conn_rel} is {_kind(raw)}, not an object"
        return _Recording({}, [], None, problems, unusable=why)
    info = _info(raw, problems)
    domains = _domains(host, problems)
    agents = _agents(_json(host, f"{LIBVIRT_DIR}/agents.json", problems), problems)
    return _Recording(info, domains, agents, problems)


def domain_member(name: str) -> str:
    """Where a domain's XML is recorded: one plain file name per domain name, never shared
    (`vm a` and `vm_a` differ): bytes outside [A-Za-z0-9-_+.] and a leading dot are written
    %XX; a name too long for a file name keeps its start and a digest of the whole."""
    data = name.encode()
    leaf = "".join(
        chr(b) if chr(b) in _PLAIN and not (i == 0 and b == 0x2E) else f"%{b:02X}"
        for i, b in enumerate(data)
    )
    if len(leaf) > MAX_LEAF:  # "~" never comes out of the escaping above: no collision
        leaf = f"{leaf[:120]}~{hashlib.sha256(data).hexdigest()[:32]}"
    return f"{LIBVIRT_DIR}/domains/{leaf or '%'}.xml"


def _legacy_member(name: str) -> str:
    """Where older captures recorded a domain (lossy: `vm a` and `vm_a` shared one member)."""
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name).lstrip(".") or "_"
    return f"{LIBVIRT_DIR}/domains/{safe}.xml"


def _info(raw: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    where = f"{LIBVIRT_DIR}/connection.json"
    info: dict[str, Any] = {}
    for key in INFO_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"{where}: {key} is {_kind(value)}, not text; left out")
            continue
        info[key] = mask_uri(value) if key == "uri" else mask_uris(value)
    error = raw.get("error")
    if error is not None:
        if isinstance(error, dict):
            info["error"] = {k: mask_uris(v) if isinstance(v, str) else v for k, v in error.items()}
            for key in ("error", "message", "remedy"):  # what the probe shows: text or nothing
                if not isinstance(info["error"].get(key), str | None):
                    problems.append(f"{where}: error {key} is {_kind(error[key])}, not text")
                    info["error"][key] = None
        else:
            problems.append(f"{where}: error is {_kind(error)}, not an object; left out")
    return info


def _domains(host: Host, problems: list[str]) -> list[DomainSnapshot]:
    where = f"{LIBVIRT_DIR}/domains.json"
    listing = _json(host, where, problems)
    if listing is _MISSING:
        return []
    if not isinstance(listing, list):
        if listing is not None:
            problems.append(f"{where} is {_kind(listing)}, not a list of domains; none read")
        return []
    # Counted once: a list.count per domain was quadratic in a hostile listing.
    entries = [e for e in listing if isinstance(e, dict) and isinstance(e.get("name"), str)]
    legacy = Counter(_legacy_member(e["name"]) for e in entries)
    domains = []
    for n, entry in enumerate(listing):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{where}: entry {n} has no name (it is {_kind(entry)}); left out")
            continue
        name = entry["name"]
        # `state_recorded: false` (a sosreport that does not say it): nostate, said as such.
        known = entry.get("state_recorded") is not False
        state = _state(entry.get("state"), f"{where}: {name}", problems) if known else 0
        reason = entry.get("reason")
        if reason is None:
            reason = 0
        elif isinstance(reason, bool) or not isinstance(reason, int):
            problems.append(f"{where}: {name}: reason {_shown(reason)} is not a number; read as 0")
            reason = 0
        persistent = entry.get("persistent")
        if not isinstance(persistent, bool):
            if persistent is not None:
                problems.append(
                    f"{where}: {name}: persistent {_shown(persistent)} is not true or false; "
                    "read as false"
                )
            persistent = False
        xml, problem = host.try_read(domain_member(name))
        old = _legacy_member(name)
        if xml is None and problem is None and legacy[old] == 1:
            xml, problem = host.try_read(old)  # an older capture, where the name was unique
        if xml is None:
            problems.append(f"{name}: {problem or 'its recorded XML is missing'}; left out")
            continue
        domains.append(
            DomainSnapshot.from_xml(
                name, state_name(state), persistent, xml, reason, state_recorded=known
            )
        )
    return sorted(domains, key=lambda d: d.name)


def _state(value: Any, where: str, problems: list[str]) -> int:
    """libvirt's state number; a state recorded by its name is understood (and said)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(STATES):
        return value
    if isinstance(value, str) and value in STATES:
        problems.append(f"{where}: state {value!r} is a name, not libvirt's number; read as such")
        return STATES.index(value)
    problems.append(
        f"{where}: state {_shown(value)} is not a libvirt domain state; read as nostate"
    )
    return 0


def _agents(raw: Any, problems: list[str]) -> RecordedAgents | None:
    """The guest.agent probe's recorded outcome, with every field of the expected type."""
    where = f"{LIBVIRT_DIR}/agents.json"
    if raw is _MISSING or raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where} is {_kind(raw)}, not an object; left out")
        return None
    agents: dict[str, Any] = {}
    status = raw.get("status")
    if status in STATUSES:
        agents["status"] = status
    elif status is not None:
        problems.append(f"{where}: status {_shown(status)} is not a probe status; left out")
    summary = raw.get("summary")
    if not isinstance(summary, str):
        if summary is not None:
            problems.append(f"{where}: summary is {_kind(summary)}, not text; left out")
        summary = ""
    agents["summary"] = mask_uris(summary)
    facts = raw.get("facts")
    if not isinstance(facts, dict) or not isinstance(facts.get("agents", {}), dict):
        if facts is not None:
            problems.append(f"{where}: facts are not an object of agents; left out")
        facts = {"agents": {}}
    agents["facts"] = facts
    findings = raw.get("findings")
    if not isinstance(findings, list):
        if findings is not None:
            problems.append(f"{where}: findings are {_kind(findings)}, not a list; left out")
        findings = []
    agents["findings"] = [_finding(f, where, problems) for f in findings if isinstance(f, dict)]
    if len(agents["findings"]) != len(findings):
        problems.append(f"{where}: findings that are not objects were left out")
    return RecordedAgents(
        agents.get("status"), agents["summary"], agents["facts"], tuple(agents["findings"])
    )


def _finding(raw: dict[str, Any], where: str, problems: list[str]) -> Finding:
    def text(key: str, default: str | None) -> str | None:
        value = raw.get(key)
        if isinstance(value, str):
            return mask_uris(value)
        if value is not None:
            problems.append(f"{where}: a finding's {key} is {_kind(value)}, not text")
        return default

    severity: Any = raw.get("severity")
    if severity not in SEVERITIES:
        problems.append(
            f"{where}: a finding's severity {_shown(severity)} is unknown; read as warn"
        )
        severity = "warn"
    return Finding(
        text("code", "RECORDED_FINDING") or "RECORDED_FINDING",
        severity,
        text("message", "(no message recorded)") or "(no message recorded)",
        text("remedy", None),
    )


_MISSING: Any = object()


def _json(host: Host, rel: str, problems: list[str]) -> Any:
    """The parsed file; _MISSING when absent; None (and a problem) when unreadable or not JSON."""
    text, problem = host.try_read(rel)
    if problem is not None:
        problems.append(problem)
        return None
    if text is None:
        return _MISSING
    try:
        return json.loads(text)
    except ValueError as exc:
        problems.append(f"{rel} is not valid JSON ({exc})")
        return None
    except RecursionError:
        problems.append(f"{rel} is not valid JSON (nested too deep)")
        return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "null" if value is None else "a number"
    )


def _shown(value: Any) -> str:
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
