"""The fleet index on disk: one probed archive's result per file, so a re-run of a fleet opens
only the archives that are new or changed.

`$XDG_CACHE_HOME/workbench/fleet-index/` (default ~/.cache), mode 0700; one file per key
(`ab/abcdef....json`, mode 0600, written atomically), key = sha256 of the archive's bytes +
the code fingerprint (workbench/fleet/fingerprint.py) + the kind + the probe options. A file
holds what the machine gave (statuses, causes, summary, compared facts, identity), never where
the archive was found (name, source, within come from the fleet entry) and never a path. A
damaged file (not JSON, another schema or key, wrong types, a link, too large, not a regular
file) is a miss: ignored, then rewritten. Bounded: beyond MAX_ENTRIES files or MAX_BYTES the
least recently used are removed (`prune`, once per run). `WORKBENCH_FLEET_INDEX=off` or
`--no-index` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.fleet.model import FleetMachine

SCHEMA = "workbench.fleet-index/1"
MAX_ENTRIES = 20_000  # index files kept (the least recently used beyond are removed)
MAX_BYTES = 256 * 1024 * 1024  # and in all at most this
MAX_FILE = 1024 * 1024  # an index file larger than this is damaged, never read
STALE_TMP_S = 3600  # a temp file of a write that died this long ago is removed by prune
OFF = ("off", "0", "no", "false")
STATUSES = frozenset({"pass", "warn", "fail", "skip", "error"})
_SCALAR = (str, int, float, bool, type(None))


def index_dir() -> Path:
    """`$XDG_CACHE_HOME/workbench/fleet-index` (XDG_CACHE_HOME defaults to ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "workbench" / "fleet-index"


def disabled_by_env() -> bool:
    """WORKBENCH_FLEET_INDEX=off (or 0, no, false)."""
    return os.environ.get("WORKBENCH_FLEET_INDEX", "").strip().lower() in OFF


@dataclass(frozen=True)
class FleetIndex:
    """The index directory (made and checked by `open_index`) and this run's code fingerprint."""

    root: Path
    fingerprint: str

    def key(self, digest: str, kind: str, options: dict[str, Any]) -> str:
        """The entry's key: the archive's sha256, the code, the kind, the probe options."""
        text = "\0".join([SCHEMA, self.fingerprint, kind, json.dumps(options, sort_keys=True)])
        return hashlib.sha256(f"{text}\0{digest}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The machine recorded under `key`, or None: absent or damaged (never trusted)."""
        path = self.path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None  # absent, a link (ELOOP), unreadable
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
                return None
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(MAX_FILE + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) > MAX_FILE:
            return None
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return None
        machine = checked_record(doc, key)
        if machine is not None:
            with contextlib.suppress(OSError):  # recently used: the last that prune removes
                os.utime(path)
        return machine

    def store(self, key: str, machine: FleetMachine) -> None:
        """Record `machine` under `key` (replacing a damaged file, a link included); OSError or
        ConfigError when it cannot be written (a full disk): the caller says so."""
        from workbench.core.atomicfile import write_atomic

        path = self.path(key)
        shard = path.parent
        with contextlib.suppress(FileExistsError):
            shard.mkdir(0o700)
        if not stat.S_ISDIR(shard.lstat().st_mode):  # a link or a file in our place
            shard.unlink()
            shard.mkdir(0o700)
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(path.lstat().st_mode):
                path.unlink()  # a link (never written through) or a FIFO: replaced
        data = json.dumps({"schema": SCHEMA, "key": key, "machine": record(machine)})
        write_atomic(path, data.encode(), mode=0o600, durable=False)


def record(machine: FleetMachine) -> dict[str, Any]:
    """What the index keeps of a machine: its judgement, never where it was found."""
    return {
        "statuses": dict(machine.statuses),
        "causes": list(machine.causes),
        "summary": machine.summary,
        "facts": machine.facts,
        "identity": dict(machine.identity),
    }


def apply(machine: FleetMachine, kept: dict[str, Any]) -> None:
    """Fill `machine` (name, source, kind, within already set from its entry) from a checked
    record."""
    machine.statuses = dict(kept["statuses"])
    machine.causes = list(kept["causes"])
    machine.summary = kept["summary"]
    machine.facts = kept["facts"]
    machine.identity = dict(kept["identity"])
    machine.indexed = True


def checked_record(doc: Any, key: str) -> dict[str, Any] | None:
    """The machine of an index document when every part has the type it must have, else None."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("key") != key:
        return None
    machine = doc.get("machine")
    if not isinstance(machine, dict) or set(machine) != {
        "statuses",
        "causes",
        "summary",
        "facts",
        "identity",
    }:
        return None
    statuses, causes = machine["statuses"], machine["causes"]
    ok = (
        isinstance(statuses, dict)
        and all(isinstance(k, str) and v in STATUSES for k, v in statuses.items())
        and isinstance(causes, list)
        and all(isinstance(c, str) for c in causes)
        and isinstance(machine["summary"], str)
        and _identity_ok(machine["identity"])
        and _facts_ok(machine["facts"])
    )
    return machine if ok else None


def _identity_ok(identity: Any) -> bool:
    return isinstance(identity, dict) and all(isinstance(v, str | None) for v in identity.values())


def _gpu_value_ok(value: Any) -> bool:
    """A GPU's compared fact: a scalar, or a list of names (its card's other devices)."""
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, _SCALAR)


def _facts_ok(facts: Any) -> bool:
    """The shape `fleet.machine.compared_facts` gives (each part may be None: not recorded)."""
    if not isinstance(facts, dict) or not set(facts) <= {"gpus", "cmdline", "hugepages", "modules"}:
        return False
    gpus = facts.get("gpus")
    if gpus is not None and not (
        isinstance(gpus, dict)
        and all(
            isinstance(g, dict) and all(_gpu_value_ok(v) for v in g.values()) for g in gpus.values()
        )
    ):
        return False
    for listed in ("cmdline", "modules"):
        words = facts.get(listed)
        if words is not None and not (
            isinstance(words, list) and all(isinstance(w, str) for w in words)
        ):
            return False
    huge = facts.get("hugepages")
    return huge is None or (isinstance(huge, int | float) and not isinstance(huge, bool))


def open_index(enabled: bool = True) -> tuple[FleetIndex | None, str | None]:
    """The index for this run (its directory made 0700, the code fingerprint computed once),
    or None and why not (None, None when turned off: nothing to say)."""
    if not enabled or disabled_by_env():
        return None, None
    root = index_dir()
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            root.mkdir(0o700)
        st = os.lstat(root)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            return None, f"{root} is not a directory of yours"
        if stat.S_IMODE(st.st_mode) != 0o700:
            root.chmod(0o700)
        if not os.access(root, os.W_OK | os.X_OK):
            return None, f"{root} is not writable"
    except OSError as exc:
        return None, f"cannot use {root}: {exc.strerror or exc}"
    from workbench.fleet.fingerprint import code_fingerprint

    return FleetIndex(root, code_fingerprint()), None


def prune(
    root: Path, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES, now: float = 0.0
) -> int:
    """Remove the least recently used index files beyond `max_entries` or `max_bytes`, and the
    temp files of writes that died; how many files were removed."""
    now = now or time.time()
    kept: list[tuple[float, int, str]] = []
    removed = 0
    try:
        shards = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for shard in shards:
        try:
            entries = list(os.scandir(shard.path))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.name.startswith(".") and now - st.st_mtime > STALE_TMP_S:
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()
                    removed += 1
            elif entry.name.endswith(".json"):
                kept.append((st.st_mtime, st.st_size, entry.path))
    kept.sort(reverse=True)  # newest first
    total = 0
    for count, (_mtime, size, path) in enumerate(kept, 1):
        total += size
        if count > max_entries or total > max_bytes:
            with contextlib.suppress(OSError):
                Path(path).unlink()
                removed += 1
    return removed
