"""`host.vhost_net` and `host.tun`: the device nodes QEMU's networking opens, judged as
virt-host-validate judges them (the node exists: WARN without vhost-net, FAIL without tun)."""

from __future__ import annotations

from typing import Any, Literal

from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, not_recorded

Level = Literal["warn", "fail"]

# virt-host-validate's own hints, word for word (tools/virt-host-validate-qemu.c).
VHOST_NET_HINT = "Load the 'vhost_net' module to improve performance of virtio networking"
TUN_HINT = "Load the 'tun' module to enable networking for QEMU guests"


def node_outcome(
    ctx: ProbeContext, path: str, severity: Level, code: str, hint: str, why: str
) -> Outcome:
    """`pass` when the node exists (any kind, as access(F_OK)); `severity` when the machine says
    it is absent; not recorded when a recorded machine says nothing of it."""
    host = ctx.host
    node = host.device_node(path)
    facts: dict[str, Any] = {"path": path, "exists": node is not None}
    if node is None:
        if not host.device_recorded(path):
            facts["exists"] = None
            return not_recorded(path.lstrip("/"), facts, host=host)
        module = path.rsplit("/", 1)[-1].replace("-", "_")
        remedy = f"{hint}: `modprobe {module}` (and list it in /etc/modules-load.d/ to keep it)."
        finding = Finding(code, severity, f"{path} does not exist: {why}.", remedy)
        return Outcome(severity, f"{path} missing", facts, [finding])
    facts.update({"kind": node.kind, "mode": node.mode})
    return Outcome("pass", f"{path} present ({node.kind})", facts)


class VhostNet(Probe):
    id = "host.vhost_net"
    title = "vhost-net device"
    area = "host"
    order = 92  # virt-host-validate's checks stand after the passthrough story, before libvirt

    def run(self, ctx: ProbeContext) -> Outcome:
        why = "virtio networking runs in QEMU's own thread, slower than in the kernel"
        return node_outcome(ctx, "/dev/vhost-net", "warn", "VHOST_NET_MISSING", VHOST_NET_HINT, why)


class Tun(Probe):
    id = "host.tun"
    title = "TUN/TAP device"
    area = "host"
    order = 93

    def run(self, ctx: ProbeContext) -> Outcome:
        why = "QEMU cannot create the tap interfaces of bridged and NAT networks"
        return node_outcome(ctx, "/dev/net/tun", "fail", "TUN_MISSING", TUN_HINT, why)
