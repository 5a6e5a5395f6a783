"""Whether libvirt could use cgroup v2's `devices` controller from this process: it counts it
only when its BPF query on the cgroup succeeds (src/util/vircgroupv2devices.c,
`virCgroupV2DevicesAvailable`: BPF_PROG_QUERY for BPF_CGROUP_DEVICE), and the kernel answers
that query only to a process capable in the initial user namespace (kernel/bpf/syscall.c
`bpf_prog_query`: CAP_NET_ADMIN on older kernels; `bpf_net_capable()`, CAP_NET_ADMIN or
CAP_SYS_ADMIN, on newer ones, taken here as 6.9 and later; CAP_BPF alone never: tested as
nobody with one capability each against virt-host-validate on 6.18). Read from
/proc/self/status (CapEff) and /proc/self/uid_map, which a capture records for the process
that captured."""

from __future__ import annotations

from workbench.core.host import Host

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
STATUS = "proc/self/status"
UID_MAP = "proc/self/uid_map"
INIT_NS_MAP = ["0", "0", "4294967295"]


def cap_eff(status: str) -> int | None:
    """The effective capability set of a /proc/PID/status text; None when absent."""
    for line in status.splitlines()[:200]:
        name, _, value = line.partition(":")
        if name == "CapEff":
            try:
                return int(value.strip()[:16], 16)
            except ValueError:
                return None
    return None


def _kernel_at_least(host: Host, major: int, minor: int) -> bool:
    release, _ = host.try_read("proc/sys/kernel/osrelease")
    parts = (release or "").strip().split(".")[:2]
    if len(parts) < 2 or not all(p[:3].isdigit() for p in parts):
        return False
    return (int(parts[0][:3]), int("".join(c for c in parts[1][:3] if c.isdigit()))) >= (
        major,
        minor,
    )


def bpf_query_allowed(host: Host) -> tuple[bool | None, str]:
    """(whether the kernel would answer libvirt's BPF query from this process, why); None
    when /proc/self/status was not recorded (an older capture, a hand-made root)."""
    status, _ = host.try_read(STATUS)
    caps = cap_eff(status) if status is not None else None
    if caps is None:
        return None, f"{STATUS} (CapEff) not recorded"
    uid_map, _ = host.try_read(UID_MAP)
    if uid_map is not None and uid_map.split()[:3] != INIT_NS_MAP:
        return False, "this process runs in a user namespace (its capabilities do not count)"
    if caps >> CAP_NET_ADMIN & 1:
        return True, "CAP_NET_ADMIN"
    if caps >> CAP_SYS_ADMIN & 1 and _kernel_at_least(host, 6, 9):
        return True, "CAP_SYS_ADMIN (kernel 6.9 or later)"
    return False, "this process lacks CAP_NET_ADMIN, which the kernel's BPF query needs"
