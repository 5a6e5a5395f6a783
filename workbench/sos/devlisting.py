"""The /dev listing of a sosreport (`ls -lanR /dev` before sos 4.8, `ls -alZR /dev` from 4.8)
-> `facts.device_nodes` as a capture records them, and the Looking Glass files of /dev/shm.

A node the probes ask about that is absent from a listing that was collected is recorded absent
(null), as a capture does; without a listing those paths are "not in this sosreport". Owners
and groups are as listed: numbers from `-n`, names from `-Z`; access for some user is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.sos.cmdstatus import how, ran
from workbench.sos.model import SosNotes
from workbench.sos.processes import uid_names
from workbench.sos.reportfiles import collected_by, read, safe_name

LISTINGS = (
    ("sos_commands/block/ls_-alZR_.dev", True),  # sos >= 4.8: names and SELinux contexts
    ("sos_commands/block/ls_-lanR_.dev", False),  # sos < 4.8: numeric uid/gid
)
# The command of each, as the report's own manifest names it (sos >= 4.8 first).
LISTING_COMMANDS = ("ls -alZR /dev", "ls -lanR /dev")
LISTING_BYTES = 16 * 1024 * 1024
# The nodes the probes judge; each is recorded present or absent when the listing has its dir.
WATCHED_NODES = (
    "/dev/kvm",
    "/dev/kvmfr0",
    "/dev/vhost-net",
    "/dev/net/tun",
    "/dev/vfio/vfio",
    "/dev/sev",  # cpu.secure_guest
)
SHM_DIR = "/dev/shm"  # noqa: S108 - a name in the report's listing, never opened
LISTED_DIRS = ("/dev", "/dev/vfio", "/dev/net", SHM_DIR)
SHM_PREFIX = "looking-glass"
MAX_SHM_FILES = 64
_KINDS = {"c": "char", "b": "block", "d": "dir", "-": "file", "l": "link"}
_MODE = r"([bcdlps-][rwxsStT-]{9})[.+@]?"
_DATE = r"(?:\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4})|\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\S+)?)"
_SIZE = r"(?:(\d+),\s*(\d+)|(\d+))"
_PLAIN = re.compile(rf"^{_MODE}\s+\d+\s+(\S+)\s+(\S+)\s+{_SIZE}\s+{_DATE}\s+(.+)$")
_CONTEXT = re.compile(rf"^{_MODE}\s+\d+\s+(\S+)\s+(\S+)\s+\S+\s+{_SIZE}\s+{_DATE}\s+(.+)$")
MAX_SIZE = 1 << 62
NAMES_HOW = (
    "a sosreport holds no /etc/passwd or /etc/group; sos >= 4.8 lists names (`ls -alZR /dev`)"
)
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.@-][A-Za-z0-9_.@$-]{0,63}$")  # a user or group, or its id


@dataclass(frozen=True)
class Entry:
    """One line of the listing."""

    kind: str  # char, block, dir, file, link, other
    mode: str  # octal permission bits with the special ones: "0660", "1777"
    owner: str | None  # as listed: a name (-Z), or a number (-n); None: not believable
    group: str | None
    size: int | None  # a file's size; None for a device node (major, minor instead)
    target: str | None = None  # a link's target

    def node(self, uids: dict[str, str] | None = None) -> dict[str, Any]:
        """As a capture's `facts.device_nodes` records a node. Owners and groups are names
        there: a number of `ls -n` becomes its name when `uids` (or id 0) says it, else None
        (not recorded, never a name it might not be), the number kept as `uid` / `gid`."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "mode": self.mode,
            "owner": self.owner,
            "group": self.group,
            "accessible": None,
            "size": self.size if self.kind == "file" else None,
        }
        if uids is not None:
            if self.owner is not None and self.owner.isdigit():
                out["uid"] = int(self.owner)
                out["owner"] = uids.get(self.owner)
            if self.group is not None and self.group.isdigit():
                out["gid"] = int(self.group)
                out["group"] = "root" if self.group == "0" else None
        return out


def mode_bits(perm: str) -> str:
    """`crw-rw-rw-` -> "0666"; `drwxrwxrwt` -> "1777" (setuid, setgid and sticky included)."""
    bits = 0
    for i, ch in enumerate(perm[1:10]):
        shift = 8 - i
        if ch in "rwxst":
            bits |= 1 << shift
    special = {3: 0o4000, 6: 0o2000, 9: 0o1000}
    for pos, bit in special.items():
        if perm[pos] in "sStT":
            bits |= bit
            if perm[pos] in "ST":  # capital: the special bit without the execute bit
                bits &= ~(1 << (9 - pos))
    return f"{bits:04o}"


def parse_listing(text: str, selinux: bool) -> dict[str, dict[str, Entry]]:
    """`ls -lR` output -> {directory: {name: Entry}} for the directories the probes read."""
    line_re = _CONTEXT if selinux else _PLAIN
    sections: dict[str, dict[str, Entry]] = {}
    current: dict[str, Entry] | None = None
    for line in text.splitlines():
        if line.endswith(":") and line.startswith("/"):
            folder = line[:-1].rstrip("/") or "/"
            current = sections.setdefault(folder, {}) if folder in LISTED_DIRS else None
            continue
        if current is None:
            continue
        match = line_re.match(line)
        if match is None:
            continue
        perm, owner, group, _major, _minor, size, name = match.groups()
        target = None
        if perm[0] == "l" and " -> " in name:
            name, target = name.split(" -> ", 1)
        if not safe_name(name):
            continue
        current[name] = Entry(
            kind=_KINDS.get(perm[0], "other"),
            mode=mode_bits(perm),
            owner=owner if _ACCOUNT.match(owner) else None,
            group=group if _ACCOUNT.match(group) else None,
            size=int(size) if size is not None and len(size) < 19 else None,
            target=target,
        )
    return sections


@dataclass(frozen=True)
class Listing:
    """The report's /dev listing, parsed (see parse_listing)."""

    origin: str  # the report's file
    selinux: bool  # `ls -alZR` (names and contexts), else `ls -lanR` (numbers)
    sections: dict[str, dict[str, Entry]]


def dev_listing(notes: SosNotes) -> Listing | None:
    """The report's /dev listing, read and parsed once per report; None when it holds none."""
    if "dev_listing" in notes.cache:
        cached: Listing | None = notes.cache["dev_listing"]
        return cached
    found = None
    for rel, selinux in LISTINGS:
        data = read(notes, rel, limit=LISTING_BYTES)
        if data is not None:
            sections = parse_listing(data.decode("utf-8", errors="replace"), selinux)
            if "/dev" in sections:
                found = Listing(rel, selinux, sections)
                break
            notes.problems.append(f"{rel}: no `/dev:` section: not an `ls -lR /dev` listing")
    notes.cache["dev_listing"] = found
    return found


def build_devices(notes: SosNotes) -> None:
    """`facts.device_nodes` and `dev/shm` from the report's /dev listing, or what is missing."""
    listing = dev_listing(notes)
    if listing is not None:
        notes.sources["device_nodes"] = listing.origin
        _record(notes, listing.sections, None if listing.selinux else uid_names(notes))
        return
    command = ran(notes, "block", LISTING_COMMANDS)
    said = how(notes, "block", command, collected_by("block"))
    for path in (*WATCHED_NODES, "/dev/vfio", SHM_DIR):
        notes.missing(path.lstrip("/"), f"the /dev listing ({command})", said)


def _record(
    notes: SosNotes, sections: dict[str, dict[str, Entry]], uids: dict[str, str] | None
) -> None:
    nodes: dict[str, Any] = {}
    for path in WATCHED_NODES:
        folder, _, name = path.rpartition("/")
        listed = sections.get(folder)
        if listed is None:
            # The listing was collected and its parent has no such directory: absent.
            parent, _, dirname = folder.rpartition("/")
            if parent in sections and dirname not in sections[parent]:
                nodes[path] = None
            else:
                notes.missing(path.lstrip("/"), f"the listing of {folder}", collected_by("block"))
            continue
        entry = _follow(sections, folder, listed.get(name))
        if entry is not None or name not in listed:
            nodes[path] = None if entry is None else entry.node(uids)
        else:
            notes.missing(path.lstrip("/"), f"the target of the link {path}", "a live capture")
    for name, entry in sections.get("/dev/vfio", {}).items():
        if name not in (".", "..") and entry.kind == "char":
            nodes[f"/dev/vfio/{name}"] = entry.node(uids)
    shm = sections.get(SHM_DIR)
    if shm is not None:
        notes.mkdir("dev/shm")
        kept = [n for n in shm if n.startswith(SHM_PREFIX)][:MAX_SHM_FILES]
        for name in kept:
            entry = shm[name]
            nodes[f"{SHM_DIR}/{name}"] = entry.node(uids)
            notes.write(f"dev/shm/{name}", b"")  # its size is the fact above
    else:
        notes.missing("dev/shm", "the /dev/shm listing", collected_by("block"))
    for path, node in nodes.items():
        if node is not None and (node["owner"] is None or node["group"] is None):
            ids = f"uid {node.get('uid', '?')}, gid {node.get('gid', '?')}"
            notes.missing(path.lstrip("/"), f"the names of {ids}", NAMES_HOW)
    notes.facts["device_nodes"] = nodes


def _follow(
    sections: dict[str, dict[str, Entry]], folder: str, entry: Entry | None
) -> Entry | None:
    """A link's target when the listing shows it (one hop, within a listed directory)."""
    if entry is None or entry.kind != "link" or entry.target is None:
        return entry
    target = entry.target if entry.target.startswith("/") else f"{folder}/{entry.target}"
    where, _, name = target.rpartition("/")
    found = sections.get(where, {}).get(name)
    return found if found is not None and found.kind != "link" else None
