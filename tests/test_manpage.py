"""`man workbench`: generated from the parser, installed in the venv, rendered by groff and man."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, WORKBENCH
from workbench.cli import build_parser
from workbench.docs import manpage, roff
from workbench.docs.install import MAN_PAGE

VENV = WORKBENCH.parent.parent
INSTALLED = VENV / MAN_PAGE
needs_groff = pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
needs_man = pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
# Read by the code but no user's to set: PATH (explain's subprocesses inherit it).
NOT_DOCUMENTED = {"PATH"}


def groff(source: str) -> subprocess.CompletedProcess[str]:
    """The page as a terminal shows it (plain text), with every groff warning on stderr."""
    return subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-P", "-cbou", "-rLL=200n"],
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's verbs by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def section(page: str, verb: str) -> str:
    """The rendered text of one verb's subsection."""
    start = page.index(f"workbench {verb}\n")
    after = re.compile(r"^ {3}workbench \S+$|^EXIT STATUS$", re.MULTILINE)
    end = after.search(page, start + 1)
    assert end is not None
    return page[start : end.start()]


def test_installed_page_is_the_generated_one() -> None:
    """`make setup` installed the page of the parser as it is now (else: run `make setup`)."""
    assert INSTALLED.read_text(encoding="utf-8") == manpage.render(), "run `make setup`"


@needs_man
def test_man_finds_the_page_through_the_venvs_bin_on_path() -> None:
    """man-db maps .venv/bin on PATH to .venv/share/man: `man -w workbench` finds our page."""
    env = {k: v for k, v in os.environ.items() if k not in ("MANPATH", "MANOPT")}
    env["PATH"] = f"{WORKBENCH.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    found = subprocess.run(
        ["man", "-w", "workbench"], capture_output=True, text=True, env=env, timeout=60
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).resolve() == INSTALLED.resolve()


@needs_man
def test_man_renders_the_installed_page_without_complaint() -> None:
    """`man -l` formats the installed page with nothing on stderr, NAME first."""
    env = {**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": "0", "PAGER": "cat"}
    shown = subprocess.run(
        ["man", "-l", str(INSTALLED)], capture_output=True, text=True, env=env, timeout=60
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    assert "workbench - diagnose Linux hosts that run VMs with GPU passthrough" in shown.stdout


@needs_groff
def test_groff_renders_the_page_without_warnings() -> None:
    """groff -ww (every warning) accepts the page as it is generated."""
    shown = groff(manpage.render())
    assert (shown.returncode, shown.stderr) == (0, "")


@needs_groff
def test_page_has_every_verb_and_every_long_option_with_its_help() -> None:
    """Walking build_parser(): each verb has its subsection listing each of its long options,
    and no argument lacks a help text (a new option without help fails here)."""
    page = groff(manpage.render()).stdout
    parser = build_parser()
    missing = []
    for name, verb in {"": parser, **verbs(parser)}.items():
        text = section(page, name) if name else page[: page.index("COMMANDS")]
        for action in verb._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{name or 'workbench'} {action.dest}: no help")
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and option not in text:
                    missing.append(f"{name or 'workbench'} {option}: not in the page")
    assert missing == []
    assert "(no help)" not in page


@needs_groff
def test_page_has_the_sections_a_parser_cannot_hold() -> None:
    """EXIT STATUS 0/1/2, ENVIRONMENT, FILES (the log), EXAMPLES and SEE ALSO are there."""
    page = groff(manpage.render()).stdout
    headings = re.findall(r"^([A-Z][A-Z ]+)$", page, re.MULTILINE)
    assert headings == [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ]
    status = page[page.index("EXIT STATUS") : page.index("ENVIRONMENT")]
    assert re.findall(r"^ {7}(\d+) ", status, re.MULTILINE) == ["0", "1", "2", "130"]
    assert "$XDG_STATE_HOME/workbench/workbench.log" in page
    assert "virt-host-validate(1), virsh(1), sos-report(1)" in page


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    """Each variable read under workbench/ (os.environ) has its ENVIRONMENT entry."""
    read = set()
    pattern = re.compile(
        r"""os\.environ(?:\.get\(|\[)\s*"([A-Z_][A-Z0-9_]*)"|"([A-Z_][A-Z0-9_]*)"\s+(?:not\s+)?in\s+os\.environ"""
    )
    for path in (REPO / "workbench").rglob("*.py"):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            read.add(match[1] or match[2])
    documented = {name for name, _ in manpage.ENVIRONMENT}
    assert read - NOT_DOCUMENTED - documented == set()
    assert {"WORKBENCH_LOG_FILE", "XDG_STATE_HOME"} <= read


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("--root DIR", r"\&\-\-root DIR"),
        (".so /etc/passwd", r"\&.so /etc/passwd"),
        ("'br", r"\&\(aqbr"),
        (r"C:\fB\n", r"\&C:\efB\en"),
        ("two\nlines\tand tab", r"\&two lines and tab"),
        ("café ✔", r"\&caf\[u00E9] \[u2714]"),
    ],
)
def test_roff_text_escapes(value: str, expected: str) -> None:
    """Requests, escapes, hyphens, line breaks and non-ASCII in help text are made inert."""
    assert roff.text(value) == expected


@needs_groff
def test_hostile_help_text_is_printed_not_obeyed() -> None:
    """A description and help holding roff requests and escapes come out as written."""
    parser = argparse.ArgumentParser(prog="evil", description='.TH "X" \\fBloud')
    parser.add_argument("--x", help="'so /etc/passwd\n.ig\n\\*(Tm ✔")
    shown = groff(manpage.render(parser))
    assert (shown.returncode, shown.stderr) == (0, "")
    assert '.TH "X" \\fBloud' in shown.stdout
    assert "'so /etc/passwd .ig \\*(Tm ✔" in shown.stdout
    assert "root:" not in shown.stdout
