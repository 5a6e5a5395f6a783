"""`libvirt.connection`: the hypervisor answers; its URI, type and versions."""

from __future__ import annotations

from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome

SHARED_CONN = "libvirt.conn"


def version_text(number: int) -> str:
    """libvirt's packed version (9000000) as 9.0.0."""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def connect_uri(ctx: ProbeContext) -> str | None:
    uri = ctx.options.get("connect")
    return uri if isinstance(uri, str) and uri else None


class LibvirtConnection(Probe):
    id = "libvirt.connection"
    title = "libvirt connection"
    area = "libvirt"
    order = 100

    def run(self, ctx: ProbeContext) -> Outcome:
        uri = connect_uri(ctx)
        if uri is None:
            return Outcome("skip", "no hypervisor for a recorded machine (pass --connect URI)")
        from workbench.virt.connection import open_connection

        try:
            conn = open_connection(uri, readonly=True)
        except WorkbenchError as exc:
            finding = Finding(exc.code, "fail", exc.message, exc.remedy)
            return Outcome(
                "fail", f"{uri} unreachable", {"uri": uri, "error": exc.to_dict()}, [finding]
            )
        ctx.shared[SHARED_CONN] = conn
        ctx.shared["cleanup"].append(conn.close)
        facts: dict[str, Any] = {
            "uri": conn.getURI(),
            "hypervisor": conn.getType(),
            "hypervisor_version": version_text(conn.getVersion()),
            "libvirt_version": version_text(conn.getLibVersion()),
            "hostname": conn.getHostname(),
            "readonly": True,
        }
        summary = (
            f"{facts['uri']}: {facts['hypervisor']} {facts['hypervisor_version']}, "
            f"libvirt {facts['libvirt_version']}"
        )
        return Outcome("pass", summary, facts)
