"""The hypervisor a sosreport recorded: domains from its XML and virsh outputs, its QEMU logs,
and what the libvirt probes say of it (and of a report without libvirt)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import put, run_as, run_cli
from tests.sosvirt import HOTSOS, LIST_ALL, domain_xml, make_report, status_xml
from workbench.core.host import Host
from workbench.core.report import Report
from workbench.core.runner import run_probes
from workbench.sos.open import open_sos
from workbench.target import open_target

LIBVIRT = ["libvirt.connection", "libvirt.domains", "guest.agent", "vm.preflight"]


def recording(report: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(connection.json, domains.json, manifest) of the report's machine root."""
    with open_sos(report) as opened:
        lib = opened.root / "libvirt"
        conn = json.loads((lib / "connection.json").read_text())
        listing = json.loads((lib / "domains.json").read_text())
        return conn, listing, opened.manifest


def probes(report: Path, only: list[str] = LIBVIRT) -> dict[str, Any]:
    """Each probe's result (by id) on the report, as `workbench probe --sos` runs them."""
    with open_target(sos=report) as target:
        result: Report = run_probes(target.host, only=only, hypervisor=target.new_hypervisor())
    return {p.id: p for p in result.probes}


def by_name(listing: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The recording's domains by name."""
    return {d["name"]: d for d in listing}


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A GPU host's report with libvirt and virsh outputs."""
    return make_report(tmp_path / "sosreport-gpuhost-2024")


needs_hotsos = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared hotsos slice absent")


@needs_hotsos
def test_hotsos_running_domain_from_its_status_xml() -> None:
    """The hotsos slice's instance is running (its status XML, reason migrated), persistent."""
    conn, listing, _ = recording(HOTSOS)
    (dom,) = listing
    assert dom["name"] == "instance-00000001"
    assert (dom["state"], dom["reason"], dom["persistent"]) == (1, 2, True)
    assert dom["state_recorded"] is True
    assert dom["state_source"] == "run/libvirt/qemu/instance-00000001.xml"
    assert conn["uri"] == "qemu:///system"
    assert "uri_source" not in conn  # no virsh output in the slice: nothing connected to it


@needs_hotsos
def test_hotsos_probes_say_the_report_and_make_no_claim() -> None:
    """On the hotsos slice (no virsh output): libvirt.connection warns, saying what the report
    shows (versions from the QEMU log's header, one domain) and that whether libvirt answered is
    not in it; the domain probes still judge the recorded domain; no fail."""
    results = probes(HOTSOS)
    conn = results["libvirt.connection"]
    assert conn.status == "warn"
    assert conn.summary == (
        "qemu:///system: QEMU 4.2.1, libvirt 6.0.0 (from the sosreport): whether libvirt "
        "answered is not in it"
    )
    (said,) = conn.findings
    assert said.code == "LIBVIRT_ANSWER_NOT_RECORDED"
    assert said.message == (
        "the report shows qemu:///system: QEMU 4.2.1, libvirt 6.0.0 (versions from "
        "var/log/libvirt/qemu/instance-00000001.log (libvirt's header of a domain's start)); "
        "1 domain(s) defined; whether libvirt answered is not in this sosreport: needs virsh's "
        "answer (virsh -r version, list --all) (`sos report -o virsh` with libvirt running)"
    )
    assert conn.facts["answered"] is None
    assert results["vm.preflight"].blocked_by in (None, [])
    agent = results["guest.agent"]
    assert agent.status == "skip" and agent.summary.startswith("not in this sosreport")
    assert results["libvirt.domains"].summary.startswith("1 domain(s), 1 running")
    assert not [p for p in results.values() if p.status in ("fail", "error")]


def test_report_without_libvirt_has_no_recording(tmp_path: Path) -> None:
    """No libvirt in the report: no recording; libvirt.connection skips naming the plugins."""
    top = make_report(tmp_path / "r", libvirt=False)
    with open_sos(top) as opened:
        assert not (opened.root / "libvirt").exists()
    conn = probes(top, ["libvirt.connection"])["libvirt.connection"]
    assert conn.status == "skip"
    assert conn.summary.startswith("not in this sosreport: needs libvirt's domain XML")
    assert "sos report -o libvirt,virsh" in conn.summary


def test_state_from_status_xml_then_virsh_list(report: Path) -> None:
    """A running domain's state is its status XML's; a defined one's is virsh list's."""
    conn, listing, _ = recording(report)
    doms = by_name(listing)
    assert (doms["web"]["state"], doms["web"]["persistent"]) == (1, True)
    assert doms["igpu-vm"]["state"] == 5
    assert doms["igpu-vm"]["state_source"] == "sos_commands/virsh/virsh_-r_list_--all"
    assert conn["libvirt_version"] == "9.0.0"
    assert (conn["hypervisor"], conn["hypervisor_version"]) == ("QEMU", "7.2.0")
    assert conn["hostname"] == "gpuhost"


def test_with_virsh_output_the_connection_passes_and_says_its_uri_source(report: Path) -> None:
    """virsh's own version and list: the URI said to come from `virsh -r`, nothing said
    missing about libvirt answering, and libvirt.connection passes."""
    conn, _, manifest = recording(report)
    assert conn["uri_source"] == "sosreport (virsh -r, as root)"
    assert "libvirt/connection.json#answered" not in manifest["not_recorded"]
    assert manifest["sources"]["libvirt_version"] == "virsh -r version"
    result = probes(report, ["libvirt.connection"])["libvirt.connection"]
    assert result.status == "pass", result.summary


def test_without_virsh_the_connection_warns_and_the_domains_are_still_judged(
    tmp_path: Path,
) -> None:
    """No virsh output: no uri_source, the manifest says whether libvirt answered is not in the
    report, libvirt.connection warns with what the report shows, and neither libvirt.domains
    nor vm.preflight is blocked."""
    top = make_report(tmp_path / "r", virsh=False)
    conn, _, manifest = recording(top)
    assert "uri_source" not in conn
    assert manifest["not_recorded"]["libvirt/connection.json#answered"].startswith(
        "not in this sosreport: needs virsh's answer"
    )
    results = probes(top)
    got = results["libvirt.connection"]
    assert got.status == "warn"
    assert got.summary.endswith("(from the sosreport): whether libvirt answered is not in it")
    assert "2 domain(s) defined; whether libvirt answered is not in this" in got.findings[0].message
    for pid in ("libvirt.domains", "vm.preflight"):
        assert not results[pid].blocked_by, (pid, results[pid].summary)


@pytest.mark.parametrize("name", ["[bold red]evil[/]", "host\x1b]0;x\x07", "a b"])
def test_a_hostile_hostname_never_reaches_connection_json(tmp_path: Path, name: str) -> None:
    """A hostname with markup, control codes or spaces is not the recording's hostname (the
    machine builders' check is the one used)."""
    top = make_report(tmp_path / "r")
    put(top, "etc/hostname", name + "\n")
    conn, _, _ = recording(top)
    assert conn.get("hostname") != name
    assert "[" not in str(conn.get("hostname", "")) and "\x1b" not in str(conn.get("hostname", ""))


def test_state_not_recorded_without_virsh(tmp_path: Path) -> None:
    """Without virsh outputs a defined domain's state is not recorded, and the probes say
    so: not "nostate", not "shut off"."""
    top = make_report(tmp_path / "r", virsh=False)
    _, listing, manifest = recording(top)
    igpu = by_name(listing)["igpu-vm"]
    assert igpu["state_recorded"] is False and igpu["state_source"] is None
    assert "virsh list --all" in manifest["not_recorded"]["libvirt/domains.json#state"]
    results = probes(top)
    domains = results["libvirt.domains"]
    assert "state not recorded: igpu-vm" in domains.summary
    entry = next(d for d in domains.facts["domains"] if d["name"] == "igpu-vm")
    assert entry["state"] is None
    assert "igpu-vm (state not recorded)" in results["vm.preflight"].summary


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("virsh_list_--all", LIST_ALL),  # sos 3.x ran virsh without -r
        (
            "virsh_-r_dominfo_igpu-vm",
            "Id:             -\nName:           igpu-vm\nState:          shut off\n",
        ),
        ("virsh_-r_domstate_igpu-vm", "shut off\n\n"),
    ],
)
def test_state_from_other_virsh_outputs(tmp_path: Path, name: str, text: str) -> None:
    """Older sos names and per-domain outputs (dominfo, domstate) are found by prefix."""
    top = make_report(tmp_path / "r", virsh=False)
    put(top, f"sos_commands/virsh/{name}", text)
    _, listing, _ = recording(top)
    assert by_name(listing)["igpu-vm"]["state"] == 5


def test_names_come_from_the_xml_not_the_file(report: Path) -> None:
    """A definition's name is its <name>; a second file of the same name is a problem."""
    put(report, "etc/libvirt/qemu/renamed.xml", domain_xml("win11"))
    put(report, "etc/libvirt/qemu/zz-copy.xml", domain_xml("win11"))
    _, listing, manifest = recording(report)
    assert "win11" in by_name(listing) and "renamed" not in by_name(listing)
    assert any("defined twice" in p for p in manifest["problems"])


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("<domain type='kvm'><name>broken</name>", "not well-formed"),
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;'
            '&a;&a;&a;&a;&a;&a;&a;">]><domain><name>&b;</name></domain>',
            "DTD",
        ),
        ("<domain><name>../../escape</name></domain>", "no usable domain <name>"),
        ("<domain><name>a\x1b[31mred</name></domain>", "not well-formed"),
        ("<domain><name>a&#10;b&#9;</name></domain>", "no usable domain <name>"),
        ("<domain><name></name></domain>", "no usable domain <name>"),
    ],
)
def test_hostile_domain_xml_is_a_problem(report: Path, text: str, said: str) -> None:
    """Broken XML, an entity bomb, a name that is a path or holds control codes: a problem of
    the report, never a crash, never a file outside the root."""
    put(report, "etc/libvirt/qemu/evil.xml", text)
    with open_sos(report) as opened:
        listing = json.loads((opened.root / "libvirt/domains.json").read_text())
        problems = opened.manifest["problems"]
        tmp = opened.root.parent
        names = {p.name for p in tmp.rglob("*")}
    assert set(by_name(listing)) == {"web", "igpu-vm"}
    assert any(said in p and "evil.xml" in p for p in problems), problems
    assert "escape" not in names and "escape.xml" not in names


def test_ten_thousand_definitions_are_read_in_part(report: Path) -> None:
    """10,000 definitions: the first 1,000 read, the rest said as a problem."""
    qemu = report / "etc/libvirt/qemu"
    for n in range(10_000):
        (qemu / f"vm{n:05d}.xml").write_text(f"<domain><name>vm{n:05d}</name></domain>")
    _, listing, manifest = recording(report)
    assert len(listing) == 1000 + 1  # the first 1,000 files (igpu-vm sorts first), and web
    assert any("10002 XML files; the first 1000 read" in p for p in manifest["problems"])


def test_transient_running_domain_is_not_persistent(report: Path) -> None:
    """A status XML without a definition: running, transient."""
    put(report, "run/libvirt/qemu/scratch.xml", status_xml("scratch", reason="booted"))
    _, listing, _ = recording(report)
    dom = by_name(listing)["scratch"]
    assert (dom["state"], dom["reason"], dom["persistent"]) == (1, 1, False)


def test_status_with_an_unknown_state_is_not_read(report: Path) -> None:
    """A status XML whose state libvirt never writes: a problem; the state is not recorded."""
    (report / "sos_commands/virsh/virsh_-r_list_--all").unlink()
    put(report, "run/libvirt/qemu/igpu-vm.xml", status_xml("igpu-vm", state="dancing"))
    _, listing, manifest = recording(report)
    igpu = by_name(listing)["igpu-vm"]
    assert (igpu["state_recorded"], igpu["state_source"]) == (False, None)
    assert any("'dancing' is not a libvirt state" in p for p in manifest["problems"])


def test_capabilities_from_virsh(report: Path) -> None:
    """virsh -r capabilities: the hypervisor offers kvm for x86_64."""
    conn = probes(report, ["libvirt.connection"])["libvirt.connection"]
    assert conn.facts["kvm"] is True and conn.facts["guest_arches"] == ["x86_64"]


def test_qemu_log_tailed_link_is_followed_inside_the_report(report: Path) -> None:
    """A log over sos's limit is a link to sos_strings/...tailed: read through the link."""
    log = report / "var/log/libvirt/qemu/igpu-vm.log"
    tailed = report / "sos_strings/libvirt/var.log.libvirt.qemu.igpu-vm.log.tailed"
    tailed.parent.mkdir(parents=True)
    log.rename(tailed)
    log.symlink_to("../../../../sos_strings/libvirt/var.log.libvirt.qemu.igpu-vm.log.tailed")
    with open_sos(report) as opened:
        copied = (opened.root / "var/log/libvirt/qemu/igpu-vm.log").read_text()
        facts = opened.manifest["facts"]["qemu_logs"]["domains"]["igpu-vm"]
    assert "Failed to mmap 0000:00:02.0 BAR 2" in copied
    assert facts["tailed_by_sos"] is True


def test_qemu_log_link_out_of_the_report_is_not_followed(tmp_path: Path) -> None:
    """A log linking out of the report (relative or absolute) never reads what is outside."""
    top = make_report(tmp_path / "r")
    secret = tmp_path / "secret.log"
    secret.write_text("SECRET outside the report\n")
    qemu = top / "var/log/libvirt/qemu"
    (qemu / "out.log").symlink_to("../../../../../secret.log")
    (qemu / "abs.log").symlink_to(str(secret))
    with open_sos(top) as opened:
        texts = [p.read_text() for p in opened.root.rglob("*.log") if p.is_file()]
    assert not any("SECRET" in t for t in texts)


def test_big_qemu_log_is_copied_capped(report: Path) -> None:
    """A 3 MiB QEMU log: only its newest 1 MiB is copied, said truncated."""
    log = report / "var/log/libvirt/qemu/web.log"
    log.write_text(log.read_text() + ("x" * 99 + "\n") * 30_000 + "the end\n")
    with open_sos(report) as opened:
        copied = (opened.root / "var/log/libvirt/qemu/web.log").read_bytes()
        facts = opened.manifest["facts"]["qemu_logs"]["domains"]["web"]
    assert len(copied) <= 1 << 20 and copied.endswith(b"the end\n")
    assert facts["truncated"] is True


def test_logs_cli_reads_the_reports_qemu_log(report: Path) -> None:
    """`workbench logs --sos R --qemu NAME` prints that domain's QEMU log from the report."""
    out = run_cli("logs", "--sos", str(report), "--qemu", "igpu-vm")
    assert out.returncode == 0, out.stderr
    assert "Failed to mmap 0000:00:02.0 BAR 2" in out.stdout


def test_logs_cli_without_a_source_on_a_report(report: Path) -> None:
    """`workbench logs --sos R` alone shows the report's kernel log (it has no workbench log)."""
    out = run_cli("logs", "--sos", str(report))
    kernel = run_cli("logs", "--sos", str(report), "--kernel")
    assert out.returncode == 0 and kernel.returncode == 0, out.stderr
    assert out.stdout == kernel.stdout and out.stdout


def test_probe_cli_json_on_a_report(report: Path) -> None:
    """`workbench probe --sos R --json`: the recorded hypervisor's domains, no error."""
    out = run_cli("probe", "--sos", str(report), "--only", ",".join(LIBVIRT), "--json")
    got = {p["id"]: p for p in json.loads(out.stdout)["probes"]}
    assert not [p for p in got.values() if p["status"] == "error"]
    names = {d["name"]: d["state"] for d in got["libvirt.domains"]["facts"]["domains"]}
    assert names == {"web": "running", "igpu-vm": "shutoff"}


def test_recording_reads_through_a_host(report: Path) -> None:
    """The root's recording is read by the recorded hypervisor as a capture's is."""
    with open_sos(report) as opened:
        from workbench.virt.recorded import RecordedHypervisor

        hv = RecordedHypervisor(Host(opened.root))
        assert {d.name: d.state for d in hv.domains()} == {"igpu-vm": "shutoff", "web": "running"}
        assert hv.problems == ()


def test_domain_known_only_to_virsh_from_its_dumpxml(tmp_path: Path) -> None:
    """The virsh plugin without the libvirt one: a listed domain's XML is its dumpxml; one
    with no XML anywhere is a problem, never an invented domain."""
    top = make_report(tmp_path / "r", libvirt=False)
    put(top, "sos_commands/virsh/virsh_-r_list_--all", LIST_ALL)
    put(top, "sos_commands/virsh/virsh_-r_dumpxml_igpu-vm", domain_xml("igpu-vm"))
    _, listing, manifest = recording(top)
    assert [(d["name"], d["state"]) for d in listing] == [("igpu-vm", 5)]
    assert any("'web' is listed by virsh but its XML" in p for p in manifest["problems"])


SOCKET_GONE = (
    "error: failed to connect to the hypervisor\n"
    "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock-ro': No such file or "
    "directory\n"
)


def test_virsh_that_could_not_connect_is_said(tmp_path: Path) -> None:
    """virsh outputs that are its connect error: the daemon was not running (a cause), the
    definitions still read, their state not recorded."""
    top = make_report(tmp_path / "r", virsh=False)
    for name in ("list_--all", "version", "capabilities"):
        put(top, f"sos_commands/virsh/virsh_-r_{name}", SOCKET_GONE)
    _, listing, manifest = recording(top)
    assert by_name(listing)["igpu-vm"]["state_recorded"] is False
    said = manifest["sos"]["virsh_connect_error"]
    assert said["file"] == "sos_commands/virsh/virsh_-r_list_--all"
    results = probes(top)
    conn = results["libvirt.connection"]
    assert conn.status == "warn"
    assert [f.cause for f in conn.findings] == ["LIBVIRT_DAEMON_NOT_RUNNING"]
    assert results["libvirt.domains"].status != "skip"  # the definitions are still judged


def test_virsh_list_that_is_not_a_table_is_not_read(report: Path) -> None:
    """A virsh list --all file that is not virsh's table says nothing of any state."""
    put(report, "sos_commands/virsh/virsh_-r_list_--all", "garbage\n-\n 1 igpu-vm running\n")
    _, listing, manifest = recording(report)
    assert by_name(listing)["igpu-vm"]["state_recorded"] is False
    assert any("not virsh's table" in p for p in manifest["problems"])


@pytest.mark.skipif(shutil.which("sos") is None or os.geteuid() != 0, reason="needs sos, root")
def test_real_sos_report_of_this_machine(tmp_path: Path) -> None:
    """A real `sos report -o libvirt,virsh,kernel` of this machine: its recording reads, and
    libvirt.connection says what the report's own virsh outputs show, no more."""
    made = subprocess.run(
        [
            "sos",
            "report",
            "--batch",
            "--build",
            "-o",
            "libvirt,virsh,kernel",
            "--tmp-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    (top,) = [p for p in tmp_path.glob("sosreport-*") if p.is_dir()]
    listed = top / "sos_commands/virsh/virsh_-r_list_--all"
    results = probes(top)
    assert not [p.id for p in results.values() if p.status == "error"]
    conn = results["libvirt.connection"]
    said = listed.read_text() if listed.is_file() else ""
    if said.startswith("error: failed to connect"):
        assert conn.findings and conn.findings[-1].code in (
            "LIBVIRT_DAEMON_NOT_RUNNING",
            "LIBVIRT_NOT_ANSWERING",
        )
    elif listed.is_file():
        assert conn.status == "pass", conn.summary
    assert results["guest.agent"].status == "skip"


LSPCI = (
    "00:02.0 VGA compatible controller [0300]: Intel Corporation AlderLake-S GT1 [8086:4680] "
    "(rev 0c) (prog-if 00 [VGA controller])\n"
    "\tSubsystem: ASRock Incorporation Device [1849:4680]\n"
    "\tKernel driver in use: i915\n"
    "\tKernel modules: i915\n\n"
)


def hostdev_findings(top: Path) -> list[str]:
    """The codes of libvirt.domains' findings on the report."""
    domains = probes(top, ["libvirt.domains"])["libvirt.domains"]
    return [f.code for f in domains.findings]


def test_hostdevs_not_judged_without_lspci(report: Path) -> None:
    """A report without lspci: a hostdev is "not checked", never "does not exist"."""
    codes = hostdev_findings(report)
    assert "DOMAIN_HOSTDEV_MISSING" not in codes
    assert "DOMAIN_HOSTDEVS_NOT_CHECKED" in codes


def test_hostdevs_judged_with_lspci(report: Path) -> None:
    """With lspci, a hostdev the host lacks is said; one it has is not."""
    put(report, "sos_commands/pci/lspci_-nnvv", LSPCI)
    assert hostdev_findings(report) == []
    put(report, "etc/libvirt/qemu/gone.xml", domain_xml("gone", ("0000:03:00.0",)))
    assert "DOMAIN_HOSTDEV_MISSING" in hostdev_findings(report)


def test_logs_cli_names_a_domain_the_report_has_no_log_of(report: Path) -> None:
    """`logs --sos R --qemu NAME` of a domain with no log: one line naming the logs it has,
    not the temporary root's path; exit 2."""
    out = run_cli("logs", "--sos", str(report), "--qemu", "nosuch")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "not among this sosreport's QEMU logs" in out.stderr
    assert "igpu-vm, web" in out.stderr and "workbench-sos-" not in out.stderr


def test_file_name_with_control_codes_is_never_echoed(report: Path) -> None:
    """A definition whose file name holds an escape sequence: left out, said without it."""
    put(report, "etc/libvirt/qemu/evil\x1b[31m.xml", domain_xml("evil"))
    _, listing, manifest = recording(report)
    assert "evil" not in by_name(listing)
    assert not any("\x1b" in p for p in manifest["problems"])
    assert any("control characters" in p for p in manifest["problems"])


def test_deeply_nested_domain_xml_is_a_problem(report: Path) -> None:
    """A definition nested 200,000 deep: a problem, never a RecursionError."""
    deep = "<domain><name>deep</name>" + "<a>" * 200_000 + "</a>" * 200_000 + "</domain>"
    put(report, "etc/libvirt/qemu/deep.xml", deep)
    put(report, "run/libvirt/qemu/deep.xml", f"<domstatus state='running'>{deep}</domstatus>")
    _, listing, manifest = recording(report)
    assert "deep" not in by_name(listing)
    assert any("deep.xml: nested too deeply" in p for p in manifest["problems"])


def test_left_out_definitions_are_said_by_libvirt_domains(report: Path) -> None:
    """A definition the report holds but that could not be read: libvirt.domains warns."""
    put(report, "etc/libvirt/qemu/broken.xml", "<domain><name>broken</name>")
    domains = probes(report, ["libvirt.domains"])["libvirt.domains"]
    assert domains.status == "warn"
    said = [f.message for f in domains.findings if f.code == "SOS_LIBVIRT_FILE_NOT_READ"]
    assert len(said) == 1 and "broken.xml: not well-formed XML" in said[0]


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("installed-debs", "ii  libvirt-daemon   9.1.0-2   amd64   Virtualization daemon\n"),
        ("installed-rpms", "libvirt-daemon-9.1.0-10.el9.x86_64   Tue 01 Aug 2023 10:00:00\n"),
    ],
)
def test_libvirt_version_from_the_package_list(tmp_path: Path, rel: str, text: str) -> None:
    """No virsh version: libvirt's version from the report's package list (before the QEMU
    log's header, which is the last start's)."""
    top = make_report(tmp_path / "r", virsh=False)
    put(top, rel, text)
    conn, _, _ = recording(top)
    assert conn["libvirt_version"] == "9.1.0"
    assert (conn["hypervisor"], conn["hypervisor_version"]) == ("QEMU", "7.2.0")  # the log's


def test_many_qemu_logs_keep_the_newest(report: Path) -> None:
    """200 QEMU logs: the 64 written last are copied, the rest counted as left out."""
    qemu = report / "var/log/libvirt/qemu"
    for n in range(200):
        log = qemu / f"inst{n:03d}.log"
        log.write_text("x\n")
        os.utime(log, (1_000_000 + n, 1_000_000 + n))
    os.utime(qemu / "igpu-vm.log", (2_000_000, 2_000_000))
    with open_sos(report) as opened:
        facts = opened.manifest["facts"]["qemu_logs"]
    assert len(facts["domains"]) == 64 and facts["left_out"] == 202 - 64
    assert "igpu-vm" in facts["domains"] and "inst199" in facts["domains"]
    assert "inst000" not in facts["domains"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_folders_another_user_cannot_list_are_problems() -> None:
    """A report unpacked by root, read by another user: its unreadable libvirt folders are
    problems of the report, never a crash."""
    base = Path(
        tempfile.mkdtemp(prefix="wb-sos-perm-", dir="/tmp")
    )  # pytest's tmp_path is root-only
    try:
        base.chmod(0o755)
        top = make_report(base / "r")
        for rel in ("etc/libvirt/qemu", "var/log/libvirt/qemu", "sos_commands/virsh"):
            (top / rel).chmod(0o700)
        for d in [p for p in top.rglob("*") if p.is_dir()] + [top]:
            if d.stat().st_mode & 0o777 != 0o700:
                d.chmod(0o755)
        for f in [p for p in top.rglob("*") if p.is_file()]:
            f.chmod(0o644)

        def opened() -> list[str]:
            with open_sos(top) as got:
                problems: list[str] = got.manifest["problems"]
                return problems

        opened()  # as root first: every module imported before the child drops its rights
        problems = run_as(65534, opened)
        assert any("etc/libvirt/qemu: not listed" in p for p in problems), problems
        assert any("var/log/libvirt/qemu: not listed" in p for p in problems)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize(
    "journal", ["journalctl_--no-pager", "journalctl_--no-pager_--catalog_--boot"]
)
def test_libvirt_log_from_the_journal(report: Path, journal: str) -> None:
    """No libvirtd.log: libvirt's daemon lines of the report's journal (either sos name) are
    its log; other units' lines and an earlier boot's journal are not."""
    put(
        report,
        f"sos_commands/logs/{journal}",
        "Feb 09 22:38:34 gpuhost systemd[1]: Started Virtualization daemon.\n"
        "Feb 09 22:38:34 gpuhost libvirtd[1074]: libvirt version: 9.0.0\n",
    )
    put(report, "sos_commands/logs/journalctl_--no-pager_--boot_-1", "x libvirtd[1]: OLD\n")
    with open_sos(report) as opened:
        text = (opened.root / "logs/libvirt.log").read_text()
        origin = opened.manifest["facts"]["libvirt_log"]["origin"]
    assert text == "Feb 09 22:38:34 gpuhost libvirtd[1074]: libvirt version: 9.0.0\n"
    assert origin.startswith(f"sos_commands/logs/{journal}")


@needs_hotsos
def test_hotsos_libvirt_log_is_its_journals_libvirtd_lines() -> None:
    """The hotsos slice's libvirtd writes to the journal: its 12 lines are the libvirt log."""
    with open_sos(HOTSOS) as opened:
        facts = opened.manifest["facts"]["libvirt_log"]
    assert facts["lines"] == 12
