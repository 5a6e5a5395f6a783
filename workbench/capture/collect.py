"""`workbench capture`: run the collectors (each with a deadline), redact, write the archive."""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import workbench
from workbench.capture import SCHEMA
from workbench.capture.archive import write_archive
from workbench.capture.collectors import COLLECTORS, Collected, Collector, Source
from workbench.capture.redact import Redactor, redact_identity
from workbench.capture.tree import Tree
from workbench.core.deadline import call_with_deadline
from workbench.core.errors import WorkbenchError
from workbench.core.machinelogs import KERNEL_LOG, LIBVIRT_LOG, QEMU_LOG_DIR
from workbench.core.text import parse_uint

DEFAULT_TIMEOUT_S = 30.0
Progress = Callable[[str, dict[str, Any]], None]


class CollectorTimeout(Exception):
    pass


@dataclass
class CaptureResult:
    path: Path | IO[bytes]
    manifest: dict[str, Any]


def _created() -> datetime:
    """Now, or SOURCE_DATE_EPOCH (reproducible builds' convention) for a reproducible capture."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = parse_uint(epoch, limit=253_402_300_799)  # ASCII digits, before the year 10000
    if seconds is not None:
        return datetime.fromtimestamp(seconds, UTC)
    return datetime.now(UTC)


def capture(
    source: Source,
    out: Path | IO[bytes],
    *,
    redactor: Redactor | None = None,
    collectors: dict[str, Collector] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = None,
) -> CaptureResult:
    """Collect `source` into the archive `out` (a file, or an open binary stream). A collector
    that fails or passes its deadline is recorded in the manifest (and abandoned); the capture
    still completes."""
    redactor = redactor or Redactor()
    try:
        tree, facts, report = _collect(source, collectors, timeout_s, progress)
    finally:
        source.close()  # the capture's hypervisor, whichever collector stopped with it
    redactor.hostnames |= _hostnames(tree, facts)
    for rel in sorted(tree.files):
        tree.files[rel] = redactor.redact(tree.files[rel], log=is_log(rel))
    redacted_facts = _redact_facts(redactor, facts)
    if "identity" in redacted_facts:
        redacted_facts["identity"] = redact_identity(redactor, facts["identity"])
    sparse = {f"dev/shm/{n}": size for n, size in redacted_facts.pop("shm_sizes", {}).items()}
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "tool_version": workbench.__version__,
        "created": _created().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": {
            "live": source.host.live,
            "connect": redactor.redact((source.connect or "").encode()).decode() or None,
        },
        "collectors": report,
        "facts": redacted_facts,
        "redaction": {
            "always": [
                "values of keys that say secret (password, passphrase, secret, token, API key)",
                "credentials in URIs",
                "QEMU secret objects, ceph keys, private keys, cloud-init passwords",
            ],
            "optional": sorted(redactor.optional),
            "replaced": redactor.summary(),
        },
    }
    return CaptureResult(out, write_archive(out, tree, manifest, sparse))


def _collect(
    source: Source,
    collectors: dict[str, Collector] | None,
    timeout_s: float,
    progress: Progress | None,
) -> tuple[Tree, dict[str, Any], dict[str, Any]]:
    """Each collector in turn, under its deadline: what it found, and how it went."""
    tree = Tree()
    facts: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for name, collector in (collectors or COLLECTORS).items():
        if progress:
            progress("start", {"collector": name})
        got = Collected()
        started = time.perf_counter()
        entry: dict[str, Any] = {"timed_out": False, "error": None}
        try:
            call_with_deadline(
                # Bound now: an abandoned collector keeps its own Collected, never the next one's.
                functools.partial(collector, source, got),
                timeout_s,
                functools.partial(CollectorTimeout, f"{name}: no result within {timeout_s:g} s"),
                name=f"capture-{name}",
            )
        except CollectorTimeout as exc:
            entry["timed_out"] = True
            entry["error"] = str(exc)
            got = Collected()  # what it gathered before is incomplete: left out
        except WorkbenchError as exc:
            exc.add_context("capture.collect", name)
            entry["error"] = exc.to_dict()
            got = Collected()
        except Exception as exc:  # noqa: BLE001 - one broken collector must not lose the rest
            entry["error"] = {"error": type(exc).__name__, "message": str(exc)}
            got = Collected()
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        entry["files"] = len(got.tree.files)
        if got.tree.problems:
            entry["problems"] = got.tree.problems[:50]
        report[name] = entry
        tree.merge(got.tree)
        facts.update(got.facts)
        if progress:
            progress("done", {"collector": name, **entry})
    return tree, facts, report


def is_log(rel: str) -> bool:
    """A member that is a machine's evidence log: free text, where a host name may stand
    anywhere (workbench's own log is JSON lines, redacted as JSON)."""
    return rel in (KERNEL_LOG, LIBVIRT_LOG) or (
        rel.startswith(f"{QEMU_LOG_DIR}/") and rel.endswith(".log")
    )


def _redact_facts(redactor: Redactor, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts redacted as one JSON document (keys give host names their context); should a
    rule ever break the document, each text value alone."""
    try:
        redacted = json.loads(redactor.redact(json.dumps(facts).encode()))
    except ValueError:
        redacted = None
    if isinstance(redacted, dict):
        return redacted

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redactor.redact(value.encode()).decode(errors="replace")
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    result: dict[str, Any] = walk(facts)
    return result


def _hostnames(tree: Tree, facts: dict[str, Any]) -> set[str]:
    """The names this capture knows for the machine and its guests (for --redact hostnames)."""
    names: set[str] = set()
    own = tree.files.get("proc/sys/kernel/hostname")
    if own:
        names.add(own.decode(errors="replace").strip())
    conn = _load(tree.files.get("libvirt/connection.json"))
    if isinstance(conn, dict) and isinstance(conn.get("hostname"), str):
        names.add(conn["hostname"])
    agents = _load(tree.files.get("libvirt/agents.json"))
    found = agents.get("facts") if isinstance(agents, dict) else None
    found = found.get("agents") if isinstance(found, dict) else None
    for entry in found.values() if isinstance(found, dict) else ():
        if isinstance(entry, dict) and isinstance(entry.get("hostname"), str):
            names.add(entry["hostname"])
    names |= {n.split(".")[0] for n in names if "." in n}
    return {n for n in names if len(n) >= 2 and n not in ("localhost", "localhost.localdomain")}


def _load(data: bytes | None) -> Any:
    """Recorded JSON (customer data): None when absent, invalid or nested beyond reason."""
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
