"""`libvirt.connection`: the hypervisor answers; its URI, type and versions."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import CAPTURE_HINT, Finding, Outcome, worst
from workbench.core.text import safe_text
from workbench.virt.hypervisor import ANSWERED

if TYPE_CHECKING:
    from workbench.virt.hypervisor import Hypervisor

HYPERVISOR_HUNG = (
    "The hypervisor did not answer in time: check that its daemon runs and answers "
    "(`systemctl status libvirtd`, `virsh -c URI list`); a stopped daemon or a dead remote host "
    "hangs every call."
)
RECORD_AGAIN = "Capture the machine again with `workbench capture`."
NO_KVM_REMEDY = (
    "/dev/kvm is missing or not accessible to libvirt's QEMU: enable virtualization in the "
    "firmware, load kvm_intel or kvm_amd, and check `virt-host-validate qemu`."
)


class LibvirtConnection(Probe):
    id = "libvirt.connection"
    title = "libvirt connection"
    area = "libvirt"
    order = 100
    timeout_remedy = HYPERVISOR_HUNG

    def run(self, ctx: ProbeContext) -> Outcome:
        hv = ctx.hypervisor
        if hv is None:
            hint = ctx.host.record_hint("libvirt")
            if hint is not None:  # a sosreport without libvirt: what would record it
                finding = Finding("HYPERVISOR_NOT_RECORDED", "info", hint)
                return Outcome("skip", hint, {"recorded": False}, [finding])
            return _none_recorded(ctx.host.manifest)
        try:
            info = hv.info()
        except WorkbenchError as exc:
            exc.add_context(f"probes.{self.id}", "run")  # the result carries the whole path
            if hv.recorded:
                return _recorded_failure(exc, hv.uri, hv.problems)
            finding = Finding(exc.code, "fail", exc.message, exc.remedy)
            return Outcome(
                "fail", f"{hv.uri} unreachable", {"uri": hv.uri, "error": exc.to_dict()}, [finding]
            )
        caps_facts, findings = _capabilities(hv, info.hypervisor)
        if not hv.recorded:
            facts: dict[str, Any] = {**info.to_dict(), "readonly": True, **caps_facts}
            del facts["recorded"]
            summary = (
                f"{facts['uri']}: {facts['hypervisor']} {facts['hypervisor_version']}, "
                f"libvirt {facts['libvirt_version']}"
            )
            return Outcome(worst(findings), summary, facts, findings)
        # What the recording got wrong was read around (see workbench.virt.recorded): said here.
        findings += _problem_findings(hv.problems)
        facts = {k: v for k, v in info.to_dict().items() if v not in (None, "")}
        facts.update(readonly=True, recorded=True, **caps_facts)
        where = "from the sosreport" if ctx.host.recorded_by == "sosreport" else "recorded"
        summary = f"{recorded_summary(facts)} ({where})"
        refused = sos_connect_error(ctx.host)
        unanswered = ctx.host.record_hint(ANSWERED)
        if refused is not None:
            findings.append(refused)
            summary += ": virsh could not connect when the report was made"
        elif unanswered is not None:
            findings.append(_not_answered(ctx.host, hv, facts, unanswered))
            summary += ": whether libvirt answered is not in it"
        return Outcome(worst(findings), summary, facts, findings)


def _not_answered(host: Host, hv: Hypervisor, facts: dict[str, Any], hint: str) -> Finding:
    """A recording that holds libvirt's files but no answer of libvirt (a sosreport without
    virsh output): what it shows, and that whether libvirt answered is not in it. A warning,
    not a pass (nothing shows libvirt answering) nor a skip (that would block the domain
    probes, which judge the recorded definitions all the same)."""
    sources = host.manifest.get("sources")
    origin = sources.get("libvirt_version") if isinstance(sources, dict) else None
    shown = recorded_summary(facts)
    if isinstance(origin, str) and facts.get("libvirt_version"):
        shown += f" (versions from {safe_text(origin[:200])})"
    facts["answered"] = None  # not known: not False
    with contextlib.suppress(WorkbenchError):  # libvirt.domains says why
        listed = hv.domains()
        if listed or host.record_hint("libvirt/domains.json") is None:  # 0 only when it is so
            shown += f"; {len(listed)} domain(s) defined"
    return Finding(
        "LIBVIRT_ANSWER_NOT_RECORDED",
        "warn",
        f"the report shows {shown}; whether libvirt answered is {hint}",
        "Make the report again with libvirt running: `sos report -o libvirt,virsh`.",
    )


def sos_connect_error(host: Host) -> Finding | None:
    """What the report's virsh said when it could not reach libvirt: a daemon whose socket
    was missing is not running (a cause); any other refusal is said as it was. A warning, not
    a fail: the domains the report defines are still judged (a fail blocks them)."""
    sos = host.manifest.get("sos") if host.recorded_by == "sosreport" else None
    said = sos.get("virsh_connect_error") if isinstance(sos, dict) else None
    if not isinstance(said, dict) or not isinstance(said.get("message"), str):
        return None
    message = safe_text(said["message"][:300])
    where = safe_text(str(said.get("file") or "sos_commands/virsh")[:200])
    text = f"when the report was made, `virsh -r` could not connect ({where}): {message}"
    if "-sock" in message and "No such file or directory" in message:
        return Finding(
            "LIBVIRT_DAEMON_NOT_RUNNING",
            "warn",
            text,
            "Start the daemon (`systemctl enable --now libvirtd`, or virtqemud.socket on a "
            "modular install) and make the report again with `sos report -o libvirt,virsh`.",
            cause="LIBVIRT_DAEMON_NOT_RUNNING",
        )
    return Finding(
        "LIBVIRT_NOT_ANSWERING",
        "warn",
        text,
        "Check `systemctl status libvirtd` on that machine and make the report again.",
    )


def _none_recorded(manifest: dict[str, Any]) -> Outcome:
    """A machine root with no hypervisor: a capture says why none was recorded (its libvirt
    collector timed out or failed, or none was named), never that the machine has none."""
    collectors = manifest.get("collectors")
    if not isinstance(collectors, dict):  # not a capture: a root someone laid out
        return Outcome("skip", "no hypervisor for a machine root (pass --connect URI)")
    entry = collectors.get("libvirt")
    if not isinstance(entry, dict):  # the manifest says nothing of it: no guess at why
        finding = Finding(
            "HYPERVISOR_NOT_RECORDED",
            "info",
            "the capture's manifest has no record of its libvirt collector",
            "Capture the machine again with `workbench capture` (with --connect URI for a root).",
        )
        return Outcome("skip", "hypervisor not recorded", {"recorded": False}, [finding])
    problem = entry.get("error")
    if problem:
        how = "timed out" if entry.get("timed_out") else "failed"
        said = problem.get("message") if isinstance(problem, dict) else problem
        finding = Finding(
            "HYPERVISOR_NOT_RECORDED",
            "info",
            f"the capture's libvirt collector {how}: {said}",
            "Capture again (a longer --timeout if it timed out); check that the daemon answers "
            "`virsh -c URI list` on that machine.",
        )
        return Outcome(
            "skip",
            f"hypervisor not recorded: the capture's libvirt collector {how}",
            {"recorded": False, "collector": entry},
            [finding],
        )
    finding = Finding(
        "HYPERVISOR_NOT_RECORDED",
        "info",
        "no hypervisor was named when this capture was made (a machine root, no --connect)",
        "Capture with `workbench --root DIR capture --connect URI` to record one.",
    )
    return Outcome("skip", "hypervisor not recorded: none was named at capture", {}, [finding])


def _capabilities(hv: Hypervisor, driver: str | None) -> tuple[dict[str, Any], list[Finding]]:
    """Whether the hypervisor offers KVM, and for which guest architectures. A QEMU that offers
    no kvm domain type runs every guest in software emulation (and cannot pass a GPU through):
    a fail. Capabilities a capture did not record say so, with no verdict."""
    try:
        caps = hv.capabilities()
    except WorkbenchError as exc:
        facts: dict[str, Any] = {"kvm": None, "guest_arches": None}  # None: not known
        if hv.recorded:  # an older capture, or a broken file: absence of evidence, no verdict
            facts["capabilities"] = f"not recorded ({exc.details.get('problem') or exc.message})"
            return facts, []
        facts["capabilities"] = f"not read ({exc.message})"
        return facts, [
            Finding(exc.code, "warn", f"capabilities not read: {exc.message}", exc.remedy)
        ]
    arches = sorted(caps.guests)
    facts = {"kvm": caps.kvm, "guest_arches": arches}
    if caps.kvm or (driver or "").upper() != "QEMU":
        return facts, []
    offered = "; ".join(f"{a}: {', '.join(caps.guests[a]) or 'none'}" for a in arches)
    message = f"{hv.uri}: QEMU offers no kvm domain type ({offered or 'no guest architecture'})."
    return facts, [Finding("LIBVIRT_NO_KVM", "fail", message, NO_KVM_REMEDY)]


def _problem_findings(problems: tuple[str, ...]) -> list[Finding]:
    return [
        Finding("RECORDING_INVALID", "warn", f"invalid recording: {p}", RECORD_AGAIN)
        for p in problems
    ]


def _recorded_failure(exc: WorkbenchError, uri: str, problems: tuple[str, ...]) -> Outcome:
    """A capture's hypervisor that could not answer: unreachable when it was captured, or a
    recording too broken to say anything (then no verdict on the hypervisor, only on the file)."""
    if exc.code == "RECORDING_INVALID":
        problem = str(exc.details.get("problem") or exc.message)
        finding = Finding("RECORDING_INVALID", "info", f"unusable recording: {problem}")
        return Outcome(
            "skip",
            f"hypervisor not recorded (its recording is unusable): {CAPTURE_HINT} again",
            {"recorded": True, "problem": problem},
            [finding],
        )
    error = exc.details.get("recorded") or exc.to_dict()
    finding = Finding(exc.code, "fail", exc.message, exc.remedy)
    facts = {"uri": uri, "error": error, "recorded": True}
    findings = [finding, *_problem_findings(problems)]
    return Outcome("fail", f"{uri} was unreachable (recorded)", facts, findings)


def recorded_summary(facts: dict[str, Any]) -> str:
    """`uri: QEMU 8.2.0, libvirt 10.0.0`, each field the recording lacks said not recorded."""
    uri = facts.get("uri") or "URI not recorded"
    hypervisor, version = facts.get("hypervisor"), facts.get("hypervisor_version")
    if hypervisor and version:
        running = f"{hypervisor} {version}"
    elif hypervisor:
        running = f"{hypervisor}, hypervisor version not recorded"
    else:
        running = "hypervisor not recorded" + (f" (version {version})" if version else "")
    lib = facts.get("libvirt_version")
    return f"{uri}: {running}, " + (f"libvirt {lib}" if lib else "libvirt version not recorded")
