"""The README's "Five things to try", run as a new user runs them: the commands are read from the
tour's fenced block, run in a fresh directory in order (the TUI in tmux, `serve` on a free port),
and each one's output and exit status are checked; `demo --write DIR` itself."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, WORKBENCH, run_cli
from tests.serve_helpers import free_port, shown_until, wait_port
from tests.test_ui_tmux import keys, start_session, wait_for

SECTION = "## Five things to try"
CAUSE = "GROUP_MEMBER_NOT_VFIO"
TITLE = "Another device of the IOMMU group is on a host driver"
REMEDY = "Bind every device of the group"


def tour_commands(readme: str) -> list[list[str]]:
    """The commands of the tour section's ```sh blocks, comments dropped, in order."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def tour_outputs(readme: str) -> list[str]:
    """The lines of output the tour quotes (its ```text blocks), stripped, blank ones dropped."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^ *```text\n(.*?)^ *```", section, flags=re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


README = (REPO / "README.md").read_text()
COMMANDS = tour_commands(README)


def verb(words: list[str]) -> str:
    """What a tour command is, for its check: `demo`, `demo --write`, `explain`, ..."""
    rest = words[1:]
    if rest[:1] == ["demo"] and "--write" in rest:
        return "demo --write"
    return " ".join(w for w in rest[:2] if w.startswith("--") or w == rest[0])


def argv(words: list[str]) -> list[str]:
    """The command as the README says it, `.venv/bin/workbench` being this checkout's."""
    assert words[0] == ".venv/bin/workbench", f"the tour runs the venv's workbench: {words}"
    return [str(WORKBENCH), *words[1:]]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new user's directory and environment (empty cache and state), after the tour's
    `demo --write` lines ran there: each exits 0 and says what it wrote."""
    home = tmp_path_factory.mktemp("tour")
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".state"),
    }
    writes = [w for w in COMMANDS if verb(w) == "demo --write"]
    assert writes, "the tour writes its files first (demo --write DIR)"
    for words in writes:
        done = subprocess.run(
            argv(words), cwd=home, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "sosreport" in done.stdout and "QEMU log" in done.stdout
    return home, env


def run(words: list[str], fresh: tuple[Path, dict[str, str]]) -> subprocess.CompletedProcess[str]:
    home, env = fresh
    return subprocess.run(
        argv(words), cwd=home, env=env, capture_output=True, text=True, timeout=180
    )


def check_demo(words: list[str], fresh: tuple[Path, dict[str, str]]) -> None:
    home, env = fresh
    inner = f"cd {shlex.quote(str(home))} && exec {shlex.join(argv(words))}"
    keep = {k: env[k] for k in ("XDG_CACHE_HOME", "XDG_STATE_HOME")}
    name = start_session(f"sh -c {shlex.quote(inner)}", keep)
    try:
        wait_for(name, f"cause: {TITLE}")  # the overview leads with it
        keys(name, "v")  # the keys the README names
        shown = wait_for(name, "Why media-server did not start")
        assert "start failed" in shown and "group 11 is not viable" in shown
        assert f"→ {REMEDY}" in shown
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def check_explain(words: list[str], fresh: tuple[Path, dict[str, str]]) -> None:
    done = run(words, fresh)
    assert done.returncode == 1, done.stderr  # a cause
    first = done.stdout.splitlines()[:2]
    assert TITLE in first[0] and CAUSE in first[1]  # the most likely cause first
    assert "group 11 is not viable" in done.stdout and "snd_hda_intel 0000:04:00.1" in done.stdout
    assert f"→ {REMEDY}" in done.stdout


def check_probe_sos(words: list[str], fresh: tuple[Path, dict[str, str]]) -> None:
    done = run(words, fresh)
    assert done.returncode == 1, done.stderr  # a probe failed
    assert "host demo-workstation" in done.stdout.splitlines()[0]
    failed = [line for line in done.stdout.splitlines() if "FAIL" in line]
    assert any("libvirt.domains" in line for line in failed), done.stdout
    assert "IOMMU group 11 is not viable" in done.stdout and "snd_hda_intel" in done.stdout
    assert "not in this sosreport" in done.stdout  # what it lacks is said, not judged


def check_fleet(words: list[str], fresh: tuple[Path, dict[str, str]]) -> None:
    done = run(words, fresh)  # piped: the table
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("Fleet of 4 machines")
    causes = done.stdout.split("\ncauses:\n", 1)[1]
    shared = f"{CAUSE}: demo-workstation, duo-z370 (2)"
    assert shared in causes
    quoted = tour_outputs(README)  # what the README shows of it is what it prints, exactly
    tail = done.stdout.split("\nfailing probes:\n", 1)[1]
    shown = ["failing probes:", *(line.strip() for line in tail.splitlines() if line.strip())]
    assert quoted == shown


def check_serve_demo(words: list[str], fresh: tuple[Path, dict[str, str]]) -> None:
    import aiohttp

    home, env = fresh
    port = free_port()
    command = [*argv(words), "--port", str(port)]
    proc = subprocess.Popen(
        command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            assert page.status == 200
            assert "xterm" in page.read().decode()

        async def tab() -> str:  # a browser tab's session: the demo's workbench
            origin = f"http://127.0.0.1:{port}"
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"ws://127.0.0.1:{port}/ws", origin=origin) as ws,
            ):
                return await shown_until(ws, "cause: Another device")

        assert "vm.preflight" in asyncio.run(tab())
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as the README says
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


CHECKS: dict[str, Callable[[list[str], tuple[Path, dict[str, str]]], None]] = {
    "demo": check_demo,
    "explain": check_explain,
    "probe --sos": check_probe_sos,
    "fleet": check_fleet,
    "serve --demo": check_serve_demo,
}


def test_the_tour_has_its_five_commands() -> None:
    """The tour's block holds the five things (and the line writing their files), no other."""
    verbs = [verb(w) for w in COMMANDS]
    assert sorted(set(verbs)) == sorted({"demo --write", *CHECKS}), verbs


@pytest.mark.parametrize(
    "words", [w for w in COMMANDS if verb(w) != "demo --write"], ids=lambda w: verb(w)
)
def test_a_tour_command_shows_what_the_readme_says(
    words: list[str], fresh: tuple[Path, dict[str, str]]
) -> None:
    """Each command of the tour, run as written in a fresh directory, shows the demo's cause
    (GROUP_MEMBER_NOT_VFIO: the audio on snd_hda_intel, group 11 not viable) its own way."""
    check = CHECKS.get(verb(words))
    assert check is not None, f"the tour has a command this test does not know: {words}"
    check(words, fresh)


def test_demo_write_into_a_file_is_refused(tmp_path: Path) -> None:
    """`demo --write FILE` where FILE is a regular file: one line on stderr, exit 2."""
    target = tmp_path / "taken"
    target.write_text("mine\n")
    out = run_cli("demo", "--write", str(target), env={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"workbench: demo --write: {target} is a file, not a folder\n"
    assert out.stderr.count("\n") == 1 and target.read_text() == "mine\n"


def test_demo_write_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    """A link put at one of its names in a folder it made is replaced by the file, its target
    left untouched; written twice, the files are the same."""
    out_dir, elsewhere = tmp_path / "tour", tmp_path / "elsewhere.log"
    elsewhere.write_text("not the demo's\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "c")}
    assert run_cli("demo", "--write", str(out_dir), env=env).returncode == 0
    (out_dir / "kernel.log").unlink()
    (out_dir / "kernel.log").symlink_to(elsewhere)
    first = run_cli("demo", "--write", str(out_dir), env=env)
    assert first.returncode == 0, first.stderr
    assert elsewhere.read_text() == "not the demo's\n"
    kernel = out_dir / "kernel.log"
    assert not kernel.is_symlink() and "snd_hda_intel 0000:04:00.1" in kernel.read_text()
    before = {p.relative_to(out_dir): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    assert run_cli("demo", "--write", str(out_dir), env=env).returncode == 0
    after = {p.relative_to(out_dir): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    assert after == before and len(after) == 8  # 2 logs, sosreport, 4 machines, the marker


def test_demo_write_with_sos_or_fleet_is_refused(tmp_path: Path) -> None:
    """`demo --write DIR --sos`: the two ask for different things: exit 2, nothing written."""
    out = run_cli("demo", "--write", str(tmp_path / "t"), "--sos")
    assert out.returncode == 2 and "--write DIR writes the files" in out.stderr
    assert not (tmp_path / "t").exists()
