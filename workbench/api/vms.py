"""The hypervisor's domains and their transition timelines, for notebooks and scripts."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from workbench.api.html import table, text
from workbench.core.errors import VirtConnectionError
from workbench.core.lifecycle import Transition
from workbench.virt.domains import AgentChannel
from workbench.virt.hypervisor import DomainSnapshot


@dataclass
class VmsView:
    uri: str
    # Each domain whose configuration could be read, with its state as the session tracked it
    # (its lifecycle); dicts only in to_dict() and the renderings.
    domains: list[DomainSnapshot]
    timelines: dict[str, list[Transition]]

    @classmethod
    def collect(cls, uri: str, *, watch_s: float = 0.0, timeout_s: float = 10.0) -> VmsView:
        from workbench.virt.session import VirtSession

        session = VirtSession(uri, readonly=True)
        last: dict[str, Any] = {}
        session.connection_listeners.append(last.update)
        session.start()
        try:
            if not session.wait_for("connected", timeout_s):
                found = last.get("error")
                error: dict[str, Any] = found if isinstance(found, dict) else {}
                raise VirtConnectionError(
                    f"{uri}: not connected within {timeout_s:g} s"
                    + (f" ({error['message']})" if error.get("message") else ""),
                    code="LIBVIRT_UNREACHABLE",
                    details={"uri": uri, "timeout_s": timeout_s, "last_error": error or None},
                    remedy=error.get("remedy")
                    or "Check the URI and that the libvirt daemon runs "
                    "(`systemctl status libvirtd`).",
                )
            if watch_s > 0:
                time.sleep(watch_s)
            domains = [
                replace(d, state=session.lifecycles.get(d.name).state)
                for d in session.domains()
                if d.config is not None
            ]
            timelines = {d.name: list(session.lifecycles.get(d.name).history) for d in domains}
        finally:
            session.stop(timeout_s=2)
        return cls(uri, domains, timelines)

    def timeline(self, vm: str) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.timelines.get(vm, [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "domains": [_as_dict(d) for d in self.domains],
            "timelines": {vm: self.timeline(vm) for vm in self.timelines},
        }

    def __repr__(self) -> str:
        lines = [f"{self.uri}: {len(self.domains)} domain(s)"]
        for dom in self.domains:
            gpus = ", ".join(_bdfs(dom)) or "no PCI passthrough"
            agent = "agent channel" if _agent(dom) else "no agent channel"
            lines.append(f"  {dom.name:<16} {dom.state:<10} {gpus}; {agent}")
            for t in self.timelines.get(dom.name, []):
                lines.append(
                    f"    {t.timestamp}  {t.from_state} -> {t.to_state}  ({t.cause}"
                    + (f": {t.detail})" if t.detail else ")")
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for dom in self.domains:
            steps = "<br>".join(
                f"{text(t.timestamp[11:23])} {text(t.from_state)} → <b>{text(t.to_state)}</b> "
                f"<i>{text(t.cause)}{': ' + text(t.detail) if t.detail else ''}</i>"
                for t in self.timelines.get(dom.name, [])
            )
            agent = _agent(dom)
            rows.append(
                [
                    f"<b>{text(dom.name)}</b>",
                    text(dom.state),
                    text(", ".join(_bdfs(dom)) or "none"),
                    text(agent.kind if agent is not None else "missing"),
                    steps,
                ]
            )
        return (
            f"<div class='wb-vms'><b>{text(self.uri)}</b>"
            + table(
                ["VM", "state", "PCI passthrough", "agent channel", "timeline"], rows, cls="wb-vms"
            )
            + "</div>"
        )


def _as_dict(dom: DomainSnapshot) -> dict[str, Any]:
    """A domain as data: its parsed configuration, its state and persistence."""
    config = dom.config.to_dict() if dom.config is not None else {"name": dom.name}
    return {**config, "state": dom.state, "persistent": dom.persistent}


def _bdfs(dom: DomainSnapshot) -> list[str]:
    return [h.bdf for h in dom.config.hostdevs] if dom.config is not None else []


def _agent(dom: DomainSnapshot) -> AgentChannel | None:
    return dom.config.agent if dom.config is not None else None
