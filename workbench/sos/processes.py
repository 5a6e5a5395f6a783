"""The processes of a sosreport (`ps auxwww`, `ps alxwww`, `ps -elfL`) -> `facts.processes`:
the watched ones (core.host.WATCHED_PROCESSES) with pid, name and user, as a capture records
them."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.host import MAX_PID, WATCHED_PROCESSES
from workbench.sos.cmdstatus import how
from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import collected_by, read

PS_FILES = (
    "sos_commands/process/ps_auxwww",
    "ps",
    "sos_commands/process/ps_alxwww",
    "sos_commands/process/ps_-elfL",
)
PS_BYTES = 16 * 1024 * 1024  # what a Host reads of one file at most
MAX_KEPT = 1000
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.@-][A-Za-z0-9_.@$-]{0,63}$")  # "+" ends a cut name
_PID = re.compile(r"^[0-9]{1,8}$")
_PROGRAM = re.compile(r"^[A-Za-z0-9_.+:-]{1,15}$")
NAME_CHARS = 15  # the kernel's comm: what psutil names a process by


def parse_ps(text: str) -> list[dict[str, Any]] | None:
    """The watched processes of `ps` output (its header names the columns); None when the
    text has no header with PID and COMMAND/CMD."""
    lines = text.splitlines()
    header = lines[0].split() if lines else []
    if "PID" not in header or header[-1] not in ("COMMAND", "CMD"):
        return None
    pid_at = header.index("PID")
    user_at = header.index("USER") if "USER" in header else None
    found: dict[int, dict[str, Any]] = {}
    for line in lines[1:]:
        words = line.split(None, len(header) - 1)
        if len(words) < len(header):
            continue
        name = _name(words[-1])
        if name is None or not name.startswith(WATCHED_PROCESSES):
            continue
        pid = int(words[pid_at]) if _PID.match(words[pid_at]) else None
        if pid is None or pid > MAX_PID or pid in found:
            continue  # ps -elfL lists each thread: one entry per process
        user = words[user_at] if user_at is not None else None
        if user is not None and not _ACCOUNT.match(user):
            user = None  # ps cuts long names to 7 characters and a "+": not the name
        found[pid] = {"pid": pid, "name": name, "user": user}
        if len(found) >= MAX_KEPT:
            break
    return list(found.values())


def ps_column(text: str, column: str) -> dict[int, str]:
    """pid -> the value of `column` (USER, UID, ...) in `ps` output with a header; {} when it
    has no such column."""
    lines = text.splitlines()
    header = lines[0].split() if lines else []
    if "PID" not in header or column not in header or header[-1] not in ("COMMAND", "CMD"):
        return {}
    pid_at, at = header.index("PID"), header.index(column)
    out: dict[int, str] = {}
    for line in lines[1:]:
        words = line.split(None, len(header) - 1)
        if len(words) == len(header) and _PID.match(words[pid_at]):
            out[int(words[pid_at])] = words[at]
    return out


def uid_names(notes: SosNotes) -> dict[str, str]:
    """uid -> user name, as the report's two ps outputs show them for the same processes
    (`ps auxwww` names the user, `ps alxwww` gives the uid; sos never collects /etc/passwd);
    a uid shown with two names is left out. Read once per report."""
    if "uid_names" not in notes.cache:
        names: dict[str, str] = {"0": "root"}
        users = ps_column(_text(notes, PS_FILES[0]), "USER")
        uids = ps_column(_text(notes, "sos_commands/process/ps_alxwww"), "UID")
        clash: set[str] = set()
        for pid, uid in uids.items():
            user = users.get(pid)
            if user is None or not _ACCOUNT.match(user) or not _PID.match(uid):
                continue
            if names.setdefault(uid, user) != user:
                clash.add(uid)
        notes.cache["uid_names"] = {k: v for k, v in names.items() if k not in clash}
    result: dict[str, str] = notes.cache["uid_names"]
    return result


def _text(notes: SosNotes, rel: str) -> str:
    data = read(notes, rel, limit=PS_BYTES)
    return "" if data is None else data.decode("utf-8", errors="replace")


def _name(command: str) -> str | None:
    """A process's name as psutil gives it: its program's base name (kernel threads, shown
    in brackets, are no program)."""
    if command.startswith("["):
        return None
    argv0 = command.split(None, 1)[0] if command.strip() else ""
    name = argv0.rsplit("/", 1)[-1][:NAME_CHARS]
    return name if _PROGRAM.match(name) else None  # no control codes, no markup


def build_processes(notes: SosNotes) -> None:
    """`facts.processes` from the first ps output the report holds, or what is missing."""
    for rel in PS_FILES:
        data = read(notes, rel, limit=PS_BYTES)
        if data is None:
            continue
        found = parse_ps(data.decode("utf-8", errors="replace"))
        if found is None:
            notes.problems.append(f"{rel}: not `ps` output (no PID/COMMAND header)")
            continue
        notes.facts["processes"] = found
        notes.sources["processes"] = rel
        return
    said = how(notes, "process", "ps auxwww", collected_by("process"))
    notes.missing("processes", "the process list (ps auxwww)", said)
