"""`--sos` from the command line to the report: every verb, its header, its errors (exit 2)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SHARED, WORKBENCH, run_cli
from tests.sosarchives import TOP, base_members, hostile, member, pack, report_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small sosreport directory."""
    (tmp_path / "src").mkdir()
    return report_tree(tmp_path / "src")


@pytest.fixture
def private(tmp_path: Path) -> Path:
    """A TMPDIR of its own, to see that nothing is left in it."""
    path = tmp_path / "private"
    path.mkdir()
    return path


def _bad_inputs() -> dict[str, tuple[Callable[[Path], Path], str, str]]:
    def fifo(p: Path) -> Path:
        os.mkfifo(p / "fifo")
        return p / "fifo"

    def empty(p: Path) -> Path:
        (p / "empty.tar.xz").write_bytes(b"")
        return p / "empty.tar.xz"

    def notsos_dir(p: Path) -> Path:
        (p / "etc").mkdir()
        return p

    def notsos_tar(p: Path) -> Path:
        (p / "etc").mkdir()
        (p / "etc/hosts").write_text("x\n")
        return pack(p / "etc", p / "etc.tar.xz")

    def truncated(p: Path) -> Path:
        src = p / "s"
        src.mkdir()
        (p / "t.tar.xz").write_bytes(pack(report_tree(src), p / "whole.tar.xz").read_bytes()[:300])
        return p / "t.tar.xz"

    def zipped(p: Path) -> Path:
        (p / "r.zip").write_bytes(b"PK\x03\x04" + bytes(100))
        return p / "r.zip"

    def leaving(p: Path) -> Path:
        link = member(f"{TOP}/etc", kind=tarfile.SYMTYPE, link="../../../etc")
        return hostile(p / "h.tar.xz", [*base_members(), link])

    return {
        "missing": (lambda p: p / "nope", "no such sosreport", "SOS_MISSING"),
        "fifo": (fifo, "a FIFO", "SOS_MISSING"),
        "device": (lambda p: Path("/dev/zero"), "a device", "SOS_MISSING"),
        "empty file": (empty, "an empty file", "SOS_NOT_A_REPORT"),
        "directory not a report": (notsos_dir, "not a sosreport", "SOS_NOT_A_REPORT"),
        "tarball not a report": (notsos_tar, "not a sosreport", "SOS_NOT_A_REPORT"),
        "truncated xz": (truncated, "truncated or corrupt", "SOS_REFUSED"),
        "zip": (zipped, "a zip archive", "SOS_REFUSED"),
        "link leaving": (leaving, "leaves the report's directory", "SOS_REFUSED"),
    }


BAD = _bad_inputs()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2(case: str, tmp_path: Path, private: Path) -> None:
    """Each bad --sos is one line on stderr, exit 2, no traceback, nothing left behind."""
    make, says, _ = BAD[case]
    path = make(tmp_path)
    for verb in (["probe"], ["explain"], ["logs", "--kernel"]):
        out = run_cli(*verb, "--sos", str(path), env={"TMPDIR": str(private)})
        assert out.returncode == 2, (verb, out.stdout, out.stderr)
        assert says in out.stderr
        assert out.stderr.count("\n") == 1
        assert "Traceback" not in out.stderr
        assert os.listdir(private) == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_under_json_is_the_error_document(case: str, tmp_path: Path) -> None:
    """probe --json prints workbench.error/1 with the refusal's code."""
    make, _, code = BAD[case]
    out = run_cli("probe", "--sos", str(make(tmp_path)), "--json")
    assert out.returncode == 2
    doc = json.loads(out.stdout)
    assert doc["schema"] == "workbench.error/1"
    assert doc["error"]["error"] == code


@pytest.mark.parametrize("packed", [False, True])
def test_probe_names_the_sosreport_its_version_and_host(
    tree: Path, tmp_path: Path, packed: bool
) -> None:
    """The text report's header says the sosreport as named, its sos version and its host."""
    named = str(pack(tree, tmp_path / "r.tar.xz")) if packed else str(tree)
    out = run_cli("probe", "--sos", named)
    assert out.returncode in (0, 1), out.stderr
    first = out.stdout.splitlines()[0]
    assert first.endswith(f"report for sosreport {named} (sos 4.5.6, host gpuhost)")
    assert "/workbench-sos-" not in out.stdout
    doc = json.loads(run_cli("probe", "--sos", named, "--json").stdout)
    assert doc["host"]["sosreport"] == named
    assert doc["host"]["sos_version"] == "4.5.6"
    assert doc["host"]["sos_hostname"] == "gpuhost"
    assert doc["host"]["hostname"] == "gpuhost"  # the machine's own name, as for a capture


def test_a_report_that_cannot_be_read_whole_is_still_judged(tree: Path) -> None:
    """Garbage lspci, a FIFO for /proc/cmdline and a link out of the report: problems said in
    the header and the JSON, no crash, no hang, no read outside the report."""
    (tree / "proc/cmdline").unlink()
    os.mkfifo(tree / "proc/cmdline")
    (tree / "sos_commands/kernel/dmesg").unlink()
    (tree / "sos_commands/kernel/dmesg").symlink_to("/etc/passwd")
    (tree / "sos_commands/pci/lspci_-nnvv").write_bytes(b"\x00\xff\x1b[2J garbage\n" * 50)
    out = run_cli("probe", "--sos", str(tree))
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert "\x1b[2J" not in out.stdout
    assert "in the sosreport: " in out.stdout
    doc = json.loads(run_cli("probe", "--sos", str(tree), "--json").stdout)
    assert any("cmdline" in p for p in doc["host"]["sos_problems"])
    assert "root:" not in json.dumps(doc)  # /etc/passwd was never read


def test_explain_reads_the_reports_kernel_log(tree: Path) -> None:
    """explain --sos with no FILE reads the report's own kernel log."""
    (tree / "sos_commands/kernel/dmesg").write_text(
        "[    5.000000] vfio-pci 0000:01:00.0: BAR 3: can't reserve [mem 0xf0000000-0xf1ffffff 64bit pref]\n"
    )
    out = run_cli("explain", "--sos", str(tree), "--json")
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == "workbench.explain/1"
    assert doc["lines"] >= 1


def test_logs_kernel_shows_the_reports_dmesg(tree: Path, tmp_path: Path) -> None:
    """logs --sos ARCHIVE --kernel prints the report's dmesg lines."""
    out = run_cli("logs", "--sos", str(pack(tree, tmp_path / "r.tar.gz", "w:gz")), "--kernel")
    assert out.returncode == 0, out.stderr
    assert "DMAR: IOMMU enabled" in out.stdout


@pytest.mark.parametrize("packed", [False, True])
def test_open_recognises_a_sosreport_by_content(tree: Path, tmp_path: Path, packed: bool) -> None:
    """`workbench open` takes a report (any file name) as --sos: it opens, then wants a terminal."""
    named = pack(tree, tmp_path / "customer-upload.bin") if packed else tree
    with Path(os.devnull).open() as nothing:  # no terminal: the refusal comes after opening
        out = run_cli("open", str(named), stdin=nothing)
    assert out.returncode == 2
    assert "needs a terminal" in out.stderr, out.stderr


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p, "not a sosreport (no sos_commands/), and a capture is a file"),
        (
            lambda p: pack(report_tree(p) / "proc", p / "x.tar.xz"),
            "neither a capture (no manifest.json) nor a sosreport",
        ),
        (lambda p: _write(p / "r.zst", b"(\xb5/\xfd" + bytes(64)), "zstd"),
    ],
)
def test_open_says_what_a_file_is_not(
    tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    """`workbench open` on neither a capture nor a report: one line, exit 2."""
    out = run_cli("open", str(make(tmp_path)))
    assert out.returncode == 2
    assert says in out.stderr
    assert out.stderr.count("\n") == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_sos_is_read_only(tree: Path) -> None:
    """--allow-actions with --sos is refused."""
    out = run_cli("--sos", str(tree), "--allow-actions", "serve")
    assert out.returncode == 2
    assert "read-only" in out.stderr


@pytest.fixture
def serve_sessions(tree: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """What `workbench serve --sos DIR` gives each tab."""
    from workbench.commands.serve import sessions_of

    args = argparse.Namespace(
        demo=False, allow_actions=False, root=None, capture=None, sos=str(tree), connect=None
    )
    with sessions_of(args) as session:
        yield session


def test_serve_gives_each_tab_the_translated_root(
    serve_sessions: tuple[list[str], dict[str, str]], tree: Path
) -> None:
    """Each tab reads the root made once by serve, titled as the sosreport, with no actions."""
    from workbench.serve.child import _config, _parser

    argv, env = serve_sessions
    assert env == {}
    assert "--allow-actions" not in argv
    root = Path(argv[argv.index("--root") + 1])
    assert (root / "manifest.json").is_file()
    assert argv[argv.index("--sos-name") + 1] == tree.name
    with _config(_parser().parse_args(argv[3:]), None) as config:
        assert config.title == f"Workbench — sosreport {tree.name}"
        assert not config.allow_actions
        assert config.root == str(root)


def test_diagnose_reads_a_sosreport(tree: Path) -> None:
    """The Python API's diagnose(sos=...) judges the report, named as given."""
    from workbench.api import diagnose

    diagnosis = diagnose(sos=tree)
    assert diagnosis.report.host["sosreport"] == str(tree)
    assert {r.id for r in diagnosis.report.probes} >= {"pci.gpus", "iommu.enabled"}


@pytest.mark.parametrize("command", ["probe", "explain"])
def test_sigterm_while_unpacking_removes_everything(
    command: str, tree: Path, tmp_path: Path, private: Path
) -> None:
    """SIGTERM while a report unpacks removes its private directory; exit non-zero, no
    traceback, as Ctrl-C does."""
    bulk = tree / "sos_commands/bulk"
    for i in range(4000):
        (bulk / str(i // 500)).mkdir(parents=True, exist_ok=True)
        (bulk / str(i // 500) / str(i)).write_text(f"{i}\n")
    archive = pack(tree, tmp_path / "big.tar.gz", "w:gz")
    proc = subprocess.Popen(
        [str(WORKBENCH), command, "--sos", str(archive)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
    )
    deadline = time.monotonic() + 30
    while not any(private.glob("workbench-sos-*/report/*/sos_commands/bulk/0")):
        assert proc.poll() is None, "finished before the tree was seen"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in err, err
    assert list(private.iterdir()) == []


def test_a_log_the_report_lacks_is_said_not_a_temp_path(tree: Path) -> None:
    """--kernel or --qemu NAME that the report does not hold: what to collect, exit 2, and
    never the path of its temporary root."""
    (tree / "sos_commands/kernel/dmesg").unlink()
    for source in (["--kernel"], ["--qemu", "win12"]):
        out = run_cli("logs", "--sos", str(tree), *source)
        assert out.returncode == 2
        assert "sos report -o" in out.stderr, out.stderr
        assert "workbench-sos-" not in out.stderr
        assert out.stderr.count("\n") == 1


def test_logs_with_no_source_shows_the_reports_kernel_log(tree: Path) -> None:
    """A sosreport holds no workbench log: `logs --sos` alone shows its kernel log."""
    out = run_cli("logs", "--sos", str(tree))
    assert out.returncode == 0, out.stderr
    assert "DMAR: IOMMU enabled" in out.stdout


def test_logs_refuses_a_file_and_follow_with_sos(tree: Path, tmp_path: Path) -> None:
    """A FILE beside --sos, or --follow of a report, is one line, exit 2."""
    log = tmp_path / "x.log"
    log.write_text("x\n")
    both = run_cli("logs", "--sos", str(tree), str(log))
    assert both.returncode == 2 and "not both" in both.stderr
    follow = run_cli("logs", "--sos", str(tree), "--kernel", "--follow")
    assert follow.returncode == 2 and "a sosreport never grows" in follow.stderr


HOTSOS = SHARED / "peer-data" / "hotsos-openstack"


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared/peer-data/hotsos-openstack absent")
def test_a_real_sos_4_2_report_is_named_and_judged() -> None:
    """The slice of a real sos 4.2 report: its version and host in the header, no probe broken."""
    out = run_cli("probe", "--sos", str(HOTSOS))
    assert out.returncode in (0, 1), out.stderr
    assert out.stdout.splitlines()[0].endswith(f"sosreport {HOTSOS} (sos 4.2, host compute4)")
    assert "  host compute4, kernel 5.4.0-97-generic" in out.stdout
    doc = json.loads(run_cli("probe", "--sos", str(HOTSOS), "--json").stdout)
    assert [p["id"] for p in doc["probes"] if p["status"] == "error"] == []


def test_a_virt_only_report_says_which_plugins_to_ask_for(tree: Path) -> None:
    """A report like `sos report -p virt` (no lspci, cmdline, dmesg): the header says what it
    lacks and the plugins to ask for; the JSON says it too."""
    for rel in ("sos_commands/pci/lspci_-nnvv", "proc/cmdline", "sos_commands/kernel/dmesg"):
        (tree / rel).unlink()
    out = run_cli("probe", "--sos", str(tree))
    assert (
        "  this sosreport lacks lspci -nnvv, the kernel command line, the kernel log: ask for "
        "`sos report -o pci,kernel,processor,memory,hardware,filesys,cgroups,block,process,"
        "libvirt,virsh,logs`" in out.stdout
    )
    doc = json.loads(run_cli("probe", "--sos", str(tree), "--json").stdout)
    assert doc["host"]["sos_lacks"] == ["lspci -nnvv", "the kernel command line", "the kernel log"]
    whole = run_cli("probe", "--sos", str(report_tree(tree.parent, top="sosreport-whole")))
    assert "this sosreport lacks" not in whole.stdout
