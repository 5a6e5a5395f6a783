"""workbench(1), generated from `workbench.cli.build_parser()`: every verb, option and help text
as the parser has them, plus the sections a parser cannot hold (exit status, environment,
files, examples). `python -m workbench.docs PREFIX` installs it; see workbench/docs/install.py."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from workbench import __version__
from workbench.core import logging as own_log
from workbench.core.pciids import SEARCH_PATHS
from workbench.docs.roff import argument, bold, italic, text

# What the CLI's exit statuses mean across verbs (each verb's description says its own).
EXIT_STATUS = (
    ("0", "success: nothing failed, no cause found, nothing differs"),
    (
        "1",
        "a finding: a probe failed or broke (probe, fleet), a cause was found (explain), "
        "something differs (diff, compare), no line matched (logs), a VM action failed (vm), "
        "or the output could not be written",
    ),
    ("2", "bad usage, or input that cannot be read (a damaged capture, an unknown VM)"),
    ("130", "interrupted (Ctrl-C)"),
)
# Every variable the code reads (tests/test_manpage.py checks that none is missing).
ENVIRONMENT = (
    (
        "WORKBENCH_LOG_FILE",
        "the log file to write instead of $XDG_STATE_HOME/workbench/workbench.log",
    ),
    ("XDG_STATE_HOME", "where the log lives (default ~/.local/state)"),
    (
        "XDG_CACHE_HOME",
        "where the demo machine is built once per version and the fleet index is kept "
        "(default ~/.cache)",
    ),
    ("WORKBENCH_FLEET_INDEX", "off: the fleet probes every machine afresh (as --no-index)"),
    (
        "XDG_RUNTIME_DIR",
        "where captures and sosreports are unpacked when TMPDIR is not set (a private tmpfs)",
    ),
    ("TMPDIR", "where captures and sosreports are unpacked, when set"),
    ("WORKBENCH_PCI_IDS", "the pci.ids file that names PCI devices, instead of the usual places"),
    ("NO_COLOR", "when set, --color auto never colours"),
    ("TERM", "the terminal the TUI draws on: unset or dumb, it refuses to start"),
    ("SOURCE_DATE_EPOCH", "the time a capture records instead of now (reproducible captures)"),
)
EXAMPLES = (
    ("workbench demo", "the workbench (TUI) on the bundled demo machine"),
    ("workbench probe", "this machine's report, as text"),
    ("workbench probe --json --only pci.gpus", "some probes, as a workbench.report/1 document"),
    ("workbench capture -o case-1234.tar.gz", "this machine in one file, secrets removed"),
    ("workbench probe --capture case-1234.tar.gz", "the report of the captured machine"),
    ("journalctl -k -b | workbench explain", "name the causes the kernel log shows"),
    ("workbench probe --sos sosreport-host.tar.xz", "a customer's sosreport, read as a machine"),
    ("workbench fleet captures/", "many machines side by side"),
    ("workbench logs --kernel --qemu win11 -n 50", "logs merged by time, each line marked"),
    ("source <(workbench completion bash)", "tab completion in this bash"),
)
SEE_ALSO = ("virt-host-validate(1)", "virsh(1)", "sos-report(1)")
DESCRIPTION = (
    "With no COMMAND, opens the workbench (a terminal UI) on this machine, or on the machine "
    "the global options name. Each probe says pass, warn or fail, why, and what to do about "
    "it. A probe that depends on another says which one blocked it; what a recorded machine "
    "did not record is said as not recorded, never judged."
)


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The whole page as roff source."""
    if parser is None:
        from workbench.cli import build_parser

        parser = build_parser()
    prog = parser.prog
    lines = [
        f'.TH {argument(prog.upper())} 1 "" {argument(f"{prog} {__version__}")} "User Commands"',
        ".nh",  # no hyphenation: paths and options are copied from the page as they are
        ".SH NAME",
        f"{text(prog)} \\- {text(_first_lower(parser.description or ''))}",
        ".SH SYNOPSIS",
        f"{bold(prog)} [{italic('global options')}] [{italic('COMMAND')}] "
        f"[{italic('options')}] [{italic('arguments')}]",
        ".SH DESCRIPTION",
        text(parser.description or ""),
        ".PP",
        text(DESCRIPTION),
        ".SS Global options",
    ]
    lines += _options(parser)
    lines.append(".SH COMMANDS")
    for name, verb in _verbs(parser):
        lines += _verb(prog, name, verb)
    lines += _section("EXIT STATUS", EXIT_STATUS)
    lines += _section("ENVIRONMENT", ENVIRONMENT)
    lines += _section("FILES", _files())
    lines.append(".SH EXAMPLES")
    for command, what in EXAMPLES:
        lines += [".TP", bold(command), text(what)]
    lines += [".SH SEE ALSO", ",\n".join(_reference(name) for name in SEE_ALSO)]
    return "\n".join(lines) + "\n"


def _verbs(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _verb(prog: str, name: str, verb: argparse.ArgumentParser) -> list[str]:
    positionals = [a for a in verb._actions if not a.option_strings]
    synopsis = " ".join(_metavar(a) for a in positionals)
    lines = [
        f".SS {argument(f'{prog} {name}')}",
        f"{bold(f'{prog} {name}')} [{italic('options')}] {synopsis}".rstrip(),
        ".PP",
        text(verb.description or ""),
    ]
    return lines + _options(verb, verb=True)


def _options(parser: argparse.ArgumentParser, *, verb: bool = False) -> list[str]:
    """A paragraph per argument; a verb's --help is said once, among the global options."""
    lines = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if verb and isinstance(action, argparse._HelpAction):
            continue
        lines += [".TP", _term(action), text(_help(parser, action))]
    return lines


def _term(action: argparse.Action) -> str:
    """The tag of an option's paragraph: `-o, --output FILE`, or a positional's name."""
    if not action.option_strings:
        return _metavar(action)
    names = ", ".join(bold(option) for option in action.option_strings)
    value = _metavar(action) if action.nargs != 0 else ""
    return f"{names} {value}".rstrip()


def _metavar(action: argparse.Action) -> str:
    """What an argument takes, as argparse would show it, in roff: `FILE`, `[FILE ...]`,
    `auto|always|never`."""
    if isinstance(action.metavar, tuple):
        return " ".join(italic(part) for part in action.metavar)
    if action.metavar is not None:
        one = italic(action.metavar)
    elif action.choices is not None:
        one = "|".join(bold(str(choice)) for choice in action.choices)
    elif action.option_strings:
        one = italic(action.dest.upper())
    else:
        one = italic(action.dest)
    if action.nargs == "?":
        return f"[{one}]"
    if action.nargs == "*":
        return f"[{one} ...]"
    if action.nargs == "+":
        return f"{one} [{one} ...]"
    return one


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help text with argparse's %(...)s expanded; a missing one says so (the test of the
    page fails on it)."""
    if not action.help:
        return "(no help)"
    if "%" not in action.help:
        return action.help
    params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    params["prog"] = parser.prog
    return action.help % params


def _section(title: str, items: tuple[tuple[str, str], ...]) -> list[str]:
    lines = [f".SH {title}"]
    for term, what in items:
        lines += [".TP", bold(term), text(what)]
    return lines


def _files() -> tuple[tuple[str, str], ...]:
    backups = own_log.DEFAULT_BACKUPS
    size = own_log.DEFAULT_MAX_BYTES // (1024 * 1024)
    return (
        (
            "$XDG_STATE_HOME/workbench/workbench.log",
            "the workbench's own log, JSON lines (default ~/.local/state/workbench/"
            f"workbench.log; $WORKBENCH_LOG_FILE instead when set), rotated at {size} MiB "
            f"into {backups} older files (.1 to .{backups}); read it with `workbench logs`",
        ),
        (
            "$XDG_CACHE_HOME/workbench/demo-*",
            "the demo machine, built once per version of its facts (default ~/.cache)",
        ),
        (" ".join(SEARCH_PATHS), "pci.ids, the names of PCI devices (the first that exists)"),
    )


def _reference(page: str) -> str:
    name, section = page.rstrip(")").split("(")
    return f"{bold(name)}({text(section)})"


def _first_lower(sentence: str) -> str:
    """The description as NAME's one-line summary: lower-cased start, no final period."""
    sentence = sentence.rstrip(".")
    return sentence[:1].lower() + sentence[1:]
