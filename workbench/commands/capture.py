"""`workbench capture`: collect a machine into one file (redacted), with progress on a TTY."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.commands.common import plugins_print_to_stderr, usage_error
from workbench.core.host import Host

if TYPE_CHECKING:
    from workbench.target import Target


def default_name(host: Host) -> str:
    text, _ = host.try_read("proc/sys/kernel/hostname")  # confined to the root, never raises
    hostname = (text or "").strip()
    safe = re.sub(r"[^A-Za-z0-9.-]+", "-", hostname)[:40] or "machine"
    return f"workbench-{safe}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"


def run(args: argparse.Namespace) -> int:
    from workbench.capture.redact import parse_redact

    try:
        optional = parse_redact(args.redact)
    except ValueError as exc:
        return usage_error(f"--redact: {exc}")
    from workbench.target import open_target

    with open_target(root=args.root, connect=args.connect) as target:
        return _capture(args, target, optional)


def _capture(args: argparse.Namespace, target: Target, optional: frozenset[str]) -> int:
    from workbench.capture.archive import check_target
    from workbench.capture.collect import capture
    from workbench.capture.collectors import Source
    from workbench.capture.redact import Redactor
    from workbench.core.logging import default_log_path

    host = target.host
    # Everything about the target is said before collecting: a capture is never made only
    # to be lost, and never renamed over a device node or a FIFO.
    to_stdout = args.output == "-"
    if to_stdout and sys.stdout.isatty():
        return usage_error("-o -: standard output is a terminal; redirect it to a file or a pipe")
    out = Path(args.output or default_name(host))
    if not to_stdout:
        if out.is_dir():
            return usage_error(f"{out} is a directory; give a file name with -o")
        folder = out.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return usage_error(
                f"cannot write {out}: {folder} is not a directory this user can write"
            )
        check_target(out)  # CaptureError: exit 2, one line
    tty = sys.stderr.isatty()
    said = sys.stderr if to_stdout else sys.stdout  # stdout is the archive with -o -

    def progress(phase: str, info: dict[str, Any]) -> None:
        name = info["collector"]
        if phase == "start" and tty:
            sys.stderr.write(f"\r\x1b[Kcollecting {name}…")
            sys.stderr.flush()
        elif phase == "done":
            problem = " TIMED OUT" if info["timed_out"] else (" failed" if info["error"] else "")
            line = f"{name:<11} {info['files']:>5} file(s) {info['duration_ms']:>8.1f} ms{problem}"
            if tty:
                sys.stderr.write(f"\r\x1b[K{line}\n")
            elif problem:
                sys.stderr.write(f"workbench: collector {line}\n")

    source = Source(
        host=host,
        connect=target.connect,
        log_path=default_log_path(),
        new_hypervisor=target.new_hypervisor,
    )
    archive = sys.stdout.buffer if to_stdout else out
    with plugins_print_to_stderr():  # a collector runs the probes: never into the archive
        result = capture(
            source,
            archive,
            redactor=Redactor(optional=optional),
            timeout_s=args.timeout,
            progress=progress,
        )
    manifest = result.manifest
    replaced = manifest["redaction"]["replaced"]
    summary = ", ".join(f"{n} {kind}" for kind, n in replaced.items()) or "nothing found to redact"
    late = [n for n, c in manifest["collectors"].items() if c["timed_out"] or c["error"]]
    files = f"{len(manifest['files'])} files"
    if to_stdout:
        print(f"wrote standard output ({files})", file=said)
    else:
        print(f"wrote {out} ({out.stat().st_size} bytes, {files})")
    print(f"redacted: {summary}", file=said)
    if late:
        print(f"incomplete: {', '.join(late)} (see manifest.json)", file=said)
    return 0
