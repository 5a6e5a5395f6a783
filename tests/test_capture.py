"""Captures: collect a machine, open it elsewhere, get the same report; redaction; diff."""

from __future__ import annotations

import gzip
import json
import logging
import logging.handlers
import os
import re
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RECORDED, WORKBENCH
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, LOG_MEMBER, Collected, Source
from workbench.capture.unpack import open_capture
from workbench.core.host import Host
from workbench.demo import demo_environment


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WORKBENCH), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """What a report says, without durations, the root's path or the recorded marks."""
    return [
        (p["id"], p["status"], p["summary"].removesuffix(" (recorded)"), p["findings"])
        for p in report["probes"]
    ]


@pytest.mark.parametrize("machine", RECORDED)
def test_a_capture_reports_what_the_machine_reports(
    machine: str, make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """capture --root -> probe --capture gives the same verdicts, summaries and findings."""
    root = make_root(machine)
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    assert f"wrote {archive}" in made.stdout
    direct = cli("probe", "--root", str(root), "--json")
    opened = cli("probe", "--capture", str(archive), "--json")
    assert opened.returncode == direct.returncode, opened.stderr
    # The one difference: no hypervisor was named for either. The root is told to name one; the
    # capture, which cannot be given one, says none was recorded.
    said = {"libvirt.connection"}
    mine = [v for v in verdicts(json.loads(opened.stdout)) if v[0] not in said]
    assert mine == [v for v in verdicts(json.loads(direct.stdout)) if v[0] not in said]
    root_hv = next(p for p in json.loads(direct.stdout)["probes"] if p["id"] in said)
    capture_hv = next(p for p in json.loads(opened.stdout)["probes"] if p["id"] in said)
    assert (root_hv["status"], capture_hv["status"]) == ("skip", "skip")
    assert root_hv["summary"] == "no hypervisor for a machine root (pass --connect URI)"
    assert capture_hv["summary"] == "hypervisor not recorded: none was named at capture"


def test_a_capture_of_the_demo_hypervisor_holds_its_domains_and_agent_answers(
    tmp_path: Path,
) -> None:
    """The test-driver hypervisor and a real qemu-ga: the capture's libvirt probes say what the
    live ones said (marked recorded), and the TUI's VMs come from the recording."""
    with demo_environment(tmp_path / "demo") as env:
        live = cli("probe", "--root", str(env.root), "--connect", env.uri, "--json")
        archive = tmp_path / "demo.tar.gz"
        made = cli("capture", "--root", str(env.root), "--connect", env.uri, "-o", str(archive))
        assert made.returncode == 0, made.stderr
    opened = cli("probe", "--capture", str(archive), "--json")
    live_report, opened_report = json.loads(live.stdout), json.loads(opened.stdout)
    assert verdicts(opened_report) == verdicts(live_report)
    by_id = {p["id"]: p for p in opened_report["probes"]}
    assert by_id["libvirt.connection"]["facts"]["recorded"] is True
    assert by_id["libvirt.connection"]["summary"].endswith("(recorded)")
    names = [d["name"] for d in by_id["libvirt.domains"]["facts"]["domains"]]
    assert names == ["media-server", "truenas", "ubuntu-dev", "win11-gaming"]
    if by_id["guest.agent"]["status"] != "skip":  # qemu-ga installed: its answer was recorded
        assert by_id["guest.agent"]["facts"]["agents"]["win11-gaming"]["reachable"] is True


def archive_bytes(archive: Path) -> bytes:
    """Every byte of the archive, decompressed (names, links, contents, manifest)."""
    return gzip.decompress(archive.read_bytes())


def secret_source(make_root: Callable[..., Path]) -> Path:
    """A recorded machine whose hypervisor recording and log carry secrets."""
    root = make_root("asrock-z170-gtx960", hostname="bench-7.example.net")
    lib = root / "libvirt"
    (lib / "domains").mkdir(parents=True)
    (lib / "connection.json").write_text(
        json.dumps(
            {
                "uri": "qemu+ssh://admin:hunter2@bench-7.example.net/system",
                "hypervisor": "QEMU",
                "hypervisor_version": "8.2.0",
                "libvirt_version": "10.0.0",
                "hostname": "bench-7.example.net",
            }
        )
    )
    (lib / "domains.json").write_text(
        json.dumps([{"name": "win11", "state": 1, "reason": 1, "persistent": True}])
    )
    (lib / "domains" / "win11.xml").write_text(
        "<domain type='kvm'><name>win11</name><devices>"
        "<graphics type='vnc' port='5900' passwd='hunter2'/>"
        '<graphics type="spice" autoport="yes" passwd="hunter2"/>'
        "<interface type='bridge'><mac address='52:54:00:AB:cd:01'/></interface>"
        "<disk type='file'><serial>WD-WCC4N1234567</serial></disk>"
        "</devices></domain>"
    )
    return root


def test_secrets_never_reach_the_archive(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """passwd='hunter2' in domain XML, in a URI and in a log record: gone from every byte of the
    archive; the summary is printed and stored in the manifest."""
    root = secret_source(make_root)
    log = root / LOG_MEMBER  # a recorded root brings its own log
    log.parent.mkdir()
    log.write_text(
        json.dumps({"level": "info", "event": "connect", "uri": "spice://op:hunter2@10.0.0.5"})
        + "\n"
        + json.dumps({"level": "info", "event": "login", "password": "hunter2"})
        + "\n"
    )
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    assert b"hunter2" not in archive_bytes(archive)
    assert "passwords" in made.stdout and "uri credentials" in made.stdout
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    replaced = manifest["redaction"]["replaced"]
    assert replaced["passwords"] == 3 and replaced["uri credentials"] == 2, replaced
    # Nothing else was touched: the domain is still there, parseable, with its MAC.
    with open_capture(archive) as opened:
        xml = (opened / "libvirt/domains/win11.xml").read_text()
    assert "passwd='REDACTED'" in xml and "52:54:00:AB:cd:01" in xml


def test_optional_redaction_gives_consistent_pseudonyms(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """--redact hostnames,macs,serials: every occurrence replaced, the same value by the same
    token in every file; the report of the capture still works."""
    root = secret_source(make_root)
    (root / "libvirt/domains.json").write_text(
        json.dumps(
            [
                {"name": "win11", "state": 1, "reason": 1, "persistent": True},
                {"name": "nas", "state": 5, "reason": 0, "persistent": True},
            ]
        )
    )
    (root / "libvirt/domains/nas.xml").write_text(
        "<domain type='kvm'><name>nas</name><devices>"
        "<interface type='bridge'><mac address='52:54:00:ab:CD:01'/></interface>"
        "<interface type='bridge'><mac address='52:54:00:00:00:99'/></interface>"
        "</devices></domain>"
    )
    archive = tmp_path / "c.tar.gz"
    made = cli(
        "capture", "--root", str(root), "-o", str(archive), "--redact", "hostnames,macs,serials"
    )
    assert made.returncode == 0, made.stderr
    raw = archive_bytes(archive)
    for value in (b"bench-7", b"52:54:00:AB:cd:01", b"52:54:00:ab:CD:01", b"WD-WCC4N1234567"):
        assert value not in raw
    with open_capture(archive) as opened:
        win = (opened / "libvirt/domains/win11.xml").read_text()
        nas = (opened / "libvirt/domains/nas.xml").read_text()
        host = (opened / "proc/sys/kernel/hostname").read_text().strip()
        conn = json.loads((opened / "libvirt/connection.json").read_text())
    assert "<mac address='02:00:00:00:00:01'/>" in win
    assert "<mac address='02:00:00:00:00:01'/>" in nas  # the same MAC, any case: one token
    assert "<mac address='02:00:00:00:00:02'/>" in nas
    assert "<serial>serial-1</serial>" in win
    assert host == conn["hostname"] == "hostname-1"
    assert "distinct macs" in made.stdout
    opened_report = cli("probe", "--capture", str(archive), "--json")
    assert json.loads(opened_report.stdout)["probes"]


def test_an_unknown_redaction_kind_is_bad_usage(tmp_path: Path) -> None:
    out = cli("capture", "-o", str(tmp_path / "c.tar.gz"), "--redact", "macs,passwords")
    assert out.returncode == 2
    assert "unknown redaction passwords" in out.stderr
    assert not (tmp_path / "c.tar.gz").exists()


def test_a_hanging_collector_is_recorded_and_the_capture_completes(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A collector that never returns is abandoned at its deadline; the rest is written."""
    release = threading.Event()

    def hangs(_src: Source, out: Collected) -> None:
        out.tree.add_bytes("hang/partial", b"half")
        release.wait(60)

    collectors = {**COLLECTORS, "hangs": hangs}
    source = Source(Host(make_root("asrock-z170-gtx960")))
    started = time.monotonic()
    try:
        result = capture(source, tmp_path / "c.tar.gz", collectors=collectors, timeout_s=0.5)
    finally:
        release.set()
    assert time.monotonic() - started < 10
    entry = result.manifest["collectors"]["hangs"]
    assert entry["timed_out"] is True and "0.5 s" in entry["error"]
    assert result.manifest["collectors"]["pci"]["timed_out"] is False
    with open_capture(result.path) as root:
        assert not (root / "hang").exists()  # an abandoned collector's half is left out
        assert (root / "proc/cmdline").is_file()


def test_a_failing_collector_is_recorded_and_the_capture_completes(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    def breaks(_src: Source, _out: Collected) -> None:
        raise OSError(5, "Input/output error")

    source = Source(Host(make_root("asrock-z170-gtx960")))
    result = capture(source, tmp_path / "c.tar.gz", collectors={**COLLECTORS, "breaks": breaks})
    assert result.manifest["collectors"]["breaks"]["error"]["error"] == "OSError"
    with open_capture(result.path) as root:
        assert (root / "proc/cmdline").is_file()


def test_capture_while_the_log_rotates_keeps_whole_records(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """The log is written and rotated (rename, then a new file) while captures are made: each
    captured tail is whole JSON records, never a cut line."""
    root = make_root("asrock-z170-gtx960")
    log = root / LOG_MEMBER  # the recorded root's own log, rotating while it is captured
    log.parent.mkdir()
    handler = logging.handlers.RotatingFileHandler(log, maxBytes=20_000, backupCount=2)
    logger = logging.getLogger("capture-rotation-test")
    logger.propagate = False
    logger.addHandler(handler)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            logger.warning(json.dumps({"level": "info", "event": f"line {n}", "pad": "x" * 80}))
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    source = Source(Host(root))
    tails = []
    try:
        for i in range(8):
            result = capture(
                source, tmp_path / f"c{i}.tar.gz", collectors={"log": COLLECTORS["log"]}
            )
            with open_capture(result.path) as root:
                tails.append((root / LOG_MEMBER).read_text())
    finally:
        stop.set()
        writer.join()
        logger.removeHandler(handler)
        handler.close()
    assert any(tails)
    for tail in tails:
        for line in tail.splitlines():
            assert json.loads(line)["event"].startswith("line ")


def test_the_same_machine_gives_the_same_members(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Deterministic: same members in the same order with the same metadata and checksums."""
    root = make_root("ashtonian-adl-dual-radeon")
    env_time = {"SOURCE_DATE_EPOCH": "1795000000"}
    listings, manifests = [], []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.tar.gz"
        made = subprocess.run(
            [str(WORKBENCH), "capture", "--root", str(root), "-o", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, **env_time},
            check=True,
        )
        assert made.returncode == 0
        with tarfile.open(out) as tar:
            listings.append(
                [(m.name, m.type, m.mode, m.mtime, m.uid, m.linkname) for m in tar.getmembers()]
            )
            manifests.append(json.load(tar.extractfile("manifest.json")))  # type: ignore[arg-type]
    assert listings[0] == listings[1]
    assert [n for n, *_ in listings[0]] == sorted(n for n, *_ in listings[0])
    assert manifests[0]["files"] == manifests[1]["files"]
    assert manifests[0]["created"] == manifests[1]["created"] == "2026-11-18T11:06:40Z"


def test_diff_shows_the_fix(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Before: the GTX 960 on nouveau, no IOMMU on the command line. After: vfio-pci and
    intel_iommu=on. diff names both, as text (exit 1) and JSON; a capture against itself: 0."""
    from tests.conftest import load_facts

    facts = load_facts("asrock-z170-gtx960")
    gpu = next(d for d in facts["devices"] if d.get("class") == "0300")
    gpu["driver"] = "nouveau"
    facts["kernel_cmdline"] = "BOOT_IMAGE=/vmlinuz root=/dev/sda2 quiet"
    before_root = make_root(facts)
    after = json.loads(json.dumps(facts))
    for dev in after["devices"]:
        if dev["bdf"] == gpu["bdf"]:
            dev["driver"] = "vfio-pci"
    after["kernel_cmdline"] = facts["kernel_cmdline"] + " intel_iommu=on"
    after_root = make_root(after)
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert cli("capture", "--root", str(before_root), "-o", str(a)).returncode == 0
    assert cli("capture", "--root", str(after_root), "-o", str(b)).returncode == 0
    text = cli("diff", str(a), str(b))
    assert text.returncode == 1, text.stderr
    assert f"drivers  {gpu['bdf']}: {gpu['driver']} -> vfio-pci" in text.stdout
    assert "cmdline  removed: (absent); added: intel_iommu=on" in text.stdout
    doc = json.loads(cli("diff", str(a), str(b), "--json").stdout)
    assert doc["schema"] == "workbench.diff/1"
    areas = {(c["area"], c["item"]) for c in doc["changes"]}
    assert ("drivers", gpu["bdf"]) in areas and ("cmdline", "arguments") in areas
    same = cli("diff", str(a), str(a))
    assert same.returncode == 0 and "no changes" in same.stdout


def test_logs_from_a_capture(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """logs --capture filters the captured log (the recorded root's own)."""
    root = make_root("asrock-z170-gtx960")
    log = root / LOG_MEMBER
    log.parent.mkdir()
    log.write_text(
        "".join(
            json.dumps({"level": lvl, "event": f"e{n}", "logger": "t"}) + "\n"
            for n, lvl in enumerate(["info", "error", "warning", "error"])
        )
    )
    archive = tmp_path / "c.tar.gz"
    assert cli("capture", "--root", str(root), "-o", str(archive))
    out = cli("logs", "--capture", str(archive), "--level", "error", "--json")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["event"] for line in out.stdout.splitlines()] == ["e1", "e3"]
    both = cli("logs", str(log), "--capture", str(archive))
    assert both.returncode == 2 and "not both" in both.stderr
    follow = cli("logs", "--capture", str(archive), "--follow")
    assert follow.returncode == 2 and "never grows" in follow.stderr


def test_probe_refuses_root_and_capture_together(tmp_path: Path) -> None:
    out = cli("probe", "--root", str(tmp_path), "--capture", str(tmp_path / "x.tar.gz"))
    assert out.returncode == 2 and "not both" in out.stderr


def test_progress_on_a_terminal_and_the_report_names_the_capture(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """On a TTY each collector says what it took; the text report of a capture says which file
    it is and when it was made."""
    import pty

    archive = tmp_path / "c.tar.gz"
    root = make_root("asrock-z170-gtx960")
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [str(WORKBENCH), "capture", "--root", str(root), "-o", str(archive)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert proc.wait(30) == 0
    text = shown.decode()
    for name in ("pci", "iommu", "kernel", "devices", "libvirt", "agents", "log"):
        assert re.search(rf"{name}\s+\d+ file\(s\)\s+[\d.]+ ms", text), text
    assert "collecting pci" in text
    report = cli("probe", "--capture", str(archive))
    first = report.stdout.splitlines()[0]
    assert f"report for capture {archive} (made 20" in first


def test_an_unwritable_output_is_refused_before_collecting(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A directory that is missing or a file: said at once (exit 2), nothing collected."""
    root = make_root("asrock-z170-gtx960")
    (tmp_path / "a-file").write_text("x")
    for out in (tmp_path / "missing" / "c.tar.gz", tmp_path / "a-file" / "c.tar.gz"):
        made = cli("capture", "--root", str(root), "-o", str(out))
        assert made.returncode == 2, made.stdout
        assert f"cannot write {out}" in made.stderr and "Traceback" not in made.stderr
        assert "wrote" not in made.stdout


def test_a_failed_write_is_a_capture_error(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Through the API, where no pre-check ran: a CaptureError with a remedy, no stray temp."""
    from workbench.core.errors import CaptureError

    with pytest.raises(CaptureError) as caught:
        capture(Source(Host(make_root("asrock-z170-gtx960"))), tmp_path / "gone" / "c.tar.gz")
    assert caught.value.code == "CAPTURE_UNWRITABLE" and caught.value.remedy
    assert list(tmp_path.iterdir()) == [tmp_path / "root0"]


def test_a_dev_shm_behind_a_link_round_trips(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Older systems have /dev/shm -> /run/shm: the Looking Glass file is recorded where the
    link leads, so the capture opens (nothing inside a link) and judges Looking Glass the same."""
    root = make_root("asrock-z170-gtx960", shm={"looking-glass": 64 << 20})
    (root / "run").mkdir()
    (root / "dev/shm").rename(root / "run/shm")
    (root / "dev/shm").symlink_to("../run/shm")
    direct = cli("probe", "--root", str(root), "--only", "display.looking_glass", "--json")
    archive = tmp_path / "c.tar.gz"
    assert cli("capture", "--root", str(root), "-o", str(archive)).returncode == 0
    opened = cli("probe", "--capture", str(archive), "--only", "display.looking_glass", "--json")
    assert opened.returncode == direct.returncode, opened.stderr
    assert verdicts(json.loads(opened.stdout)) == verdicts(json.loads(direct.stdout))
    lg = json.loads(opened.stdout)["probes"][-1]
    assert lg["id"] == "display.looking_glass"
    assert [f["size"] for f in lg["facts"]["shm_files"]] == [64 << 20], lg


def test_members_are_stored_where_their_links_lead() -> None:
    """A file under a recorded link is stored at the link's target; one under a loop of links is
    left out with a problem, never written inside a link."""
    from workbench.capture.tree import Tree

    tree = Tree(
        files={"dev/shm/lg": b"", "a/x": b"1", "proc/cmdline": b"quiet\n"},
        links={"dev/shm": "../run/shm", "a": "b", "b": "a"},
    )
    settled = tree.settled()
    assert settled.files == {"run/shm/lg": b"", "proc/cmdline": b"quiet\n"}
    assert settled.problems == ["a/x: left out, its links loop"]


def test_a_recorded_hypervisor_with_a_link_loop_is_copied_once(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Capturing a recorded machine whose libvirt/ holds a link back to itself finishes, and
    a link out of the root is not followed out of it."""
    root = secret_source(make_root)
    (root / "libvirt/again").symlink_to(".")
    (tmp_path / "outside.xml").write_text("<secret-from-outside/>")
    (root / "libvirt/domains/out.xml").symlink_to(tmp_path / "outside.xml")
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "-o", str(archive), "--timeout", "10")
    assert made.returncode == 0, made.stderr
    assert "incomplete" not in made.stdout
    assert b"secret-from-outside" not in archive_bytes(archive)
    with open_capture(archive) as opened:
        assert (opened / "libvirt/domains/win11.xml").is_file()


@pytest.mark.parametrize("epoch", ["²", "1e9", "9" * 400])
def test_an_odd_source_date_epoch_is_ignored(
    make_root: Callable[..., Path], tmp_path: Path, epoch: str
) -> None:
    """A SOURCE_DATE_EPOCH that is not an ASCII number of seconds is ignored (the time is now),
    never a traceback."""
    out = tmp_path / "c.tar.gz"
    made = subprocess.run(
        [str(WORKBENCH), "capture", "--root", str(make_root("asrock-z170-gtx960")), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": epoch},
    )
    assert made.returncode == 0, made.stderr
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["created"].startswith(str(datetime.now(UTC).year))


def test_a_hypervisor_a_capture_did_not_record_is_not_recorded(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture whose libvirt collector timed out says the hypervisor was not recorded, and
    why, never that the machine has none; one made with no hypervisor named says that."""

    def hangs(src: Source, out: Collected) -> None:
        time.sleep(3)

    root = make_root("asrock-z170-gtx960")
    late = capture(
        Source(Host(root)), tmp_path / "late.tar.gz", collectors={"libvirt": hangs}, timeout_s=0.5
    )
    none = capture(Source(Host(root)), tmp_path / "none.tar.gz", collectors={"libvirt": hangs})
    silent = capture(  # a collector set without libvirt: the manifest does not mention it
        Source(Host(root)), tmp_path / "silent.tar.gz", collectors={"pci": COLLECTORS["pci"]}
    )
    for made, why in (
        (late, "collector timed out"),
        (none, "none was named"),
        (silent, ""),  # its manifest says nothing of libvirt: no reason is guessed
    ):
        proc = cli("probe", "--capture", str(made.path), "--only", "libvirt.connection", "--json")
        (result,) = json.loads(proc.stdout)["probes"]
        assert result["status"] == "skip"
        assert result["summary"].startswith("hypervisor not recorded") and why in result["summary"]
        if not why:
            assert result["summary"] == "hypervisor not recorded"
        assert "pass --connect" not in json.dumps(result)
        assert result["findings"][0]["code"] == "HYPERVISOR_NOT_RECORDED"


def test_diff_says_vms_not_recorded_rather_than_absent(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Captures with and without a recorded hypervisor: diff says the VMs were not recorded
    on one side, not that each VM appeared from nothing."""
    root = make_root("asrock-z170-gtx960")
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert cli("capture", "--root", str(root), "-o", str(a)).returncode == 0
    made = cli("capture", "--root", str(root), "--connect", "test:///default", "-o", str(b))
    assert made.returncode == 0, made.stderr
    text = cli("diff", str(a), str(b))
    assert "domains  VMs: not recorded -> 1 VM(s)" in text.stdout, text.stdout
    assert "(absent) -> state=" not in text.stdout
