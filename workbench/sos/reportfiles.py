"""Reading a sosreport's files for its machine root: capped copies, names checked before they
become paths, and the plugin that collects each thing (said when it is missing)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path

from workbench.core.errors import HostReadError
from workbench.sos.model import ASK_FOR, PLUGIN_NAMES, PLUGINS, SosNotes

MAX_COPY_BYTES = 4 * 1024 * 1024  # a /proc or /etc file larger than this is not a real one
MAX_DIR_ENTRIES = 4096  # names taken from one directory of the report
# A file name of the report that may become a name in the machine root: no separators, no
# dot-only names, no control characters, bounded.
_SAFE_NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.@+:,=-]{1,128}$")


def safe_name(name: str) -> bool:
    """Whether `name` (from the report) may become one component of a path in the root."""
    return bool(_SAFE_NAME.match(name))


def collected_by(plugin: str) -> str:
    """The words of a hint's HOW: the plugin that collects it, and the whole list to ask for
    (which holds it: a plugin missing there is a mistake here, not the report's)."""
    if plugin not in PLUGIN_NAMES:
        raise ValueError(f"{plugin!r} is not in the sos plugins asked for ({PLUGINS})")
    return f"collected by the {plugin} plugin: {ASK_FOR}"


def not_read(rel: str, exc: HostReadError) -> str:
    """A problem of the report's file `rel`, named by its path in the report (never the
    temporary directory an archive was unpacked to, gone when the reader sees it): the file
    is there, and why it could not be read, so nobody asks for a report that holds it."""
    why = _reason(exc)
    if exc.details.get("reason") == "missing":
        link = link_out(str(exc.details.get("root") or ""), rel)
        if link is not None:
            return link
        return f"{rel}: not in this sosreport ({why})"
    return f"{rel} is in this sosreport but could not be read ({why})"


def link_out(root: str, rel: str) -> str | None:
    """Why a file the confined reader found missing is there all the same: a symbolic link
    whose target is outside the report (or nowhere in it), never followed; None otherwise."""
    from workbench.core.text import safe_text

    if not root:
        return None
    try:
        target = str(Path(root, rel).readlink())
    except (OSError, ValueError):
        return None  # not a link (or a parent is one: the resolver said what it found)
    inside = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if not target.startswith("/") and not inside.startswith("../") and inside != "..":
        return None  # a link inside the report to nothing: a missing file (sos's `lspci`)
    return (
        f"{rel} is in this sosreport as a link to {safe_text(target[:200])!r}, which leaves the "
        "report (or leads nowhere in it): not followed"
    )


def try_read(notes: SosNotes, rel: str) -> str | None:
    """The report's file `rel` as text; None when absent, or present and unreadable (then a
    problem of the report, named by `rel`)."""
    try:
        return notes.report.read_text(rel)
    except HostReadError as exc:
        notes.problems.append(not_read(rel, exc))
        return None


def read(notes: SosNotes, rel: str, limit: int = MAX_COPY_BYTES) -> bytes | None:
    """The report's file `rel`; None when absent, unreadable or over `limit` (a problem of
    the report, said in the manifest)."""
    try:
        data = notes.report.read_bytes(rel)
    except HostReadError as exc:
        notes.problems.append(not_read(rel, exc))
        return None
    if data is not None and len(data) > limit:
        notes.problems.append(f"{rel}: {len(data)} bytes, more than {limit}: left out")
        return None
    return data


def copy(notes: SosNotes, src: str, dst: str | None = None) -> bool:
    """Copy the report's `src` to the root's `dst` (default: the same path); False when the
    report does not hold it (or it cannot be read: a problem of the report)."""
    data = read(notes, src)
    if data is None:
        return False
    notes.write(dst or src, data)
    notes.sources[dst or src] = src
    return True


def names(
    notes: SosNotes,
    rel: str,
    keep: Callable[[str], bool] | None = safe_name,
    limit: int | None = MAX_DIR_ENTRIES,
) -> list[str]:
    """The names in the report's directory `rel` that `keep` accepts (default: those safe as
    a path's component; None: every one, for a caller that judges them itself), at most
    `limit` (None: a caller that caps them itself and says how many there were); [] when it
    cannot be listed (a report unpacked by root, read by another user). What is left out,
    and why nothing could be listed, are problems of the report."""
    try:
        found = notes.report.listdir(rel)
    except HostReadError as exc:
        notes.problems.append(f"{rel}: not listed ({_reason(exc)})")
        return []
    kept = found[:limit] if limit is not None else found
    if keep is not None:
        kept = [n for n in kept if keep(n)]
    if len(kept) < len(found):
        notes.problems.append(
            f"{rel}: {len(found) - len(kept)} names left out (unsafe or too many)"
        )
    return kept


def _reason(exc: HostReadError) -> str:
    """Why a file or directory of the report could not be read (`too large`, `permission:
    Permission denied`), without the path Host names it by."""
    cause = exc.cause
    reason = str(exc.details.get("reason") or "unreadable")
    return (
        f"{reason}: {cause.strerror}" if isinstance(cause, OSError) and cause.strerror else reason
    )
