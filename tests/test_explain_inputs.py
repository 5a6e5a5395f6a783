"""What `workbench explain` reads: every layout users paste reduced to its message, and junk
files read without a crash, in bounded time and memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from workbench.explain.lines import message
from workbench.explain.matcher import explain_text

BAR = "vfio-pci 0000:0b:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]"
JOURNAL_BYTES = json.dumps({"MESSAGE": list(BAR.encode()), "_PID": "1", "PRIORITY": "3"})

LAYOUTS = {
    "dmesg": f"[   12.345678] {BAR}",
    "dmesg without times": BAR,
    "dmesg -T": f"[Sat Nov 29 08:00:01 2025] {BAR}",
    "dmesg -x": f"kern  :err   : [   12.345678] {BAR}",
    "dmesg --raw": f"<3>[   12.345678] {BAR}",
    "dmesg --time-format iso": f"2025-11-29T08:00:01,123456+01:00 {BAR}",
    "journalctl short": f"Nov 29 08:00:01 pve kernel: {BAR}",
    "journalctl short, one-digit day": f"Feb  3 14:20:24 silpixa00400831 kernel: {BAR}",
    "journalctl short-iso": f"2025-11-29T08:00:01+0100 pve kernel: {BAR}",
    "journalctl short-iso-precise": f"2025-11-29T08:00:01.123456+01:00 pve kernel: {BAR}",
    "journalctl short-precise": f"Nov 29 08:00:01.123456 pve kernel: {BAR}",
    "journalctl short-monotonic": f"[   12.345678] pve kernel: {BAR}",
    "journalctl short-full": f"Sat 2025-11-29 08:00:01 CET pve kernel: {BAR}",
    "journalctl verbose": f"    MESSAGE={BAR}",
    "journalctl -o json": json.dumps({"MESSAGE": BAR, "_HOSTNAME": "pve", "SYSLOG_FACILITY": "0"}),
    "journalctl -o json, bytes": JOURNAL_BYTES,
    "kern.log with dmesg time": f"Feb  3 14:20:24 host kernel: [1408724.643268] {BAR}",
    "syslog RFC 5424": f"<4>1 2025-11-29T08:00:01.003Z pve kernel - - - {BAR}",
    "syslog RFC 5424 with data": f'<4>1 2025-11-29T08:00:01Z pve kernel - - [x@1 a="b"] {BAR}',
    "QEMU domain log": f"2025-11-29T08:00:03.000000Z {BAR}",
    "libvirt log": f"2025-11-29 08:00:01.000+0000: 1234: error : qemuProcessStart:7 : {BAR}",
    "virsh": f"error: {BAR}",
    "virt-manager": f"Error starting domain: {BAR}",
    "virt-manager traceback": f"libvirt.libvirtError: {BAR}",
    "virt-manager install, quoted": f"Unable to complete install: '{BAR}'",
    "Proxmox task log": f"TASK ERROR: {BAR}",
    "docker compose": f"windows  | {BAR}",
    "docker compose, glyph and bold": f"windows  | ❯ **{BAR}**",
    "docker json log": json.dumps({"log": BAR + "\n", "stream": "stderr"}),
    "kubectl --prefix": f"[pod/virt-launcher-win-x7/compute] {BAR}",
    "markdown quote": f"> {BAR}",
    "markdown nested quote and bullet": f"> > - {BAR}",
    "markdown numbered list": f"3. {BAR}",
    "markdown bold": f"**{BAR}**",
    "markdown inline code": f"`{BAR}`",
    "markdown bullet and code": f"* `{BAR}`",
    "shell prompt": f"root@pve:~# {BAR}",
    "shell prompt, bracketed": f"[root@host ~]# {BAR}",
    "shell prompt, dollar": f"$ {BAR}",
    "ANSI colours and CRLF": f"\x1b[1;31m{BAR}\x1b[0m\r",
    "no-break and zero-width spaces": f"\u200b{BAR}".replace(" ", "\u00a0", 1),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_reduced_to_the_message(layout: str) -> None:
    """Each layout users paste gives the bare message, and the cause it shows."""
    line = LAYOUTS[layout]
    assert message(line) == BAR
    assert explain_text(line).causes[0].code == "BOOT_FB_HOLDS_BAR"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("```", ""),
        ("```text", ""),
        ("~~~", ""),
        (
            "2025-11-29 08:00:01.000+0000: starting up libvirt version: 9.0.0",
            "starting up libvirt version: 9.0.0",
        ),
        (
            "2025-11-29T08:00:03.000000Z qemu-system-x86_64: vfio 0000:01:00.0: group 14 is not viable",
            "qemu-system-x86_64: vfio 0000:01:00.0: group 14 is not viable",
        ),
        (
            "Unable to complete install: 'internal error: Unknown PCI header type '127' for "
            "device '0000:01:00.0''",
            "internal error: Unknown PCI header type '127' for device '0000:01:00.0'",
        ),
        ("[  183.658047] vfio-pci 0000:43:00.0: reset", "vfio-pci 0000:43:00.0: reset"),
        ("the log says `group 3 is not viable` here", "the log says group 3 is not viable here"),
        ("{not json", "{not json"),
        ('{"MESSAGE": 5}', '{"MESSAGE": 5}'),
        ("", ""),
        ("\x00\x00", ""),
    ],
)
def test_message_odd_lines(line: str, expected: str) -> None:
    """Fences are empty, message text after a known prefix is kept whole, odd JSON is text."""
    assert message(line) == expected


def test_message_bounded_on_a_hostile_line() -> None:
    """A megabyte of prefix-like text is reduced in bounded time (only MAX_LINE is read)."""
    line = "> " * 500_000 + "[ 1.0] " * 100_000
    start = time.monotonic()
    message(line)
    assert time.monotonic() - start < 1.0


# Runs a command and writes its peak RSS (kB) to a file: from a small parent, since a child's
# peak starts at its parent's size when forked (and pytest's is large).
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(code)"
)


def run_explain(
    tmp_path: Path, *args: str, path_env: str | None = None
) -> tuple[int, str, str, float, int]:
    """`workbench explain ARGS` as a user runs it: exit code, stdout, stderr, seconds, and the
    peak RSS (kB) of it and its children (grep)."""
    env = {**os.environ}
    if path_env is not None:
        env["PATH"] = path_env
    rss = tmp_path / "rss.txt"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PEAK_RSS, str(rss), str(WORKBENCH), "explain", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - start,
        int(rss.read_text()),
    )


JUNK = {
    "binary junk": bytes(range(256)) * 4096,
    "ANSI codes": b"\x1b[31m\x1b]0;title\x07" + BAR.encode() + b"\x1b[0m\n" + b"\x1b[2J\x1bc\n",
    "CRLF": (BAR + "\r\n").encode() * 3,
    "empty": b"",
    "invalid UTF-8": b"\xff\xfe\xc3(" + BAR.encode() + b"\xed\xa0\x80\n",
    "NUL bytes": b"\x00" * 1000 + BAR.encode() + b"\x00\n\x00\x00\n",
    "no final newline": BAR.encode(),
    # a JSON-looking line nested deeper than Python's parser recurses (it raised RecursionError)
    "deeply nested JSON": b'{"MESSAGE":' + b"[" * 5000 + b" RLIMIT_MEMLOCK\n" + BAR.encode(),
}


@pytest.mark.parametrize("kind", list(JUNK))
def test_junk_files_read_without_a_crash(tmp_path: Path, kind: str) -> None:
    """Junk is read in bounded time: exit 0 or 1, no traceback, its cause still found."""
    path = tmp_path / "junk.log"
    path.write_bytes(JUNK[kind])
    code, out, err, seconds, _ = run_explain(tmp_path, "--json", str(path))
    assert "Traceback" not in err
    assert seconds < 30
    doc = json.loads(out)
    found = BAR.encode() in JUNK[kind]
    assert code == (1 if found else 0)
    assert [c["code"] for c in doc["causes"]][:1] == (["BOOT_FB_HOLDS_BAR"] if found else [])


def long_line_file(path: Path, megabytes: int) -> Path:
    with path.open("wb") as f:
        f.write(b"vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded\n")
        f.write(b"not viable " * (megabytes * 1024 * 1024 // 11))
        f.write(b"\n" + BAR.encode() + b"\n")
    return path


@pytest.mark.parametrize("grep", [True, False], ids=["grep", "python"])
def test_a_50_mb_line_in_bounded_time(tmp_path: Path, grep: bool) -> None:
    """A 50 MB single line (between two causes) costs a skip: bounded time, the causes around
    it still found and the lines counted, by either engine."""
    path = long_line_file(tmp_path / "long.log", 50)
    no_grep = None if grep else str(tmp_path / "no-grep")
    code, out, err, seconds, rss_kb = run_explain(tmp_path, "--json", str(path), path_env=no_grep)
    assert (code, err) == (1, "")
    doc = json.loads(out)
    assert doc["lines"] == 3
    assert {c["code"] for c in doc["causes"]} >= {"MEMLOCK_LIMIT", "BOOT_FB_HOLDS_BAR"}
    assert seconds < 30
    # grep holds a whole line (its peak is counted with ours): there memory is bounded by the
    # longest line, not by the file.
    assert rss_kb < 200 * 1024


def test_memory_does_not_grow_with_a_line(tmp_path: Path) -> None:
    """The Python engine's peak memory is the same for a 25 MB and a 50 MB line."""
    no_grep = str(tmp_path / "no-grep")
    small = long_line_file(tmp_path / "small.log", 25)
    large = long_line_file(tmp_path / "large.log", 50)
    *_, rss_small = run_explain(tmp_path, "--json", str(small), path_env=no_grep)
    *_, rss_large = run_explain(tmp_path, "--json", str(large), path_env=no_grep)
    assert rss_large - rss_small < 10 * 1024
