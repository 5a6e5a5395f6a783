"""Shell completion: `workbench completion bash|zsh` and the scripts `make setup` installs, run
in a real bash (and bash-completion's loader) and a real zsh on a pseudo-terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, WORKBENCH, run_cli
from workbench.docs import completion
from workbench.docs.install import COMPLETIONS

VENV = WORKBENCH.parent.parent
BASH_SCRIPT = VENV / COMPLETIONS["bash"]
ZSH_DIR = (VENV / COMPLETIONS["zsh"]).parent
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
ZSH_DRIVER = REPO / "tests" / "data" / "zsh_complete.zsh"
needs_zsh = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")

# (words typed, what completion must offer): verbs, options, choices, files and directories.
CASES = [
    ("workbench pro", {"probe"}),
    ("workbench probe --for", {"--format"}),
    ("workbench probe --format ", {"text", "json", "prometheus", "vhv"}),
    ("workbench logs --color ", {"auto", "always", "never"}),
    ("workbench completion ", {"bash", "zsh"}),
    ("workbench --root a", {"adir"}),  # a directory only
    ("workbench probe --root a", {"adir"}),
    ("workbench probe --capture a", {"adir", "afile.tar.gz"}),
    ("workbench explain --sos a", {"adir", "afile.tar.gz"}),
    ("workbench fleet a", {"adir", "afile.tar.gz"}),
    ("workbench open a", {"adir", "afile.tar.gz"}),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A working directory with one directory and one file starting with `a`."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile.tar.gz").write_bytes(b"")
    (tmp_path / "bfile").write_bytes(b"")
    return tmp_path


def bash_complete(setup: str, typed: str, cwd: Path) -> set[str]:
    """What bash offers for `typed` (COMPREPLY of the script's function), after `setup`."""
    words = typed.split(" ")
    program = (
        f"{setup}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={shlex.quote(typed)}; COMP_POINT=${{#COMP_LINE}}\n"
        '$(complete -p workbench | sed -E "s/.*-F ([^ ]+) .*/\\1/") workbench\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {line.rstrip("/") for line in done.stdout.splitlines() if line}


def test_installed_scripts_are_the_generated_ones() -> None:
    """`make setup` installed each shell's script as the parser gives it now (else: run it)."""
    for shell, relative in COMPLETIONS.items():
        installed = (VENV / relative).read_text(encoding="utf-8")
        assert installed == completion.script(shell), f"{shell}: run `make setup`"


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_completion_verb_prints_the_script(shell: str) -> None:
    """`workbench completion SHELL` prints that shell's script, exit 0, nothing on stderr."""
    done = run_cli("completion", shell)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == completion.script(shell)


def test_completion_of_an_unknown_shell_is_refused() -> None:
    """Only bash and zsh: anything else is bad usage (exit 2) naming the choices."""
    done = run_cli("completion", "fish")
    assert done.returncode == 2
    assert "argument SHELL: invalid choice: 'fish'" in done.stderr
    assert "bash" in done.stderr and "zsh" in done.stderr
    assert done.stdout == ""


def test_every_file_argument_completes_files() -> None:
    """Each --root is a directory, each --capture/--sos/-o and file positional a file."""
    from workbench.cli import build_parser

    kinds = {
        (action.dest, completion.path_kind(action))
        for action in completion._actions(build_parser())
        if action.dest in ("root", "global_root", "capture", "sos", "output", "files", "paths")
    }
    assert kinds == {
        ("root", "dir"),
        ("global_root", "dir"),
        ("capture", "file"),
        ("sos", "file"),
        ("output", "file"),
        ("files", "file"),
        ("paths", "file"),
    }


@pytest.mark.parametrize(("typed", "offered"), CASES)
def test_bash_completes(files: Path, typed: str, offered: set[str]) -> None:
    """A real bash with the installed script offers exactly these words."""
    assert bash_complete(f"source {shlex.quote(str(BASH_SCRIPT))}", typed, files) == offered


def test_bash_completes_from_the_verbs_output(files: Path) -> None:
    """`source <(workbench completion bash)`, as the README says, is enough."""
    setup = f"source <({shlex.quote(str(WORKBENCH))} completion bash)"
    assert bash_complete(setup, "workbench ser", files) == {"serve"}


@pytest.mark.skipif(not BASH_COMPLETION.is_file(), reason="bash-completion is not installed")
def test_bash_completion_loads_the_installed_script_on_demand(files: Path) -> None:
    """bash-completion's own loader finds .venv/share/bash-completion through XDG_DATA_DIRS."""
    setup = (
        f"export XDG_DATA_DIRS={shlex.quote(str(VENV / 'share'))}:/usr/share\n"
        f"source {BASH_COMPLETION}\n"
        "__load_completion workbench"
    )
    assert bash_complete(setup, "workbench vm s", files) == {"start", "shutdown", "suspend"}


@needs_zsh
def test_zsh_accepts_the_script() -> None:
    """`zsh -n` parses the installed _workbench without an error."""
    done = subprocess.run(
        ["zsh", "-n", str(ZSH_DIR / "_workbench")], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")


@needs_zsh
@pytest.mark.parametrize(("typed", "offered"), [CASES[0], CASES[1], CASES[2], CASES[5], CASES[7]])
def test_zsh_completes(files: Path, tmp_path: Path, typed: str, offered: set[str]) -> None:
    """An interactive zsh (zpty), compinit on the installed directory, offers these words."""
    out = tmp_path / "offered.txt"
    env = {**os.environ, "HOME": str(tmp_path)}  # no user's .zcompdump or history
    subprocess.run(
        ["zsh", "-f", str(ZSH_DRIVER), str(ZSH_DIR), str(out), typed],
        cwd=files,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "READY"
    assert set(lines[1:]) == offered


def test_readme_says_the_lines_these_tests_run() -> None:
    """The README's two lines are the ones tested here: the verb's output, the installed dir."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "source <(workbench completion bash)" in readme
    assert f"fpath=(/path/to/.venv/{COMPLETIONS['zsh'].parent} $fpath)" in readme
