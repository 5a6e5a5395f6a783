"""Who QEMU runs as for a domain, and whether that user can open a file or device node.

Live, a node is stat'ed and users and groups come from this machine's passwd and group
databases. A recorded machine says only what its manifest recorded (`facts.device_nodes`:
owner, group, mode); a file it did not record is "not recorded", never readable."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from typing import Any

from workbench.core.host import Host
from workbench.virt.hypervisor import DomainSnapshot

QEMU_CONF = "etc/libvirt/qemu.conf"
_CONF_VALUE = re.compile(r'^\s*(user|group)\s*=\s*"([^"\n]{1,64})"', re.MULTILINE)
_CONF_DYNAMIC = re.compile(r"^\s*dynamic_ownership\s*=\s*0\b", re.MULTILINE)
READ, WRITE = 4, 2
SESSION_USER = "the session's user"


@dataclass(frozen=True)
class QemuUser:
    """The user QEMU runs as for one domain and where that was read (`source`:
    "seclabel", "qemu.conf", "assumed", "session"); `relabel`: libvirt's DAC driver hands the
    domain's device nodes and NVRAM to this user when it starts the domain."""

    user: str | None  # a name or "+uid"; None: a session's user (not root, name unknown)
    group: str | None
    source: str
    relabel: bool

    @property
    def root(self) -> bool:
        return self.user in ("root", "+0")

    @property
    def shown(self) -> str:
        return self.user or SESSION_USER

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "group": self.group,
            "from": self.source,
            "relabel": self.relabel,
        }


@dataclass(frozen=True)
class Node:
    """A file's owner, group and permission bits (names, or "+N" when not in the databases)."""

    owner: str | None
    group: str | None
    mode: int


def qemu_user(host: Host, dom: DomainSnapshot, uri: str) -> QemuUser:
    """From the domain's DAC `<seclabel>`, else qemu.conf's `user`, else the distribution's
    default (`libvirt-qemu` where passwd has it, else `qemu`); a session runs QEMU as its user."""
    config = dom.config
    if config is None:  # unreadable XML: libvirt.domains says so
        return QemuUser(None, None, "unknown", relabel=False)
    if "/session" in uri:
        return QemuUser(None, None, "session", relabel=False)
    dac = next((s for s in config.seclabels if s.model == "dac"), None)
    relabel = not (dac is not None and (dac.kind == "none" or not dac.relabel))
    if dac is not None and dac.label:
        user, _, group = dac.label.partition(":")
        return QemuUser(user or None, group or None, "seclabel", relabel)
    conf, _ = host.try_read(QEMU_CONF)
    if conf:
        values = {m[1]: m[2] for m in _CONF_VALUE.finditer(conf[:1_000_000])}
        relabel = relabel and not _CONF_DYNAMIC.search(conf[:1_000_000])
        if "user" in values:
            return QemuUser(values["user"], values.get("group"), "qemu.conf", relabel)
    passwd, _ = host.try_read("etc/passwd")
    debian = any(line.startswith("libvirt-qemu:") for line in (passwd or "").splitlines())
    return QemuUser("libvirt-qemu" if debian else "qemu", None, "assumed", relabel)


def live_node(host: Host, rel: str) -> Node | None:
    """A live file's ownership (None when it does not exist); OSError other than absence
    propagates (the caller says it could not be read)."""
    import grp
    import pwd

    try:
        st = host.path(rel).stat()
    except FileNotFoundError:
        return None
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = f"+{st.st_uid}"
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = f"+{st.st_gid}"
    return Node(owner, group, stat.S_IMODE(st.st_mode))


def recorded_node(host: Host, path: str) -> tuple[bool, Node | None]:
    """A recorded machine's node at absolute `path`: (recorded, the Node or None when
    recorded as absent); its ownership unknown is not recorded."""
    if not host.device_recorded(path):
        return False, None
    node = host.device_node(path)
    if node is None:
        return True, None
    mode = int(node.mode, 8) if node.mode and re.fullmatch(r"[0-7]{3,4}", node.mode) else None
    if mode is None or node.owner is None:
        return False, None
    return True, Node(node.owner, node.group, mode)


def user_groups(host: Host, user: QemuUser) -> set[str] | None:
    """The groups `user` is in (names), None when the machine does not say."""
    if user.user is None:
        return None
    groups = {user.group} if user.group else set()
    text, _ = host.try_read("etc/group")
    passwd, _ = host.try_read("etc/passwd")
    if text is None or passwd is None:
        return groups or None
    gids = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4:
            gids[fields[2]] = fields[0]
            if user.user in fields[3].split(","):
                groups.add(fields[0])
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == user.user and fields[3] in gids:
            groups.add(gids[fields[3]])
    return groups


def may(node: Node, user: QemuUser, groups: set[str] | None, need: int) -> bool | None:
    """Whether `user` gets `need` (READ, READ|WRITE) on `node` by the owner/group/other bits;
    None when it turns on a group membership the machine does not say."""
    if user.root:
        return True

    def bits(shift: int) -> bool:
        return (node.mode >> shift) & need == need

    if user.user is not None and node.owner == user.user:
        return bits(6)
    if user.user is None and node.owner != "root":
        return None  # a session's user may own it
    if groups is not None:
        return bits(3) if node.group in groups else bits(0)
    return bits(0) if bits(3) == bits(0) else None
