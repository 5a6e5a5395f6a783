"""The command line under hostile use: options that would be silently dropped or swapped,
passwords that libvirt would half-read, plugins that print, outputs that cannot be written,
and --json readers that get a document for every refusal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.capture_files import good_capture
from tests.conftest import WORKBENCH, run_cli
from tests.plugin_dists import build_chatty
from workbench.commands.common import uri_problem

MakeRoot = Callable[..., Path]
ROOT_MACHINE = "asrock-z170-gtx960"
# A password holding '@' and '/' unencoded: libvirt reads "ss" as the host.
HALF_READ = "qemu+tcp://admin:p@ss/w@host/system"
ENOSPC_LINE = "workbench: cannot write the output: No space left on device\n"


def _run(*args: str, timeout: float = 30, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`workbench ARGS` with a short time limit: a command that should stop at once but
    retries (for ever) fails the test instead of hanging it."""
    env = {**os.environ, **kwargs.pop("env", {})}
    return subprocess.run(
        [str(WORKBENCH), *args], capture_output=True, text=True, env=env, timeout=timeout, **kwargs
    )


def _to_full_disk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`workbench ARGS` whose stdout is /dev/full, opened read-write by the child's shell:
    every write fails with ENOSPC, as on a full disk."""
    return subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" 1<>/dev/full', str(WORKBENCH), *args],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        cwd=cwd,
    )


@pytest.fixture
def archive(make_root: MakeRoot, tmp_path: Path) -> Path:
    """A real capture of a recorded machine."""
    return good_capture(make_root, tmp_path)


# -- 1. a capture is reported with its recorded hypervisor, never this machine's


@pytest.mark.parametrize(
    "args",
    [
        ["probe", "--capture", "{c}", "--connect", "test:///default"],
        ["probe", "--json", "--capture", "{c}", "--connect", "test:///default"],
        ["--connect", "test:///default", "probe", "--capture", "{c}"],
        ["--capture", "{c}", "--connect", "test:///default"],
        ["serve", "--capture", "{c}", "--connect", "test:///default", "--port", "1"],
    ],
    ids=["probe", "probe-json", "probe-global", "workbench", "serve"],
)
def test_a_capture_with_connect_is_refused(args: list[str], archive: Path) -> None:
    """--capture with --connect is refused (exit 2, one line), never a report of the capture
    with this machine's hypervisor in place of the recorded one."""
    proc = _run(*(a.format(c=archive) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "workbench: the workbench on a capture shows its recorded hypervisor: no --connect\n"
    )
    assert "workbench.report/1" not in proc.stdout


def test_the_api_refuses_a_capture_with_connect(archive: Path) -> None:
    """`workbench.diagnose(capture=..., connect=...)` raises ConfigError, as the CLI refuses."""
    import workbench
    from workbench.core.errors import ConfigError

    with pytest.raises(ConfigError, match="recorded hypervisor"):
        workbench.diagnose(capture=archive, connect="test:///default")


@pytest.mark.parametrize(
    "args",
    [["--capture", "{c}", "--allow-actions"], ["serve", "--capture", "{c}", "--allow-actions"]],
    ids=["workbench", "serve"],
)
def test_actions_on_a_capture_are_refused(args: list[str], archive: Path) -> None:
    """--allow-actions on a capture (read-only) is refused, not silently dropped."""
    proc = _run(*(a.format(c=archive) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert "a capture is read-only: no --allow-actions" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


# -- 2. an '@' after the authority is a password's unencoded character


@pytest.mark.parametrize(
    ("uri", "refused"),
    [
        ("qemu:///system", False),
        ("test:///default", False),
        ("qemu+tcp://admin:pw@host/system", False),
        ("qemu+ssh://root@host/system?keyfile=/k", False),
        ("qemu+tcp://admin:p%40ss%2Fw@host/system", False),
        # An '@' in a query value or in a path with no user part is an ordinary character
        # (SSSD's home directories are /home/user@domain).
        ("qemu+ssh://root@host/system?keyfile=/home/bob@corp.example/.ssh/id", False),
        ("test:///home/bob@corp.example/node.xml", False),
        (HALF_READ, True),
        ("qemu+tcp://admin:p@ss@host/system", True),
        ("qemu+tcp://admin:p?s@host/system", True),
        ("qemu+tcp://admin:p#s@host/system", True),
        ("qemu+tcp://admin:pw@host:99999/system", True),
    ],
)
def test_uri_problem_table(uri: str, refused: bool) -> None:
    """A second '@' after a user part (in the authority or the path) is refused like a bad
    port; an '@' elsewhere is accepted."""
    problem = uri_problem(uri)
    assert (problem is not None) == refused, problem
    if problem is not None:
        assert "percent-encode" in problem
        assert "admin:***@host" in problem


@pytest.mark.parametrize(
    "args",
    [
        ["vm", "start", "x", "--connect"],
        ["events", "--connect"],
        ["events", "--json", "--connect"],
        ["probe", "--only", "libvirt.connection", "--connect"],
    ],
)
def test_a_half_readable_password_is_refused_before_libvirt(
    args: list[str], tmp_path: Path
) -> None:
    """`admin:p@ss/w@host`: exit 2 at once, one line with the password masked, no retry; no
    fragment of the password ('ss') on stderr or in the log."""
    log = tmp_path / "wb.log"
    proc = _run(*args, HALF_READ, env={"WORKBENCH_LOG_FILE": str(log)})
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "admin:***@host/system" in proc.stderr
    assert "percent-encode" in proc.stderr
    written = log.read_text() if log.exists() else ""
    for where in (proc.stdout, proc.stderr, written):
        assert "'ss'" not in where and "p@ss" not in where and "ss/w" not in where
        assert "retrying" not in where and "attempt" not in where


# -- 3. what a plugin prints never corrupts a document on stdout


@pytest.fixture
def chatty_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with a plugin that prints at import and in run()."""
    return {"PYTHONPATH": str(build_chatty(tmp_path / "site"))}


def test_a_printing_plugin_leaves_probe_json_intact(
    make_root: MakeRoot, chatty_env: dict[str, str]
) -> None:
    """`probe --json`: stdout is the report alone (the plugin ran), the plugin's text on
    stderr."""
    proc = _run("probe", "--json", "--root", str(make_root(ROOT_MACHINE)), env=chatty_env)
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "workbench.report/1"
    chatty = next(p for p in doc["probes"] if p["id"] == "x.chatty")
    assert chatty["status"] == "pass"
    assert "chatty: imported" in proc.stderr and "chatty: ran" in proc.stderr


def test_a_printing_plugin_leaves_the_text_report_intact(
    make_root: MakeRoot, chatty_env: dict[str, str]
) -> None:
    """`probe` (text): the plugin's words are on stderr, not among the report's lines."""
    proc = _run("probe", "--root", str(make_root(ROOT_MACHINE)), env=chatty_env)
    assert "x.chatty" in proc.stdout
    assert "chatty:" not in proc.stdout
    assert "chatty: ran" in proc.stderr


def test_a_printing_plugin_leaves_the_archive_on_stdout_intact(
    make_root: MakeRoot, chatty_env: dict[str, str]
) -> None:
    """`capture -o -` with a live hypervisor runs the agent probes (discovery imports every
    plugin): the archive on stdout still opens, the plugin's text is on stderr."""
    root = make_root(ROOT_MACHINE)
    proc = subprocess.run(
        [str(WORKBENCH), "capture", "--root", str(root), "--connect", "test:///default", "-o", "-"],
        capture_output=True,
        env={**os.environ, **chatty_env},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        assert "manifest.json" in tar.getnames()
    assert b"chatty: imported" in proc.stderr


def test_a_printing_plugin_leaves_diff_json_intact(
    archive: Path, chatty_env: dict[str, str]
) -> None:
    """`diff --json` runs the probes of both captures: stdout is the diff document alone."""
    proc = _run("diff", str(archive), str(archive), "--json", env=chatty_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema"] == "workbench.diff/1"
    assert "chatty: ran" in proc.stderr


# -- 4. an output that cannot be written is one line, exit 1


@pytest.mark.parametrize(
    "args",
    [
        ["probe", "--root", "{root}", "--json"],
        ["probe", "--root", "{root}"],
        ["capture", "--root", "{root}", "-o", "-"],
        ["logs", "{log}"],
        ["logs", "{log}", "--json"],
        ["diff", "{c}", "{c}", "--json"],
        ["diff", "{c}", "{c}"],
        ["vm", "suspend", "test", "--connect", "test:///default"],
        ["events", "--connect", "test:///default"],
    ],
)
def test_a_full_disk_on_stdout_is_one_line(
    args: list[str], make_root: MakeRoot, archive: Path, tmp_path: Path
) -> None:
    """stdout on a full device (ENOSPC): `workbench: cannot write the output: ...`, exit 1, no
    traceback (a thread's included), and the command ends."""
    from tests.conftest import sample_log

    log = sample_log(tmp_path / "sample.log")
    values = {"root": make_root(ROOT_MACHINE), "log": log, "c": archive}
    proc = _to_full_disk(*(a.format(**values) for a in args), cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (1, ENOSPC_LINE)


@pytest.mark.parametrize(
    "args",
    [
        ["probe", "--root", "{root}", "--json"],
        ["capture", "--root", "{root}", "-o", "-"],
        ["logs", "{log}"],
    ],
)
def test_a_closed_stdout_is_one_line(args: list[str], make_root: MakeRoot, tmp_path: Path) -> None:
    """Started with stdout closed (`>&-`): one line, exit 1, nothing run (was an
    AttributeError traceback on `None.write`)."""
    from tests.conftest import sample_log

    values = {"root": make_root(ROOT_MACHINE), "log": sample_log(tmp_path / "sample.log")}
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" >&-', str(WORKBENCH), *(a.format(**values) for a in args)],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert (proc.returncode, proc.stderr) == (
        1,
        "workbench: cannot write the output: standard output is closed\n",
    )


def test_a_closed_stderr_keeps_stdout_clean(make_root: MakeRoot) -> None:
    """Started with stderr closed (`2>&-`): a refusal's one line goes nowhere (not into
    stdout, where print(file=None) would put it) and stdout holds the error document alone."""
    root = str(make_root(ROOT_MACHINE))
    args = ["probe", "--json", "--root", root, "--lg-resolution", "0x0"]
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" 2>&-', str(WORKBENCH), *args],
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["message"].startswith("--lg-resolution")


# -- 5. events stops when its output goes away


def test_events_stops_when_its_reader_leaves(tmp_path: Path) -> None:
    """`events --json | head -1` while the daemon is unreachable: once the reader has left,
    the next record ends the command (exit 1, nothing said), rather than retrying for ever."""
    events = subprocess.Popen(
        [
            str(WORKBENCH),
            "events",
            "--json",
            "--connect",
            f"test+unix:///default?socket={tmp_path}/none.sock",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert events.stdout is not None and events.stderr is not None
    first = json.loads(events.stdout.readline())
    assert first["connection"] == "reconnecting"
    events.stdout.close()  # the reader leaves
    try:
        code = events.wait(timeout=20)
    finally:
        events.kill()
        events.wait()
    err = events.stderr.read()
    events.stderr.close()
    assert code == 1, err
    assert "Traceback" not in err and "cannot write" not in err


def _until_reader_leaves(args: list[str], enough: Callable[[str], bool]) -> tuple[int, str]:
    """Run `workbench ARGS`, read its stdout until `enough(line)`, close it (the reader
    leaves while the command has nothing new to write); its exit status and stderr."""
    proc = subprocess.Popen(
        [str(WORKBENCH), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        for line in proc.stdout:
            if enough(line):
                break
        proc.stdout.close()
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    err = proc.stderr.read()
    proc.stderr.close()
    return code, err


def test_a_quiet_events_stops_when_its_reader_leaves() -> None:
    """`events --json | head` with nothing happening (connected, every VM reported): the
    command ends within a second of the reader leaving (exit 1, nothing said), not at the
    next event, which may never come."""
    seen: set[str] = set()

    def everything_said(line: str) -> bool:
        record = json.loads(line)
        seen.add("connected" if record.get("connection") == "connected" else record["to"])
        return seen == {"connected", "running"}

    code, err = _until_reader_leaves(
        ["events", "--json", "--connect", "test:///default"], everything_said
    )
    assert (code, err) == (1, "")


def test_a_quiet_follow_stops_when_its_reader_leaves(tmp_path: Path) -> None:
    """`logs -f | head` on a log that does not grow: ends once the reader has left (exit 1)."""
    from tests.conftest import sample_log

    log = sample_log(tmp_path / "sample.log")
    code, err = _until_reader_leaves(["logs", "-f", "--json", str(log)], lambda _line: True)
    assert (code, err) == (1, "")


# -- 6. under --json, every refusal is a workbench.error/1 document on stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--root", "{a}", "probe", "--root", "{b}", "--json"], "two different --root"),
        (["probe", "--root", "{a}", "--capture", "{c}", "--json"], "not both"),
        (["probe", "--capture", "{c}", "--connect", "test:///default", "--json"], "recorded"),
        (["probe", "--json", "--lg-resolution", "0x0"], "--lg-resolution"),
        (["probe", "--json", "--timeout", "x"], "--timeout"),
        (["probe", "--format", "json", "--bogus"], "unrecognized arguments"),
        (["probe", "--format=json", "--timeout", "x"], "--timeout"),
        (["logs", "/nonexistent", "--json"], "/nonexistent: no such file"),
        (["logs", "{a}", "--json", "--level", "loud"], "--level"),
        (["logs", "--json"], "no Workbench log yet"),
        (["events", "--json", "--connect", "qemu:// bad"], "no spaces"),
        (["events", "--json", "--connect", HALF_READ], "percent-encode"),
        (["--allow-actions", "diff", "{c}", "{c}", "--json"], "--allow-actions"),
    ],
)
def test_every_json_refusal_is_a_document(
    args: list[str], message: str, make_root: MakeRoot, archive: Path
) -> None:
    """Exit 2 with --json: one line on stderr, and one workbench.error/1 object on stdout
    saying the same (a script reading stdout learns why, not nothing)."""
    values = {"a": make_root(ROOT_MACHINE), "b": make_root("mapmanagement-b550-chipset-gpu")}
    proc = _run(*(a.format(c=archive, **values) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.splitlines()[-1]
    assert len(proc.stdout.splitlines()) == 1, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "workbench.error/1"
    assert message in doc["error"]["message"]
    assert doc["error"]["context"][-1].startswith("cli::"), doc


# -- 7. --allow-actions before a verb that does not act


@pytest.mark.parametrize(
    "args",
    [
        ["probe", "--root", "{root}"],
        ["logs", "{root}/proc/cmdline"],
        ["diff", "{c}", "{c}"],
        ["capture", "--root", "{root}", "-o", "{out}"],
        ["open", "{c}"],
        ["events", "--connect", "test:///default"],
    ],
)
def test_allow_actions_before_a_verb_that_does_not_act_is_refused(
    args: list[str], make_root: MakeRoot, archive: Path, tmp_path: Path
) -> None:
    """`workbench --allow-actions probe ...` is refused (exit 2, one line), not ignored; the
    command does not run."""
    values = {"root": make_root(ROOT_MACHINE), "c": archive, "out": tmp_path / "new.tar.gz"}
    proc = _run("--allow-actions", *(a.format(**values) for a in args), timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.endswith("--allow-actions does not apply here\n"), proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "new.tar.gz").exists()


def test_allow_actions_before_vm_is_accepted() -> None:
    """`workbench --allow-actions vm ...` acts: the verb acts anyway, so the option is moot."""
    proc = run_cli("--allow-actions", "vm", "suspend", "test", "--connect", "test:///default")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "suspend test: done\n"


def test_an_io_error_that_is_not_the_outputs_is_not_said_to_be(tmp_path: Path) -> None:
    """An EIO from what a command reads (a failing disk, which cannot exist here: the probe
    verb is replaced by one raising it) is one line naming the file, not "cannot write the
    output": exit 1, no traceback."""
    script = tmp_path / "run.py"
    script.write_text(
        "import errno, sys\n"
        "import workbench.commands.probe as probe\n"
        "def run(args):\n"
        "    raise OSError(errno.EIO, 'Input/output error', '/var/log/disk.log')\n"
        "probe.run = run\n"
        "from workbench.cli import main\n"
        "sys.exit(main(['probe']))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == "workbench: probe: Input/output error (/var/log/disk.log)\n"
