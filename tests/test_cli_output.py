"""What the CLI prints is safe on any terminal: machine text and file names are escaped, a stdout
that cannot encode a character never kills the command, JSON stays faithful data."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.capture_files import good_capture, members, with_manifest, write
from tests.conftest import WORKBENCH, run_cli
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, Source
from workbench.core.host import Host

MakeRoot = Callable[..., Path]
HOSTILE = "ro quiet ü☃ \x1b]0;PWNED\x07 \x1b[2J \u202eabc"
EVIL_NAME = "evil\x1b]0;PWN\x07\x1b[2J.tar.gz"
RAW = ("\x1b", "\x07", "\u202e")  # what a terminal would act on


def _capture_with_cmdline(make_root: MakeRoot, path: Path, cmdline: str) -> Path:
    root = make_root("asrock-z170-gtx960")
    (root / "proc/cmdline").write_text(cmdline + "\n")
    collectors = {k: v for k, v in COLLECTORS.items() if k != "log"}
    return capture(Source(Host(root)), path, collectors=collectors).path


@pytest.fixture
def two_captures(make_root: MakeRoot, tmp_path: Path) -> tuple[Path, Path]:
    """A good capture and one of the same machine whose kernel command line is hostile."""
    good = good_capture(make_root, tmp_path)
    return good, _capture_with_cmdline(make_root, tmp_path / "u.tar.gz", HOSTILE)


@pytest.mark.parametrize(
    ("env", "encoding"),
    [
        ({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
        ({"PYTHONIOENCODING": "cp1252"}, "cp1252"),
        ({"PYTHONIOENCODING": "ascii"}, "ascii"),
        (
            {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""},
            "ascii",
        ),
    ],
    ids=["latin-1", "cp1252", "ascii", "C-locale"],
)
def test_diff_on_a_non_utf8_stdout(
    two_captures: tuple[Path, Path], env: dict[str, str], encoding: str
) -> None:
    """`diff` on a stdout that cannot encode `☃`: the change is printed in the stream's encoding
    with the character escaped, exit 1 (something changed), no traceback."""
    good, hostile = two_captures
    proc = run_cli("diff", str(good), str(hostile), env=env, encoding=encoding)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "\\u2603" in proc.stdout
    assert "cmdline" in proc.stdout


def test_diff_escapes_machine_text(two_captures: tuple[Path, Path]) -> None:
    """Terminal controls and bidi overrides in a capture's command line are shown escaped by
    `diff`, never sent raw; ordinary non-ASCII text stays readable on UTF-8."""
    good, hostile = two_captures
    proc = run_cli("diff", str(good), str(hostile), env={"PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 1, proc.stderr
    assert not [c for c in RAW if c in proc.stdout]
    assert "\\x1b]0;PWNED\\x07" in proc.stdout and "\\x1b[2J" in proc.stdout
    assert "\\u202eabc" in proc.stdout
    assert "ü☃" in proc.stdout


def test_diff_json_keeps_machine_text(two_captures: tuple[Path, Path]) -> None:
    """`diff --json` stays data: the command line's arguments come back exactly as recorded."""
    good, hostile = two_captures
    proc = run_cli("diff", str(good), str(hostile), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    change = next(c for c in doc["changes"] if c["area"] == "cmdline")
    assert set(change["after"].split()) == set(HOSTILE.split()) - {"ro", "quiet"}


def test_diff_escapes_the_file_names(make_root: MakeRoot, tmp_path: Path) -> None:
    """A capture's file name with escape sequences is shown escaped on diff's lines."""
    good = good_capture(make_root, tmp_path)
    evil = tmp_path / EVIL_NAME
    shutil.copy(good, evil)
    proc = run_cli("diff", str(good), str(evil))
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in RAW if c in proc.stdout]
    assert "evil\\x1b]0;PWN\\x07\\x1b[2J.tar.gz" in proc.stdout


def _assert_escaped(stderr: str, name: str = "evil") -> None:
    assert stderr.count("\n") <= 8, stderr  # a message (and usage), not a traceback
    assert not [c for c in RAW if c in stderr], stderr
    assert f"{name}\\x1b]0;PWN\\x07\\x1b[2J" in stderr, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ("probe", "--capture", "{missing}"),
        ("logs", "--capture", "{missing}"),
        ("logs", "--capture", "{evil}"),  # a real capture without a log: said with its name
        ("diff", "{good}", "{missing}"),
        ("serve", "--capture", "{missing}"),
        ("logs", "{missing}"),
        ("capture", "--root", "{root}", "-o", "{missing}/x.tar.gz"),
        ("--capture", "{missing}", "probe"),
    ],
    ids=["probe", "logs-capture", "logs-no-log", "diff", "serve", "logs-file", "capture-o", "g"],
)
def test_error_messages_escape_file_names(
    make_root: MakeRoot, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """A file name with terminal escapes in an error message reaches stderr escaped, whatever
    the command; the exit status is 2."""
    good = good_capture(make_root, tmp_path)
    evil = tmp_path / EVIL_NAME
    shutil.copy(good, evil)
    names = {
        "good": str(good),
        "evil": str(evil),
        "missing": str(tmp_path / ("x" + EVIL_NAME)),
        "root": str(make_root("asrock-z170-gtx960")),
    }
    proc = run_cli(*(a.format(**names) for a in args))
    assert proc.returncode == 2, proc.stderr
    _assert_escaped(proc.stderr)


@pytest.mark.parametrize(
    ("args", "name"),
    [(("probe", "evil"), "evil"), (("probe", "--co=evil"), "--co=evil")],
    ids=["unrecognized", "ambiguous-in-a-verb"],
)
def test_usage_errors_escape_arguments(args: tuple[str, str], name: str) -> None:
    """argparse's own complaints (an unknown argument, an ambiguous option of a verb) show
    terminal escapes escaped."""
    proc = run_cli(args[0], args[1] + "\x1b]0;PWN\x07\x1b[2J")
    assert proc.returncode == 2
    _assert_escaped(proc.stderr, name)


def test_serve_warning_escapes_the_host(make_root: MakeRoot) -> None:
    """`serve --host` with terminal escapes: the exposure warning and the bind error show the
    address escaped."""
    root = make_root("asrock-z170-gtx960")
    proc = run_cli("serve", "--root", str(root), "--host", "evil\x1b]0;PWN\x07\x1b[2J")
    assert proc.returncode == 2, proc.stderr
    assert "WARNING: serving on evil\\x1b]0;PWN" in proc.stderr
    _assert_escaped(proc.stderr)


def test_vm_failure_escapes_libvirt_words() -> None:
    """`vm start` whose URI holds terminal escapes: libvirt's error repeats the URI, and it
    reaches stderr escaped."""
    uri = "qemu+tcp://127.0.0.1:1/evil\x1b]0;PWN\x07\x1b[2J"
    proc = run_cli("vm", "start", "x", "--connect", uri, "--retries", "0")
    assert proc.returncode in (1, 2), proc.stderr
    _assert_escaped(proc.stderr)


def test_events_escapes_libvirt_words() -> None:
    """`events` whose URI holds terminal escapes: why the link is down reaches stderr escaped."""
    uri = "qemu+tcp://127.0.0.1:1/evil\x1b]0;PWN\x07\x1b[2J"
    with subprocess.Popen(
        [str(WORKBENCH), "events", "--connect", uri],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    _assert_escaped(stderr)


def test_log_write_failure_escapes_the_log_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one warning of a failed log write names the log file escaped."""
    from workbench.core._logfile import PrivateRotatingFileHandler

    path = tmp_path / "evil\x1b]0;PWN\x07\x1b[2J.log"
    handler = PrivateRotatingFileHandler(path, maxBytes=1 << 20, backupCount=1)
    try:
        handler.stream.close()
        handler.stream = path.open()  # read-only: the next write fails as a full disk would
        handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None))
    finally:
        handler.close()
    stderr = capsys.readouterr().err
    assert "cannot write the log" in stderr
    _assert_escaped(stderr)


def test_machine_builder_escapes_file_names(tmp_path: Path) -> None:
    """`python -m workbench.machines` names a facts file with terminal escapes escaped."""
    facts = tmp_path / "evil\x1b]0;PWN\x07\x1b[2J.json"
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.machines", str(facts), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert not [c for c in RAW if c in proc.stderr], proc.stderr
    assert "evil\\x1b]0;PWN\\x07\\x1b[2J" in proc.stderr


def test_diff_says_when_the_time_was_not_recorded(make_root: MakeRoot, tmp_path: Path) -> None:
    """A capture whose manifest lacks `created`: diff says the time was not recorded, not None."""
    good = good_capture(make_root, tmp_path)
    bare = write(
        tmp_path / "bare.tar.gz", with_manifest(members(good), lambda m: m.pop("created", None))
    )
    proc = run_cli("diff", str(good), str(bare))
    assert proc.returncode == 0, proc.stderr
    after = next(line for line in proc.stdout.splitlines() if line.startswith("after:"))
    assert "None" not in after and "time not recorded" in after


EVIL_VM = "ev\u202eil☃"


@pytest.fixture
def evil_vm_uri(tmp_path: Path) -> str:
    """A libvirt test-driver machine with one running VM whose name holds a bidi override and
    a non-Latin-1 character (XML allows both, unlike ESC)."""
    node = tmp_path / "node.xml"
    node.write_text(
        "<node><domain type='test'><name>ev&#x202e;il☃</name><memory>1048576</memory>"
        "<os><type>hvm</type></os></domain></node>\n"
    )
    return f"test://{node}"


def test_events_text_escapes_vm_names(evil_vm_uri: str) -> None:
    """`events` on an ASCII stdout: a VM name with a bidi override and `☃` is printed escaped,
    no traceback; SIGINT ends it with exit 0."""
    with subprocess.Popen(
        [str(WORKBENCH), "events", "--connect", evil_vm_uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="ascii",
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    ) as proc:
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "ev\\u202eil\\u2603: nostate -> running" in out


def test_vm_action_escapes_the_vm_name(evil_vm_uri: str) -> None:
    """`vm suspend` of a VM whose name holds a bidi override: `done` names it escaped."""
    proc = run_cli(
        "vm", "suspend", EVIL_VM, "--connect", evil_vm_uri, env={"PYTHONIOENCODING": "utf-8"}
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "suspend ev\\u202eil☃: done\n"
