"""Several hypervisors on one VMs screen (repeated --connect): how a VM is named there.

A VM is known by its key: its own name when the workbench watches one hypervisor, else
`NAME @ URI` (the URI masked), which is also how notifications and confirmations name it. The
bridge keeps which hypervisor and which libvirt name each key stands for; actions, display
plans and start-failure explanations go to that hypervisor with that name.
"""

from __future__ import annotations

from workbench.core.text import mask_uri

SEPARATOR = " @ "


def vm_key(uri: str, name: str) -> str:
    """The key of VM `name` on hypervisor `uri` when several are watched."""
    return f"{name}{SEPARATOR}{mask_uri(uri)}"


def worst_connection(records: list[dict[str, object]]) -> dict[str, object] | None:
    """The record the status bar shows for several hypervisors: the first that is not
    connected (one down is news), else the first."""
    for record in records:
        if record.get("connection") != "connected":
            return record
    return records[0] if records else None
