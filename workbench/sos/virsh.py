"""The `virsh` outputs a sosreport holds (`sos_commands/virsh/`), found by the command they
ran: their file names differ across sos versions (`virsh_-r_list_--all`, older
`virsh_list_--all`; `virsh_-r_dominfo_NAME`), so each is looked up by prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.sos import reportfiles
from workbench.sos.model import SosNotes

VIRSH_DIR = "sos_commands/virsh"
MAX_LISTED = 10_000  # names in sos_commands/virsh read; more is a hostile report
# virsh's words for a state (virsh list, domstate, dominfo) -> libvirt's state name.
VIRSH_STATES = {
    "no state": "nostate",
    "running": "running",
    "idle": "blocked",
    "blocked": "blocked",
    "paused": "paused",
    "in shutdown": "shutdown",
    "shut off": "shutoff",
    "crashed": "crashed",
    "pmsuspended": "pmsuspended",
}
_VERSION = re.compile(r"^(Using library|Using API|Running hypervisor):\s*(\S+)\s+(\S+)\s*$")


@dataclass
class VirshOutputs:
    """What `virsh -r` said when the report was made (each None: the report lacks it)."""

    names: list[str] = field(default_factory=list)  # the files in sos_commands/virsh
    listing: dict[str, str] | None = None  # `list --all`: domain name -> state name
    listing_file: str | None = None
    version: dict[str, str] = field(default_factory=dict)  # libvirt, api, hypervisor (+ _version)
    capabilities: str | None = None
    # virsh's own words when it could not reach libvirt as the report was made (`error:
    # failed to connect to the hypervisor` / `Failed to connect socket to '...': ...`), and
    # the file that holds them.
    connect_error: str | None = None
    connect_error_file: str | None = None


def command_file(names: list[str], *commands: str) -> str | None:
    """The file of the first of `commands` (words joined by `_`, without `virsh_`/`virsh_-r_`)
    the report holds, by prefix: `list_--all` finds `virsh_-r_list_--all` and
    `virsh_list_--all`."""
    for command in commands:
        for prefix in ("virsh_-r_", "virsh_"):
            want = prefix + command
            for name in names:
                if name == want:
                    return f"{VIRSH_DIR}/{name}"
    return None


def domain_file(names: list[str], command: str, domain: str) -> str | None:
    """The output of `virsh -r COMMAND DOMAIN` (`virsh_-r_dominfo_NAME`), when recorded."""
    return command_file(names, f"{command}_{domain}")


def read_virsh(notes: SosNotes) -> VirshOutputs:
    """Every `virsh` output Workbench reads, or an empty account when there is none."""
    out = VirshOutputs()
    names = (
        reportfiles.names(notes, VIRSH_DIR, keep=None, limit=None)
        if notes.report.is_dir(VIRSH_DIR)
        else []
    )
    if len(names) > MAX_LISTED:
        notes.problems.append(f"{VIRSH_DIR}: {len(names)} files; the first {MAX_LISTED} read")
        names = names[:MAX_LISTED]
    out.names = names
    texts: dict[str, tuple[str, str]] = {}
    for command in ("list_--all", "version", "capabilities"):
        rel = command_file(names, command)
        text = _read(notes, rel) if rel is not None else None
        if rel is None or text is None:
            continue
        said = connect_error(text)
        if said is not None:
            if out.connect_error is None:  # the first said (list --all) is the one shown
                out.connect_error, out.connect_error_file = said, rel
            continue
        texts[command] = (rel, text)
    if "list_--all" in texts:
        rel, text = texts["list_--all"]
        out.listing = parse_list(text, rel, notes.problems)
        out.listing_file = rel if out.listing is not None else None
    if "version" in texts:
        out.version = parse_version(texts["version"][1])
    if "capabilities" in texts:
        out.capabilities = texts["capabilities"][1]
    return out


def connect_error(text: str) -> str | None:
    """virsh's error when it could not connect (its first two lines, bounded), else None."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("error: failed to connect"):
        return None
    return " ".join(line.removeprefix("error: ").strip() for line in lines[:2])[:300]


def parse_list(text: str, where: str, problems: list[str]) -> dict[str, str] | None:
    """`virsh list --all`: ` Id   Name   State` / a rule / ` 1   vm   running`, ` -   vm2
    shut off`. A row whose state virsh never prints is a problem, left out; a text that is
    not virsh's table is a problem and None (nothing said of any state)."""
    states: dict[str, str] = {}
    lines = text.splitlines()
    if not lines or lines[0].split()[:3] != ["Id", "Name", "State"]:
        first = (lines[0] if lines else "empty")[:80]  # repr escapes a control code once
        problems.append(f"{where}: not virsh's table (it begins {first!r}); not read")
        return None
    for n, line in enumerate(lines[2:], start=3):
        words = line.split()
        if len(words) < 3:
            continue
        name, said = words[1], " ".join(words[2:]).lower()
        state = VIRSH_STATES.get(said)
        if state is None:
            problems.append(f"{where}:{n}: state {said[:40]!r} is not one virsh prints; left out")
            continue
        states.setdefault(name, state)
    return states


def state_in(text: str) -> str | None:
    """The state `virsh domstate` (first line) or `virsh dominfo` (`State:`) printed."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "State":
            return VIRSH_STATES.get(value.strip().lower())
    first = text.strip().splitlines()[0].strip().lower() if text.strip() else ""
    return VIRSH_STATES.get(first)


def parse_version(text: str) -> dict[str, str]:
    """`virsh version`: `Using library: libvirt 6.0.0`, `Running hypervisor: QEMU 4.2.1`."""
    keys = {"Using library": "libvirt", "Using API": "api", "Running hypervisor": "hypervisor"}
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _VERSION.match(line.strip())
        if m:
            out[keys[m.group(1)]] = m.group(2)[:40]
            out[keys[m.group(1)] + "_version"] = m.group(3)[:40]
    return out


def _read(notes: SosNotes, rel: str) -> str | None:
    return reportfiles.try_read(notes, rel)
