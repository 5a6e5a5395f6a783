"""`workbench explain` as a user runs it: inputs in any mixture, text and JSON, exit codes,
bad input refused in one line, a machine's facts and logs."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH, run_cli
from workbench.explain.model import SCHEMA

MEMLOCK = "[  365.159219] vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded"
BAR = "[    1.234567] vfio-pci 0000:0b:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff]"
CPU = "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.80000001H:ECX.svm"
PLAIN = "[    0.000000] Linux version 6.8.0 (buildd@lcy02) #1 SMP"


def explain(
    *args: str, stdin: Any = subprocess.DEVNULL, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return run_cli("explain", *args, stdin=stdin, **kw)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for word in words:
        assert word in proc.stderr


def test_text_names_cause_evidence_and_remedy(tmp_path: Path) -> None:
    """Text output: title, code, confidence, subject, evidence line, remedy, summary; exit 1."""
    proc = explain(str(write(tmp_path / "dmesg.txt", PLAIN, BAR, PLAIN)), "--color", "never")
    assert proc.returncode == 1
    out = proc.stdout
    assert "A boot framebuffer" in out and "BOOT_FB_HOLDS_BAR" in out
    assert "confidence 0." in out and "bdf=0000:0b:00.0" in out
    assert f"    2: {BAR}" in out  # one input: line numbers alone
    assert "initcall_blacklist=sysfb_init" in out
    # the line is ambiguous: its other candidate (another owner of the range) comes second
    assert out.splitlines()[-1] == "3 lines read, 2 causes"
    assert "\x1b[" not in out


def test_benign_only_is_exit_0_and_marked_harmless(tmp_path: Path) -> None:
    """A harmless warning alone: exit 0, shown after the separator, marked harmless."""
    proc = explain(str(write(tmp_path / "qemu.log", CPU)), "--color", "never")
    assert proc.returncode == 0
    assert "harmless" in proc.stdout.splitlines()[0]
    assert "CPU_MODEL_FEATURE_MISMATCH · harmless" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 line read, no cause found, 1 harmless"


def test_nothing_found_is_exit_0(tmp_path: Path) -> None:
    """Lines with no cause: exit 0 and a summary that says so."""
    proc = explain(str(write(tmp_path / "ok.log", PLAIN, PLAIN)))
    assert (proc.returncode, proc.stdout) == (0, "2 lines read, no cause found\n")


def test_json_is_the_explain_document(tmp_path: Path) -> None:
    """--json prints workbench.explain/1: lines, causes real before benign, evidence lines."""
    path = write(tmp_path / "mixed.log", CPU, PLAIN, MEMLOCK)
    proc = explain("--json", str(path))
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert (doc["schema"], doc["lines"]) == (SCHEMA, 3)
    codes = [c["code"] for c in doc["causes"]]
    assert codes == ["MEMLOCK_LIMIT", "CPU_MODEL_FEATURE_MISMATCH"]
    first = doc["causes"][0]
    assert set(first) >= {
        "code",
        "title",
        "severity",
        "benign",
        "confidence",
        "subject",
        "evidence",
        "remedy",
        "references",
    }
    assert first["evidence"][0]["line"] == 3 and first["evidence"][0]["text"] == MEMLOCK
    assert first["subject"] == {"limit": "4194304"}


def test_inputs_in_any_mixture(tmp_path: Path) -> None:
    """A plain file, gzip and xz (known by content, whatever the name) and stdin together;
    evidence says FILE:LINE."""
    plain = write(tmp_path / "plain.log", PLAIN)
    gz = tmp_path / "kern.log"  # gzip under a plain name
    gz.write_bytes(gzip.compress(f"{PLAIN}\n{BAR}\n".encode()))
    xz = tmp_path / "qemu.txt.gz"  # xz under a misleading name
    xz.write_bytes(lzma.compress(f"{CPU}\n".encode()))
    proc = explain(
        str(plain), str(gz), "-", str(xz), "--color", "never", input=MEMLOCK + "\n", stdin=None
    )
    assert proc.returncode == 1, proc.stderr
    assert f"{gz}:2: {BAR}" in proc.stdout
    assert f"-:1: {MEMLOCK}" in proc.stdout
    assert f"{xz}:1: {CPU}" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "5 lines read, 3 causes, 1 harmless"


def test_stdin_redirected_from_a_file_without_dash(tmp_path: Path) -> None:
    """No FILE and stdin redirected from a (gzip) file: stdin is read."""
    path = tmp_path / "dmesg.gz"
    path.write_bytes(gzip.compress(f"{MEMLOCK}\n".encode()))
    with path.open("rb") as stdin:
        proc = explain("--json", stdin=stdin)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["causes"][0]["code"] == "MEMLOCK_LIMIT"


def test_large_stdin_file_read_whole_or_from_where_it_stands(tmp_path: Path) -> None:
    """A large file behind `<` is explained like the same FILE (grep may read it); one whose
    start was already read by the caller is explained from where it stands."""
    path = tmp_path / "big.log"
    filler = PLAIN + "\n"
    path.write_text(MEMLOCK + "\n" + filler * 80_000 + BAR + "\n")
    by_name = json.loads(explain("--json", str(path)).stdout)
    with path.open("rb") as stdin:
        whole = json.loads(explain("--json", stdin=stdin).stdout)
    for cause in by_name["causes"]:
        for ev in cause["evidence"]:
            ev["source"] = "-"
    assert whole == by_name
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, len(MEMLOCK) + 1)  # the first line, taken by whoever ran us
        rest = json.loads(explain("--json", stdin=fd).stdout)
    finally:
        os.close(fd)
    assert rest["lines"] == whole["lines"] - 1
    assert [c["code"] for c in rest["causes"]] == ["BOOT_FB_HOLDS_BAR", "BAR_RESERVED_BY_OTHER"]


def test_stdin_pipe_without_dash() -> None:
    """No FILE and a pipe on stdin: the pipe is read."""
    proc = explain("--json", input=BAR + "\n", stdin=None)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["lines"] == 1


def test_nothing_to_read_is_a_usage_error() -> None:
    """No FILE, no stdin pipe, no machine: exit 2 saying what to give; --json has the error."""
    proc = explain()
    one_line_error(proc, "nothing to read", "FILE", "--root")
    proc = explain("--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["schema"] == "workbench.error/1"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: str(tmp), ("is a directory",)),
        (lambda tmp: "/dev/zero", ("not a regular file", "give -")),
        (lambda tmp: str(tmp / "missing.log"), ("no such file",)),
        (lambda tmp: "/proc/kmsg", ("dmesg",)),
        (lambda tmp: "", ("empty FILE name",)),
        (lambda tmp: (os.mkfifo(tmp / "fifo"), str(tmp / "fifo"))[1], ("not a regular file",)),
    ],
    ids=["directory", "dev-zero", "missing", "proc-kmsg", "empty-name", "fifo"],
)
def test_unreadable_inputs_refused_in_one_line(
    tmp_path: Path, make: Any, words: tuple[str, ...]
) -> None:
    """A directory, a device, a FIFO (that may never end), a missing file or /proc/kmsg (whose
    reads take syslog's messages): exit 2, one line, nothing read, not even the good inputs."""
    good = write(tmp_path / "good.log", MEMLOCK)
    proc = explain(str(good), make(tmp_path))  # run_cli's time limit: no wait on the FIFO
    one_line_error(proc, *words)
    assert proc.stdout == ""


def test_corrupt_gzip_is_unreadable(tmp_path: Path) -> None:
    """A truncated gzip file: exit 2, one line naming it."""
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress((MEMLOCK + "\n").encode() * 1000)[:200])
    one_line_error(explain(str(path)), "cut.gz", "cannot be read")


def test_stdin_twice_is_a_usage_error(tmp_path: Path) -> None:
    """- given twice: exit 2."""
    one_line_error(explain("-", "-"), "only once")


def test_stdin_closed() -> None:
    """- with standard input closed (`<&-`): exit 2, one line."""
    proc = subprocess.run(
        [str(WORKBENCH), "explain", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None,
        preexec_fn=lambda: os.close(0),  # `<&-`
        check=False,
    )
    one_line_error(proc, "standard input is closed")


def test_hostile_text_is_escaped(tmp_path: Path) -> None:
    """Terminal controls in a line and in a file name are shown escaped, never sent raw."""
    name = tmp_path / "evil\x1b[2J.log"
    write(name, "\x1b]0;pwned\x07" + MEMLOCK + "\x1b[31m")
    proc = explain(str(name), "-", stdin=None, input="\x1b[2J" + BAR + "\n")
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout
    assert "\\x1b]0;pwned" in proc.stdout
    missing = explain(str(tmp_path / "gone\x1b[2J.log"))
    assert "\x1b" not in missing.stderr and "\\x1b[2J" in missing.stderr


@pytest.mark.parametrize(
    ("flag", "env", "painted"),
    [
        ("always", {}, True),
        ("never", {}, False),
        ("auto", {}, False),
    ],
)
def test_colour(tmp_path: Path, flag: str, env: dict[str, str], painted: bool) -> None:
    """--color always paints (a pipe is not a terminal: auto does not), never does not."""
    proc = explain(str(write(tmp_path / "a.log", MEMLOCK)), "--color", flag, env=env)
    assert ("\x1b[31m" in proc.stdout) is painted


def test_ascii_terminal_gets_ascii_marks(tmp_path: Path) -> None:
    """A stdout that can only show ASCII gets stand-ins for the marks, nothing unreadable."""
    path = write(tmp_path / "a.log", MEMLOCK, CPU)
    proc = explain(str(path), env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
    assert proc.returncode == 1
    assert proc.stdout.isascii() and "\\x" not in proc.stdout
    assert "MEMLOCK_LIMIT - fail - confidence" in proc.stdout and "    -> Raise" in proc.stdout


def test_connect_does_not_apply() -> None:
    """explain reads no hypervisor: a global --connect is refused (exit 2)."""
    proc = run_cli("--connect", "test:///default", "explain", "-", stdin=subprocess.DEVNULL)
    one_line_error(proc, "--connect does not apply")


def test_machine_facts_rank_an_ambiguous_line(
    tmp_path: Path, make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """`group N is not viable` ranks by the machine: the GPU on nvidia names the host driver
    first; its audio on snd_hda_intel names the group member first."""
    line = write(tmp_path / "qemu.log", "vfio 0000:01:00.0: group 1 is not viable")
    gpu_host = json.loads(json.dumps(minimal_facts))
    gpu_host["devices"][2]["driver"] = "nvidia"
    audio_host = json.loads(json.dumps(minimal_facts))
    audio_host["devices"][3]["driver"] = "snd_hda_intel"
    firsts = []
    for facts in (gpu_host, audio_host):
        root = make_root(facts)
        proc = explain("--root", str(root), "--json", str(line))
        assert proc.returncode == 1, proc.stderr
        firsts.append(json.loads(proc.stdout)["causes"][0]["code"])
    assert firsts == ["HOST_DRIVER_BOUND", "GROUP_MEMBER_NOT_VFIO"]


def test_machine_without_logs_says_not_recorded(
    make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """--root and no FILE, no log recorded: each absent log said on stderr, one line each, and
    nothing read is unreadable input (exit 2), never "no cause found"."""
    proc = explain("--root", str(make_root(minimal_facts)))
    assert proc.returncode == 2, proc.stderr
    assert "workbench: kernel log: not recorded: " in proc.stderr
    assert "workbench: qemu logs: not recorded" in proc.stderr
    assert "explain: nothing read: none of this machine's logs" in proc.stderr
    assert "Traceback" not in proc.stderr and "no cause found" not in proc.stdout
    assert "not recorded (not recorded" not in proc.stderr  # said once, not doubled
    doc = json.loads(explain("--root", str(make_root(minimal_facts)), "--json").stdout)
    not_read = doc["error"]["details"]["not_read"]
    assert {n["source"] for n in not_read} == {"kernel", "libvirt", "qemu"}
    assert all(n["why"].startswith("not recorded") for n in not_read)


def test_machine_with_one_log_read_keeps_exit_0(
    make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """--root with only a kernel log: it is read, the others said missing, exit 0 or 1 as ever."""
    root = make_root(minimal_facts)
    (root / "logs").mkdir(exist_ok=True)
    write(root / "logs/kernel.log", "[    0.000000] Linux version 6.8.0")
    proc = explain("--root", str(root))
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout.splitlines()[-1].endswith("(not read: qemu log, libvirt log)")


def test_machine_qemu_log_explained(make_root: Any, minimal_facts: dict[str, Any]) -> None:
    """--root and no FILE: a domain's QEMU log under var/log/libvirt/qemu is explained."""
    root = make_root(minimal_facts)
    logs = root / "var/log/libvirt/qemu"
    logs.mkdir(parents=True)
    write(
        logs / "win10.log",
        "2025-11-29 08:00:01.000+0000: starting up",
        "2025-11-29T08:00:03.000000Z qemu-system-x86_64: " + MEMLOCK[15:],
    )
    proc = explain("--root", str(root), "--json")
    if "this version cannot read it yet" in proc.stderr:
        pytest.skip("core.machinelogs.qemu_log is not implemented on this branch yet")
    assert proc.returncode == 1, proc.stderr
    cause = json.loads(proc.stdout)["causes"][0]
    assert cause["code"] == "MEMLOCK_LIMIT"
    assert cause["evidence"][0]["source"] == "qemu:win10"


def test_machine_kernel_log_explained(make_root: Any, minimal_facts: dict[str, Any]) -> None:
    """--root and no FILE: the recorded kernel log (logs/kernel.log) is explained."""
    root = make_root(minimal_facts)
    (root / "logs").mkdir(exist_ok=True)
    write(root / "logs/kernel.log", PLAIN, BAR)
    proc = explain("--root", str(root), "--json")
    if "this version cannot read it yet" in proc.stderr:
        pytest.skip("core.machinelogs.kernel_log is not implemented on this branch yet")
    assert proc.returncode == 1, proc.stderr
    cause = json.loads(proc.stdout)["causes"][0]
    assert cause["code"] == "BOOT_FB_HOLDS_BAR"
    assert cause["evidence"][0] == {"line": 2, "text": BAR, "source": "kernel"}


def test_bad_capture_is_exit_2(tmp_path: Path) -> None:
    """--capture of a file that is no capture: exit 2, one line."""
    bad = write(tmp_path / "bad.tar.gz", "not an archive")
    proc = explain("--capture", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_evidence_cases_read_without_a_crash(tmp_path: Path) -> None:
    """Every shared case's log, all in one input: read whole, exit 1, no traceback."""
    cases = Path(__file__).resolve().parents[2] / "shared" / "evidence" / "cases.jsonl"
    if not cases.exists():
        pytest.skip("../shared/evidence is absent")
    logs = [json.loads(line)["log"] for line in cases.read_text().splitlines() if line.strip()]
    path = write(tmp_path / "all.log", *logs)
    proc = explain("--json", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["lines"] == sum(len(log.splitlines()) for log in logs)


def test_explain_loads_no_textual(tmp_path: Path) -> None:
    """A whole `workbench explain` run stays off textual and rich (domain code, fast start)."""
    path = write(tmp_path / "a.log", MEMLOCK, CPU)
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        f"main(['explain', '--json', {str(path)!r}])\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert '"MEMLOCK_LIMIT"' in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"


LIBVIRT_SOCK = (
    "2026-11-29 08:00:01.000+0000: 812: error : virNetSocketNewConnectUNIX:703 : Failed to "
    "connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory"
)


def test_machine_libvirt_log_explained(make_root: Any, minimal_facts: dict[str, Any]) -> None:
    """--root and no FILE: libvirt's recorded log (logs/libvirt.log) is explained too."""
    root = make_root(minimal_facts)
    (root / "logs").mkdir(exist_ok=True)
    write(
        root / "logs/libvirt.log",
        "2026-11-29 08:00:00.000+0000: 812: info : starting",
        LIBVIRT_SOCK,
    )
    proc = explain("--root", str(root), "--json")
    assert proc.returncode == 1, proc.stderr
    causes = {c["code"]: c for c in json.loads(proc.stdout)["causes"]}
    cause = causes["LIBVIRT_DAEMON_NOT_RUNNING"]
    assert cause["evidence"][0] == {"line": 2, "text": LIBVIRT_SOCK, "source": "libvirt"}
    assert "libvirt log: not recorded" not in proc.stderr


def test_machine_without_libvirt_log_says_so_in_one_line(
    make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """--root without logs/libvirt.log: one stderr line says libvirt's log is not recorded."""
    proc = explain("--root", str(make_root(minimal_facts)))
    said = [line for line in proc.stderr.splitlines() if "libvirt log" in line]
    assert said and said[0].startswith("workbench: libvirt log: not recorded: "), proc.stderr
    assert len(said) == 1 and "Traceback" not in proc.stderr


def test_machine_kernel_log_with_its_middle_left_out_says_so(
    make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """--root with a long kernel log: its boot-time cause is found, and stderr says in one
    line that only its first and last lines were read."""
    root = make_root(minimal_facts)
    (root / "logs").mkdir(exist_ok=True)
    filler = "[  100.000000] usb 1-1: " + "z" * 76 + "\n"
    (root / "logs/kernel.log").write_text(BAR + "\n" + filler * 40_000)
    proc = explain("--root", str(root), "--json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["causes"][0]["code"] == "BOOT_FB_HOLDS_BAR"
    said = [line for line in proc.stderr.splitlines() if line.startswith("workbench: kernel log:")]
    assert len(said) == 1 and " bytes left out between)" in said[0], proc.stderr
    assert said[0].startswith("workbench: kernel log: its first ")


def test_journal_json_evidence_reads_as_its_message(tmp_path: Path) -> None:
    """A `journalctl -o json` record is shown by its MESSAGE (bytes decoded), tabs as spaces;
    --json keeps the record as written."""
    message = "vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded\tpid 7"
    record = json.dumps({"__REALTIME_TIMESTAMP": "1", "MESSAGE": list(message.encode())})
    path = write(tmp_path / "journal.json", record)
    out = explain(str(path), "--color", "never").stdout
    assert "1: vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded    pid 7" in out
    assert "__REALTIME_TIMESTAMP" not in out
    doc = json.loads(explain(str(path), "--json").stdout)
    assert doc["causes"][0]["evidence"][0]["text"] == record


def test_readme_names_every_json_key() -> None:
    """README's explain paragraph names every key a cause has in `--json` (subject_conflicts
    too)."""
    from workbench.explain.matcher import explain_text

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    start = readme.index("`workbench explain [FILE")
    paragraph = readme[start : readme.index("\n\n", start)]
    cause = explain_text("vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded").causes[0]
    missing = [key for key in cause.to_dict() if f'"{key}"' not in paragraph]
    assert missing == []


def test_the_machines_binding_outranks_an_older_log_line(
    tmp_path: Path, make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """The log says vfio-pci took the GPU at boot, sysfs says nvidia holds it now (a hook
    rebound it): the machine's binding decides, and the evidence is its sysfs link."""
    log = write(
        tmp_path / "dmesg.txt",
        "[    2.000000] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console",
        "vfio 0000:01:00.0: group 1 is not viable",
    )
    facts = json.loads(json.dumps(minimal_facts))
    facts["devices"][2]["driver"] = "nvidia"
    proc = explain("--root", str(make_root(facts)), "--json", str(log))
    first = json.loads(proc.stdout)["causes"][0]
    assert first["code"] == "HOST_DRIVER_BOUND", proc.stdout
    assert first["subject"]["driver"] == "nvidia"
    assert any(e["text"] == "0000:01:00.0 driver: nvidia" for e in first["evidence"])


def test_two_groups_not_viable_are_judged_each_by_its_device(
    tmp_path: Path, make_root: Any, minimal_facts: dict[str, Any]
) -> None:
    """A USB controller's group line, then the GPU's: each is its own cause, and the GPU's
    (on nvidia) names the host driver (it was folded into the USB controller's before)."""
    log = write(
        tmp_path / "qemu.log",
        "vfio 0000:00:14.0: group 4 is not viable",
        "vfio 0000:01:00.0: group 1 is not viable",
    )
    facts = json.loads(json.dumps(minimal_facts))
    facts["devices"][2]["driver"] = "nvidia"
    doc = json.loads(explain("--root", str(make_root(facts)), "--json", str(log)).stdout)
    gpu = [c for c in doc["causes"] if c["subject"].get("bdf") == "0000:01:00.0"]
    assert gpu and gpu[0]["code"] == "HOST_DRIVER_BOUND"
    assert gpu[0]["subject"]["driver"] == "nvidia"
    assert any(c["subject"].get("bdf") == "0000:00:14.0" for c in doc["causes"])
