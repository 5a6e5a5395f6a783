"""The `workbench` command. Each verb imports its own code; headless verbs import no UI code."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.commands.common import (
    ArgumentsError,
    Parser,
    count,
    say,
    seconds,
    usage_error,
)
from workbench.commands.connects import check_connects, merge_connects
from workbench.commands.stdout import OutputError, mark_output_errors
from workbench.core.errors import ConfigError, WorkbenchError
from workbench.core.text import mask_uri, safe_text
from workbench.target import LIVE_URI

ERROR_SCHEMA = "workbench.error/1"  # what --json prints instead of its document on exit 2
# What writing the output can fail with, besides a reader that left (BrokenPipeError).
ACTIONS = ("start", "shutdown", "force-off", "reboot", "suspend", "resume")

TARGETS = ("root", "capture", "sos", "connect")
MACHINES = ("root", "capture", "sos")  # the options that name a recorded machine: one at most
# Which of --root/--capture/--sos/--connect each verb reads (None: the workbench itself).
USES: dict[str | None, tuple[str, ...]] = {
    None: TARGETS,
    "probe": TARGETS,
    "serve": TARGETS,
    "capture": ("root", "connect"),
    "events": ("connect",),
    "vm": ("connect",),
    "logs": ("capture", "sos"),
    "view": ("capture", "sos"),
    "explain": ("root", "capture", "sos"),
    "open": ("capture",),  # its FILE argument
}
# The verbs --allow-actions applies to: the workbench (and its demo, its web server) and `vm`.
ACTING = (None, "demo", "serve", "vm")
_TARGET_HELP = {
    "root": ("DIR", "machine root to read (default: /, the live machine)"),
    "capture": ("FILE", "read a capture made by `workbench capture` (instead of --root)"),
    "sos": ("FILE|DIR", "read a sosreport (`sos report`): its archive or its directory"),
    "connect": (
        "URI",
        f"libvirt URI (default: {LIVE_URI} on the live machine); events and probe take it "
        "more than once",
    ),
}


def vm_action(word: str) -> str:
    """An action named on the command line; libvirt's `destroy` is still accepted (scripts)."""
    return "force-off" if word == "destroy" else word


def target_options(*names: str, verb: bool = True) -> Parser:
    """The parent parser of --root/--capture/--connect, one definition for the global parser
    and the verbs. The global copy keeps its value apart (`global_root`, ...) and a verb's has
    no default (SUPPRESS), so that `merge_targets` sees both when both are given."""
    parent = Parser(add_help=False)
    for name in names:
        metavar, help_ = _TARGET_HELP[name]
        default = argparse.SUPPRESS if verb else None
        dest = name if verb else f"global_{name}"
        action = "append" if name == "connect" else "store"  # repeatable: commands/connects.py
        parent.add_argument(
            f"--{name}", metavar=metavar, dest=dest, default=default, help=help_, action=action
        )
    return parent


def log_sources() -> Parser:
    """The parent parser of the log sources `logs` and `view` read, one definition for both."""
    parent = Parser(add_help=False)
    parent.add_argument(
        "sources", metavar="SOURCE", nargs="*", help="a log file, or - for standard input"
    )
    parent.add_argument(
        "--kernel", action="store_true", help="this boot's kernel log (journal, /dev/kmsg, dmesg)"
    )
    parent.add_argument(
        "--qemu", metavar="NAME", action="append", help="the QEMU log of domain NAME (repeatable)"
    )
    parent.add_argument(
        "--journal", metavar="UNIT", action="append", help="a unit's journal (repeatable)"
    )
    return parent


def merge_targets(args: argparse.Namespace) -> str | None:
    """One value per target option from the global one (before the verb) and the verb's own
    (after it): either alone, or both when they agree; the reason when they do not (a silent
    choice of one would report on a machine the user did not mean)."""
    if (problem := merge_connects(args)) is not None:  # --connect is a list: made one first
        return problem
    for name in TARGETS:
        before = getattr(args, f"global_{name}", None)
        after = getattr(args, name, None)
        if before is not None and after is not None and not _same(name, before, after):
            return (
                f"{args.command}: two different --{name}: {_shown(name, before)} (before "
                f"{args.command}) and {_shown(name, after)} (after it); give one"
            )
        if after is None:
            setattr(args, name, before)
    return None


def _same(name: str, first: str, second: str) -> bool:
    if first == second:
        return True
    return name != "connect" and os.path.realpath(first) == os.path.realpath(second)


def _shown(name: str, value: str) -> str:
    return safe_text(mask_uri(value) if name == "connect" else value)


def resolve_targets(args: argparse.Namespace) -> str | None:
    """Check the target options against what the verb reads; the reason when they cannot be
    used. What is not given stays None: `workbench.target.open_target` picks the default."""
    verb = args.command
    where = f"{verb}: " if verb else ""
    given = [name for name in TARGETS if getattr(args, name, None) is not None]
    for name in given:
        if not getattr(args, name).strip():  # '' would mean the current directory, or
            return f"{where}--{name}: empty"  # libvirt's default URI: never what was meant
    if (problem := check_connects(args)) is not None:  # every --connect, and how many
        return problem
    unused = [name for name in given if name not in USES.get(verb, ())]
    if unused:
        return f"{where}--{unused[0]} does not apply here"
    named = [name for name in MACHINES if name in given]
    if len(named) > 1:
        first, second = named[:2]
        return f"{where}give one machine: --{first} or --{second}, not both"
    if getattr(args, "allow_actions", False):
        if verb not in ACTING:
            return f"{where}--allow-actions does not apply here"
        if "capture" in given or "sos" in given:
            what = "capture" if "capture" in given else "sosreport"
            return f"{where}a {what} is read-only: no --allow-actions"
    if getattr(args, "demo", False) and given and verb == "serve":
        return "serve: --demo serves the demo machine: no --root, --capture, --sos or --connect"
    return None  # what is not given is decided by `open_target` (workbench.target)


def build_parser() -> argparse.ArgumentParser:
    # The global target options: honoured by every verb that reads them, refused by the others.
    parser = Parser(
        prog="workbench",
        description="Diagnose Linux hosts that run VMs with GPU passthrough.",
        parents=[target_options(*TARGETS, verb=False)],
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.add_argument(
        "--allow-actions",
        action="store_true",
        help="allow VM actions (start, shutdown, ...) in the workbench",
    )
    parser.set_defaults(module="ui")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="the workbench on the bundled demo machine and its demo hypervisor",
        description="Open the workbench on the demo machine: a composed workstation, a "
        "test-driver hypervisor with a GPU-passthrough VM, a real qemu-ga for it when installed.",
    )
    demo.add_argument(
        "--allow-actions", action="store_true", default=argparse.SUPPRESS, help="allow VM actions"
    )
    demo.add_argument(  # the demo machine as a sosreport, or a fleet of machines (demo_sos.py)
        "--sos", action="store_true", dest="demo_sos", help="open the demo machine's sosreport"
    )
    demo.add_argument(
        "--fleet", action="store_true", dest="demo_fleet", help="open a fleet of demo machines"
    )
    from workbench.commands.tour import WriteTour  # issue 18: the README tour's files

    demo.add_argument(
        "--write",
        metavar="DIR",
        action=WriteTour,
        dest="write_dir",
        help="write the demo's kernel and QEMU logs, its sosreport and the demo fleet into DIR",
    )
    demo.set_defaults(module="ui", demo=True)

    probe = sub.add_parser(
        "probe",
        parents=[target_options(*TARGETS)],
        help="run the probes and print a report",
        description="Run the probes against a machine and print a report. Exit 0 when nothing "
        "failed, 1 when a probe failed or broke, 2 for bad usage or unreadable input.",
    )
    probe.add_argument(
        "--only", metavar="ID,...", help="run only these probes (and what they require)"
    )
    probe.add_argument(
        "--json", action="store_true", help="print the workbench.report/1 JSON document"
    )
    probe.add_argument(
        "--lg-resolution",
        default="1920x1080",
        metavar="WxH",
        help="guest resolution Looking Glass is judged for (default 1920x1080)",
    )
    probe.add_argument(
        "--timeout",
        type=seconds,
        default=None,
        metavar="S",
        help="per-probe time limit in seconds (default: each probe's own)",
    )
    probe.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report (default: auto, on a terminal)",
    )
    # issue 16: node_exporter textfile metrics (--json stays, the same as --format json).
    probe.add_argument(
        "--format",
        choices=("text", "json", "prometheus", "vhv"),
        default=None,
        help="text (default), json (as --json), prometheus (node_exporter textfile metrics) or "
        "vhv (the lines and exit status of `virt-host-validate qemu`)",
    )
    probe.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="with --format prometheus: write FILE atomically (temp file + rename), mode 0644; "
        "- for standard output",
    )
    probe.set_defaults(module="probe")

    explain = sub.add_parser(
        "explain",
        parents=[target_options("root", "capture", "sos")],
        help="name the causes that log lines (and a machine) show",
        description="Read log lines as pasted or saved (dmesg, journalctl, kern.log, QEMU and "
        "libvirt logs, virsh and virt-manager errors; plain, .gz or .xz; - is standard input) "
        "and name the causes of the failure they show, with their evidence and remedy. With "
        "--root, --capture or --sos the machine's facts join the evidence, and with no FILE its own "
        "kernel and QEMU logs are read. Exit 0 when no cause is found (harmless lines only), "
        "1 when one is, 2 for bad usage or unreadable input.",
    )
    explain.add_argument("files", metavar="FILE", nargs="*", help="log files, - for standard input")
    explain.add_argument(
        "--json", action="store_true", help="print the workbench.explain/1 JSON document"
    )
    explain.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text (default: auto, on a terminal)",
    )
    explain.set_defaults(module="explain")

    events = sub.add_parser(
        "events",
        parents=[target_options("connect")],
        help="stream VM state transitions as they happen",
        description="Print every VM state transition and connection change until SIGINT or "
        "SIGTERM (exit 0). Reconnects with backoff when the daemon goes away.",
    )
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(module="events")

    vm = sub.add_parser(
        "vm",
        parents=[target_options("connect")],
        help="start, shut down, force off, reboot, suspend or resume a VM",
        description="Act on a VM through libvirt, retrying transient errors. Exit 0 on success, "
        "1 when the action failed, 2 for bad usage or an unknown VM.",
    )
    vm.add_argument("action", type=vm_action, choices=ACTIONS, help="what to do to the VM")
    vm.add_argument("name", help="the VM (libvirt domain) name")
    vm.add_argument(
        "--retries",
        type=count(100),
        default=2,
        metavar="N",
        help="retries of a transient failure (default 2)",
    )
    vm.add_argument(
        "--fallback",
        choices=("tcg",),
        help="start: fall back to software emulation (TCG) if KVM fails",
    )
    vm.set_defaults(module="vm")

    logs = sub.add_parser(
        "logs",
        parents=[target_options("capture", "sos"), log_sources()],
        help="filter (and follow) logs: files, stdin, the kernel's, a VM's QEMU log, a journal",
        description="Print the lines of one or more logs that match every filter given, "
        "merged by time (each line marked with its source when there are several): pretty on "
        "a terminal, the original lines with --json. SOURCE is a JSON-lines or text log file "
        "(.gz, .xz and bzip2 read by their first bytes) or - for standard input; with no "
        "source, Workbench's own log (with --sos, the report's kernel log). Lines that are "
        "not JSON are shown raw, marked '??'. "
        "With --follow, starts at the end (the last --lines N lines, default 10) and keeps "
        "printing new lines until SIGINT or SIGTERM (exit 0), through rotation and "
        "truncation. Exit 1 when no line matched (like grep), 2 on bad usage.",
    )
    logs.add_argument(
        "--lines",
        "-n",
        metavar="N",
        type=int,
        help="the last N matching lines (with --follow: N lines of context, then new ones)",
    )
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    logs.add_argument(
        "--level",
        metavar="LEVEL",
        help="at least this level: trace, debug, info, notice, warning, error, critical "
        "(journald PRIORITY 0-7 counts; lines without a level are left out)",
    )
    logs.add_argument("--logger", metavar="NAME", help="only this logger")
    logs.add_argument("--vm", metavar="NAME", help="only records about this VM")
    logs.add_argument("--probe", metavar="ID", help="only records about this probe")
    logs.add_argument(
        "--grep",
        metavar="RE",
        help="regular expression over the raw line (a line whose search takes over 1 s is "
        "skipped, and said on stderr)",
    )
    logs.add_argument("--since", metavar="T", help="not before T (ISO time, or 10m, 2h, 1d ago)")
    logs.add_argument("--until", metavar="T", help="not after T")
    logs.add_argument(
        "--json",
        action="store_true",
        help="JSON lines: a JSON-lines log's records as written (with several sources, each "
        'gains a "source" key); a text line becomes {"source", "time", "level", "message", '
        '"raw"}',
    )
    logs.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the lines (default: auto, on a terminal)",
    )
    logs.set_defaults(module="logs")

    view = sub.add_parser(
        "view",
        parents=[target_options("capture", "sos"), log_sources()],
        help="read logs in the TUI, merged by time, followed live: files, stdin, the kernel's, "
        "a VM's QEMU log, a journal",
        description="The TUI log view on the SOURCEs (JSON lines or text; .gz, .xz and bzip2 "
        "read by their first bytes; - for standard input), merged by time into one timeline, "
        "each line marked with its source, followed live; with no source, Workbench's own log "
        "(with --capture, the one it recorded; with --sos, the report's kernel log). "
        "Keys: g/G top/bottom, j/k, space/b page, "
        "/ search (n/N), & filter, e/E errors, w/W warnings, ctrl+w wrap, left/right, "
        "d detail, escape clears.",
    )
    view.set_defaults(module="view")

    capture = sub.add_parser(
        "capture",
        parents=[target_options("root", "connect")],
        help="collect this machine into one file for a support engineer",
        description="Write a .tar.gz with what the probes read (sysfs, /proc, device facts), the "
        "hypervisor (versions, capabilities, domain XML, read-only), guest-agent answers and the "
        "tail of the workbench log. Passwords, secrets and URI credentials are always removed. "
        "Exit 0 when written (a slow or failing collector is recorded, not fatal), 2 otherwise.",
    )
    capture.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="default: workbench-HOST-TIME.tar.gz; - writes the archive to standard output",
    )
    capture.add_argument(
        "--redact",
        metavar="KINDS",
        help="also replace hostnames, macs and/or serials by pseudonyms (comma-separated)",
    )
    capture.add_argument(
        "--timeout",
        type=seconds,
        default=30.0,
        metavar="S",
        help="time limit of each collector in seconds (default 30)",
    )
    capture.set_defaults(module="capture")

    compare = sub.add_parser(  # an alias of `fleet --compare A B [PATH ...]`
        "compare",
        help="two machines' facts side by side (as `fleet --compare A B [PATH ...]`)",
        description="Probe two machines (captures, sosreports, roots; or with PATHs, two "
        "machine names of that fleet) and show what differs: probe statuses first, then GPUs, "
        "command line, hugepages, modules, causes. Exit 0 when nothing differs, 1 when "
        "something does, 2 for bad usage or an unusable machine.",
    )
    compare.add_argument("a", metavar="A", help="a machine file, or with PATHs a machine name")
    compare.add_argument("b", metavar="B", help="the other machine, as A")
    compare.add_argument("paths", metavar="PATH", nargs="*", help="a fleet to find A and B in")
    compare.add_argument("--json", action="store_true", help="workbench.fleet-compare/1 JSON")
    compare.set_defaults(module="fleetcompare")

    diff = sub.add_parser(
        "diff",
        help="what changed between two captures of a machine",
        description="Compare two captures (before and after a fix): probe statuses, drivers "
        "bound, IOMMU groups, kernel command line, domains. Two different machines (hostname, "
        "machine-id or DMI serial differ) are refused unless --force. Exit 0 when nothing "
        "changed, 1 when something did, 2 for bad usage, an unusable capture or two machines.",
    )
    diff.add_argument("before", metavar="A", help="the capture before")
    diff.add_argument("after", metavar="B", help="the capture after")
    diff.add_argument(
        "--force", action="store_true", help="compare even two different machines (by identity)"
    )
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    diff.set_defaults(module="diff")

    fleet = sub.add_parser(
        "fleet",
        help="many machines side by side",
        description="Open every machine in the paths (captures, sosreports as archives or "
        "directories, `sos collect` bundles; directories are walked) in parallel processes and "
        "show them side by side: the fleet TUI on a terminal (--text: the table), else the "
        "table. Exit 0 when no machine has a failing probe, 1 when one has, 2 for bad usage or "
        "when no machine is found.",
    )
    fleet.add_argument("paths", metavar="PATH", nargs="*", help="machine files and directories")
    shown = fleet.add_mutually_exclusive_group()  # one output: the document or the table
    shown.add_argument("--json", action="store_true", help="print the workbench.fleet/1 document")
    fleet.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        default=None,
        help="two machines' facts side by side (why does A work and B not): A and B are machine "
        "files, or with PATHs two machine names of that fleet; exit 0 when nothing differs, 1 "
        "when something does, 2 for bad usage or an unusable machine",
    )
    fleet.add_argument(
        "--workers", type=count(256), default=None, metavar="N", help="processes (the CPU count)"
    )
    fleet.add_argument("--progress", action="store_true", help="N/M machines on stderr")
    fleet.add_argument(
        "--no-index",
        action="store_true",
        help="probe every archive afresh: neither read nor write the fleet index "
        "($XDG_CACHE_HOME/workbench/fleet-index, one result per archive's sha256 and "
        "workbench's code; the least recently used beyond 20,000 files or 256 MB are removed; "
        "WORKBENCH_FLEET_INDEX=off does the same)",
    )
    shown.add_argument(
        "--text", action="store_true", help="the table, also on a terminal (where the TUI opens)"
    )
    fleet.set_defaults(module="fleet")

    open_ = sub.add_parser(
        "open",
        help="the workbench on a capture or a sosreport",
        description="Open the workbench on a capture file, or a sosreport (its archive or its "
        "directory, known by its content: sos_commands/ in its top directory), as if on the "
        "machine it came from.",
    )
    open_.add_argument(
        "capture", metavar="FILE", help="a capture, or a sosreport archive or directory"
    )
    open_.set_defaults(module="ui")  # read-only: UiConfig.from_target allows no actions

    serve = sub.add_parser(
        "serve",
        parents=[target_options(*TARGETS)],
        help="the workbench in a web browser",
        description="Serve the workbench to web browsers (textual-serve): each browser tab gets "
        "its own workbench. Binds to 127.0.0.1 unless --host says otherwise; there is no "
        "password, so prefer an SSH tunnel to exposing it.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=count(65535), default=8000, help="port to listen on (8000)")
    serve.add_argument("--demo", action="store_true", help="serve the demo machine")
    serve.add_argument(
        "--allow-actions", action="store_true", default=argparse.SUPPRESS, help="allow VM actions"
    )
    serve.add_argument(
        "--max-sessions", default="4", metavar="N", help="browser tabs served at once (4)"
    )
    serve.set_defaults(module="serve")

    # issue 18: completion scripts generated from this parser (workbench/docs/completion.py).
    completion = sub.add_parser(
        "completion",
        help="print the shell completion script for bash or zsh",
        description="Print the completion script of workbench for SHELL, generated from its "
        "options: `source <(workbench completion bash)` in ~/.bashrc, or save the zsh one as "
        "_workbench in a directory of $fpath. `make setup` installs both in .venv/share.",
    )
    completion.add_argument("shell", metavar="SHELL", choices=("bash", "zsh"), help="bash or zsh")
    completion.set_defaults(module="completion")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stderr is None:  # started with `2>&-`: the messages go nowhere, nothing breaks
        sys.stderr = open(_occupy(2), "w", closefd=False)  # noqa: SIM115 - for the process
    if sys.stdout is None:  # `>&-`: nothing could be shown (and a file opened next would be fd 1)
        _occupy(1)
        say("cannot write the output: standard output is closed")
        return 1
    mark_output_errors()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(words)
    except ArgumentsError as exc:  # said on stderr by the parser; under --json, also as data
        if _wants_json(words[: words.index("--") if "--" in words else None]):
            error = ConfigError(exc.message)
            error.add_context("cli", "arguments")
            _json_error(error)
        raise
    try:
        problem = merge_targets(args) or resolve_targets(args)
        if problem is not None:
            raise ConfigError(problem)  # exit 2 like any refusal (a document under --json)
        command = importlib.import_module(f"workbench.commands.{args.module}")
        code: int = command.run(args)
        sys.stdout.flush()  # a full disk is said here, not as a traceback at exit
    except WorkbenchError as exc:
        return _failed(args, exc)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        # `workbench probe | head`: the reader left; nothing more to say.
        _drop_output()
        return 1
    except OutputError as exc:
        return _unwritable(exc)
    except OSError as exc:  # not the output's: a read or another file; one line, logged whole
        from workbench.core.logging import get_logger

        get_logger("cli").error("cli.os_error", verb=args.command, exc_info=exc)
        where = f" ({safe_text(str(exc.filename))})" if exc.filename else ""
        say(f"{args.command or 'workbench'}: {exc.strerror or exc}{where}")
        return 1
    return code


def _wants_json(words: list[str]) -> bool:
    """Whether the words ask for a JSON document (`--json`, `--format json`, `--format=json`),
    so that a refusal of the arguments is one too."""
    for i, word in enumerate(words):
        if word == "--json" or word == "--format=json":
            return True
        if word == "--format" and words[i + 1 : i + 2] == ["json"]:
            return True
    return False


def _occupy(fd: int) -> int:
    """Fill the closed descriptor `fd` with /dev/null, so that no file opened later lands on
    it and receives what is meant for stdout or stderr."""
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
    return fd


def _drop_output() -> None:
    """Point stdout at nothing: what is still buffered would fail again at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _unwritable(exc: OSError) -> int:
    """Standard output cannot be written (a full disk, an I/O error): one line, exit 1."""
    _drop_output()
    say(f"cannot write the output: {exc.strerror or exc}")
    return 1


def _json_error(exc: WorkbenchError) -> None:
    """The workbench.error/1 document on stdout, on one line: `logs --json` and `events
    --json` print JSON lines, and readers of those read one object per line."""
    doc = {"schema": ERROR_SCHEMA, "error": exc.to_dict()}
    try:
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
        sys.stdout.flush()
    except OSError:  # the line on stderr still says what failed
        _drop_output()


def _failed(args: argparse.Namespace, exc: WorkbenchError) -> int:
    """An error that ended the command: one line on stderr (exit 2); the error whole, with the
    path it took (`cli::<verb>` outermost), in the log and, under --json, on stdout."""
    from workbench.core.logging import get_logger

    exc.add_context("cli", args.command or "ui")
    get_logger("cli").error("cli.failed", verb=args.command, error=exc)
    if getattr(args, "json", False):
        _json_error(exc)
    hint = f" ({exc.remedy})" if exc.remedy else ""
    return usage_error(f"{exc.message}{hint}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
