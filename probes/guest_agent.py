"""`guest.agent`: the QEMU guest agent of each running domain answers (libvirt, then socket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from probes.libvirt_domains import AGENT_XML
from workbench.core.errors import GuestAgentError, WorkbenchError
from workbench.core.probe import Probe, ProbeContext, ProbeOption
from workbench.core.report import STATUSES, Finding, Outcome, worst

if TYPE_CHECKING:
    from workbench.virt.hypervisor import RecordedAgents

AGENTS = "libvirt/agents.json"  # where a recording keeps the agents' answers
AGENT_TIMEOUT = ProbeOption(
    "agent_timeout", float, 3.0, "seconds each guest agent has to answer each query"
)

INSTALL_REMEDY = (
    "Install and start the guest agent in the guest: `systemctl enable --now qemu-guest-agent` "
    "(package qemu-guest-agent) on Linux, the virtio-win guest tools on Windows."
)


def grouped_findings(failed: list[tuple[str, bool, WorkbenchError]]) -> list[Finding]:
    """One finding per cause (error code, and whether the domains have an agent channel), listing
    its VMs. Only domains without an org.qemu.guest_agent.0 channel are told to add one."""
    causes: dict[tuple[str, bool], list[tuple[str, WorkbenchError]]] = {}
    for name, has_channel, exc in failed:
        causes.setdefault((exc.code, has_channel), []).append((name, exc))
    out: list[Finding] = []
    for (code, has_channel), members in causes.items():
        names = ", ".join(name for name, _ in members)
        if not has_channel:
            message = (
                f"{names}: no guest-agent channel (org.qemu.guest_agent.0), so no agent answers."
            )
            remedy: str | None = (
                f"Add {AGENT_XML} under <devices> of each, then install and start "
                "qemu-guest-agent in the guest."
            )
        else:
            first = members[0][1]
            more = f" (and {len(members) - 1} more like it)" if len(members) > 1 else ""
            message = f"{names}: the guest agent does not answer: {first.message}{more}"
            generic = first.remedy in (None, GuestAgentError.default_remedy)
            remedy = INSTALL_REMEDY if generic else first.remedy
        out.append(Finding(code, "fail", message, remedy))
    return out


class GuestAgent(Probe):
    id = "guest.agent"
    title = "Guest agents"
    area = "libvirt"
    order = 120
    uses = ("libvirt.domains",)  # needs the domain list, whatever the domains' verdicts
    timeout_s = 30.0  # a few guests, each allowed a few seconds
    timeout_remedy = (
        "A guest agent or the hypervisor did not answer in time: check qemu-guest-agent in "
        'the guests (`virsh qemu-agent-command VM \'{"execute":"guest-ping"}\'`) and that '
        "libvirtd answers (`virsh -c URI list`)."
    )
    options: ClassVar[tuple[ProbeOption[Any], ...]] = (AGENT_TIMEOUT,)

    def run(self, ctx: ProbeContext) -> Outcome:
        hv = ctx.hypervisor
        if hv is None:  # libvirt.domains skipped already; never reached through the runner
            return Outcome("skip", "no hypervisor (libvirt.connection says why)")
        running = [d for d in hv.domains() if d.state == "running" and d.config is not None]
        if not running:
            return Outcome("skip", "no running domain", {"agents": {}})
        if hv.recorded:
            return self._recorded(hv.recorded_agents(), ctx.host.record_hint(AGENTS))
        timeout = ctx.option(AGENT_TIMEOUT)
        agents: dict[str, Any] = {}
        failed: list[tuple[str, bool, WorkbenchError]] = []
        for dom in running:
            try:
                answer = hv.agent(dom, timeout)
            except WorkbenchError as exc:
                exc.add_context(f"probes.{self.id}", "run")
                agents[dom.name] = {"reachable": False, "error": exc.to_dict()}
                has_channel = dom.config is not None and dom.config.agent is not None
                failed.append((dom.name, has_channel, exc))
                continue
            agents[dom.name] = {
                "reachable": True,
                "via": answer.served_by,
                **answer.summary,
                "tried": [t["name"] for t in answer.tried],
            }
        findings = grouped_findings(failed)
        ok = [n for n, a in agents.items() if a["reachable"]]
        summary = f"{len(ok)} of {len(running)} running guest agent(s) answer"
        if ok:
            summary += ": " + ", ".join(f"{n} ({agents[n]['via']})" for n in ok)
        return Outcome(worst(findings), summary, {"agents": agents}, findings)

    @staticmethod
    def _recorded(saved: RecordedAgents | None, hint: str | None = None) -> Outcome:
        """What the agents answered when the capture was made (a sosreport records none:
        `hint` says so)."""
        if saved is None and hint is not None:
            return Outcome("skip", hint, {"agents": {}, "recorded": False})
        if saved is None:
            return Outcome("skip", "the capture holds no guest-agent answers", {"agents": {}})
        findings = list(saved.findings)
        status = next((s for s in STATUSES if s == saved.status), worst(findings))
        return Outcome(status, f"{saved.summary} (recorded)", saved.facts, findings)
