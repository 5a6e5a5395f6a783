"""`guest.agent`: the QEMU guest agent of each running domain answers (libvirt, then socket)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from probes.libvirt_conn import SHARED_CONN, connect_uri
from probes.libvirt_domains import AGENT_XML, SHARED_DOMAINS
from workbench.core.errors import GuestAgentError, WorkbenchError
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import STATUSES, Finding, Outcome, worst
from workbench.virt.recorded import RecordedHypervisor

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

    def run(self, ctx: ProbeContext) -> Outcome:
        from workbench.virt.agent import agent_chain, ask_agent, summarize

        domains: list[dict[str, Any]] = ctx.shared[SHARED_DOMAINS]
        running = [d for d in domains if d["state"] == "running"]
        if not running:
            return Outcome("skip", "no running domain", {"agents": {}})
        recorded = ctx.shared.get(SHARED_CONN)
        if isinstance(recorded, RecordedHypervisor):
            return self._recorded(recorded)
        timeout = float(ctx.options.get("agent_timeout") or 3.0)
        rw, rw_problem = self._rw_connection(ctx)
        agents: dict[str, Any] = {}
        failed: list[tuple[str, bool, WorkbenchError]] = []
        for dom in running:
            name = dom["name"]
            channel = dom["agent_channel"] or {}
            path = channel.get("path") if channel.get("type") == "unix" else None
            libvirt_query = None
            if rw is not None:
                libvirt_query = self._libvirt_query(rw, name, timeout)
            chain = agent_chain(name, libvirt_query, rw_problem, path, timeout)
            try:
                answers, served_by, tried = ask_agent(chain)
            except WorkbenchError as exc:
                agents[name] = {"reachable": False, "error": exc.to_dict()}
                failed.append((name, bool(dom["agent_channel"]), exc))
                continue
            agents[name] = {
                "reachable": True,
                "via": served_by,
                **summarize(answers),
                "tried": [t["name"] for t in tried],
            }
        findings = grouped_findings(failed)
        ok = [n for n, a in agents.items() if a["reachable"]]
        summary = f"{len(ok)} of {len(running)} running guest agent(s) answer"
        if ok:
            summary += ": " + ", ".join(f"{n} ({agents[n]['via']})" for n in ok)
        return Outcome(worst(findings), summary, {"agents": agents}, findings)

    @staticmethod
    def _recorded(recorded: RecordedHypervisor) -> Outcome:
        """What the agents answered when the capture was made."""
        saved = recorded.agents
        if saved is None:
            return Outcome("skip", "the capture holds no guest-agent answers", {"agents": {}})
        findings = [
            Finding(
                str(f.get("code")),
                f.get("severity", "fail"),
                str(f.get("message")),
                f.get("remedy"),
            )
            for f in saved.get("findings", [])
            if isinstance(f, dict)
        ]
        status = next((s for s in STATUSES if s == saved.get("status")), worst(findings))
        facts = saved.get("facts")
        if not isinstance(facts, dict):
            facts = {"agents": {}}
        return Outcome(status, f"{saved.get('summary', '')} (recorded)", facts, findings)

    @staticmethod
    def _rw_connection(ctx: ProbeContext) -> tuple[Any, str | None]:
        """libvirt allows agent commands only on a read-write connection. Workbench sends the
        agent nothing but its read-only queries (workbench.virt.agent.QUERIES)."""
        from workbench.virt.connection import open_connection

        uri = connect_uri(ctx)
        if uri is None:
            return None, "no libvirt connection"
        try:
            conn = open_connection(uri, readonly=False)
        except WorkbenchError as exc:
            return None, f"no read-write libvirt connection ({exc.message})"
        ctx.shared["cleanup"].append(conn.close)
        return conn, None

    @staticmethod
    def _libvirt_query(conn: Any, name: str, timeout: float) -> Callable[[], dict[str, Any]]:
        def query() -> dict[str, Any]:
            import libvirt

            from workbench.virt.agent import via_libvirt
            from workbench.virt.connection import from_libvirt

            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError as exc:
                raise from_libvirt(exc, f"look up {name}") from exc
            return via_libvirt(dom, timeout_s=timeout)

        return query
