"""Captures keep what the machine holds: distinct domains stay distinct, bytes stay bytes, a
recorded root brings its own log (never the analyst's), and a broken recording is a problem
reported by the probes, never a crash."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, LOG_MEMBER, Source
from workbench.capture.unpack import open_capture
from workbench.core.host import Host
from workbench.virt.recorded import domain_member
from workbench.virt.testdriver import Domain, write_node


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WORKBENCH), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def probes_of(archive: Path) -> tuple[int, dict[str, Any], str]:
    """`workbench probe --capture` as a user runs it: exit status, probes by id, stderr."""
    out = cli("probe", "--capture", str(archive), "--json")
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, {p["id"]: p for p in json.loads(out.stdout)["probes"]}, out.stderr


def test_domains_whose_names_differ_only_in_unsafe_characters_keep_their_own_xml(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """`vm a` (with the GPU) and `vm_a` (without) on the test driver: each keeps its own
    hostdevs through capture and probe --capture."""
    root = make_root("asrock-z170-gtx960")
    node = write_node(
        tmp_path / "node.xml",
        [Domain("vm a", hostdevs=["0000:01:00.0"]), Domain("vm_a"), Domain("vm?a", running=False)],
    )
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "--connect", f"test://{node}", "-o", str(archive))
    assert made.returncode == 0, made.stderr
    _, probes, _ = probes_of(archive)
    domains = {d["name"]: d for d in probes["libvirt.domains"]["facts"]["domains"]}
    assert sorted(domains) == ["vm a", "vm?a", "vm_a"]
    assert [h["bdf"] for h in domains["vm a"]["hostdevs"]] == ["0000:01:00.0"]
    assert domains["vm_a"]["hostdevs"] == []
    assert domains["vm?a"]["state"] == "shutoff"


@pytest.mark.parametrize(
    "names",
    [("vm a", "vm_a", "vm%20a", "vm.a"), ("..", ".", "_", "%2E%2E"), ("x" * 300, "x" * 299 + "y")],
)
def test_domain_members_are_distinct_and_stay_inside_the_domains_folder(
    names: tuple[str, ...],
) -> None:
    """Different domain names never share a member, and each is one plain file name."""
    members = [domain_member(n) for n in names]
    assert len(set(members)) == len(names)
    for member in members:
        folder, _, leaf = member.rpartition("/")
        assert folder == "libvirt/domains" and leaf not in (".", "..")
        assert not leaf.startswith(".") and len(leaf.encode()) <= 255


def test_invalid_utf8_and_binary_files_round_trip_byte_for_byte(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A Latin-1 domain description, a binary recording and a module parameter with invalid
    UTF-8 come out of the capture exactly as they went in."""
    root = make_root("asrock-z170-gtx960")
    lib = root / "libvirt"
    (lib / "domains").mkdir(parents=True)
    (lib / "connection.json").write_text(json.dumps({"uri": "qemu:///system", "hostname": "h"}))
    (lib / "domains.json").write_text(
        json.dumps([{"name": "win11", "state": 5, "reason": 0, "persistent": True}])
    )
    odd = {
        "libvirt/domains/win11.xml": "<domain type='kvm'><name>win11</name>"
        "<description>caf\xe9 d\xe9j\xe0 vu</description></domain>".encode("latin-1"),
        "libvirt/blob.bin": bytes(range(256)) * 4,
        "sys/module/kvm/parameters/odd": b"\xff\xfe\x80 not utf-8\n",
    }
    (root / "sys/module/kvm/parameters").mkdir(parents=True, exist_ok=True)
    for rel, data in odd.items():
        (root / rel).write_bytes(data)
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    with open_capture(archive) as opened:
        for rel, data in odd.items():
            assert (opened / rel).read_bytes() == data, rel


def test_a_capture_of_a_root_never_bundles_the_analysts_own_log(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """The analyst's log (WORKBENCH_LOG_FILE) stays out of a capture of a recorded root without
    a log of its own, and the manifest says why there is none."""
    mine = tmp_path / "analyst.log"
    mine.write_text(json.dumps({"level": "info", "event": "analyst-private-record"}) + "\n")
    archive = tmp_path / "c.tar.gz"
    made = cli(
        "capture",
        "--root",
        str(make_root("asrock-z170-gtx960")),
        "-o",
        str(archive),
        env={**_env(), "WORKBENCH_LOG_FILE": str(mine)},
    )
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        assert LOG_MEMBER not in tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert b"analyst-private-record" not in _all_bytes(archive)
    assert manifest["facts"]["log"]["source"] is None
    assert "no log of its own" in manifest["facts"]["log"]["note"]


def test_a_capture_of_a_capture_keeps_the_captured_log(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A root that has its own workbench log (an opened capture) passes that log on, not the
    analyst's; the manifest names where it came from."""
    root = make_root("asrock-z170-gtx960")
    (root / "logs").mkdir()
    (root / LOG_MEMBER).write_text(json.dumps({"level": "error", "event": "from-the-root"}) + "\n")
    mine = tmp_path / "analyst.log"
    mine.write_text(json.dumps({"level": "info", "event": "analyst-private-record"}) + "\n")
    archive = tmp_path / "c.tar.gz"
    made = cli(
        "capture",
        "--root",
        str(root),
        "-o",
        str(archive),
        env={**_env(), "WORKBENCH_LOG_FILE": str(mine)},
    )
    assert made.returncode == 0, made.stderr
    with open_capture(archive) as opened:
        assert "from-the-root" in (opened / LOG_MEMBER).read_text()
        manifest = json.loads((opened / "manifest.json").read_text())
    assert b"analyst-private-record" not in _all_bytes(archive)
    assert manifest["facts"]["log"]["source"] == f"root:{LOG_MEMBER}"


def test_the_live_machine_bundles_the_users_log(tmp_path: Path) -> None:
    """Capturing the live machine (through the API) takes the capturing user's log."""
    log = tmp_path / "wb.log"
    log.write_text(json.dumps({"level": "info", "event": "live-user-record"}) + "\n")
    result = capture(
        Source(Host("/"), log_path=log),
        tmp_path / "c.tar.gz",
        collectors={"log": COLLECTORS["log"]},
    )
    assert result.manifest["facts"]["log"]["source"] == "the capturing user's workbench log"
    with open_capture(result.path) as opened:
        assert "live-user-record" in (opened / LOG_MEMBER).read_text()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _all_bytes(archive: Path) -> bytes:
    import gzip

    return gzip.decompress(archive.read_bytes())


def recorded_root(make_root: Callable[..., Path], listing: Any, **files: Any) -> Path:
    """A recorded machine whose libvirt recording holds `listing` as domains.json."""
    root = make_root("asrock-z170-gtx960")
    lib = root / "libvirt"
    (lib / "domains").mkdir(parents=True)
    conn = files.pop(
        "connection",
        {
            "uri": "qemu:///system",
            "hypervisor": "QEMU",
            "hypervisor_version": "8.2.0",
            "libvirt_version": "10.0.0",
            "hostname": "bench",
        },
    )
    (lib / "connection.json").write_text(conn if isinstance(conn, str) else json.dumps(conn))
    (lib / "domains.json").write_text(listing if isinstance(listing, str) else json.dumps(listing))
    for name in ("win11", "nas"):
        (lib / "domains" / f"{name}.xml").write_text(
            f"<domain type='kvm'><name>{name}</name><devices/></domain>"
        )
    if "agents" in files:
        agents = files.pop("agents")
        (lib / "agents.json").write_text(agents if isinstance(agents, str) else json.dumps(agents))
    return root


GOOD = {"name": "nas", "state": 5, "reason": 0, "persistent": True}


@pytest.mark.parametrize(
    ("listing", "extra", "problem"),
    [
        (
            [{"name": "win11", "state": "running", "reason": 1, "persistent": True}, GOOD],
            {},
            "state",
        ),
        (
            [{"name": "win11", "state": "garbage!", "reason": 1, "persistent": True}, GOOD],
            {},
            "state",
        ),
        ([{"name": "win11", "state": [1], "reason": {}, "persistent": "yes"}, GOOD], {}, "state"),
        ([{"name": "win11", "state": 1e300, "reason": None, "persistent": 1}, GOOD], {}, "state"),
        ([{"name": "win11", "state": 1, "reason": "x", "persistent": True}, GOOD], {}, "reason"),
        ([{"name": 7, "state": 1}, "nas", None, GOOD], {}, "name"),
        ({"win11": 1}, {}, "domains.json"),
        ("[{not json", {}, "domains.json"),
        ("[" * 100_000, {}, "domains.json"),
        ([GOOD], {"connection": ["not", "an", "object"]}, "connection.json"),
        ([GOOD], {"connection": "[" * 100_000, "agents": "{" * 100_000}, "connection.json"),
        ([GOOD], {"connection": {"uri": 5, "hostname": ["x"], "error": "boom"}}, "uri"),
        ([GOOD], {"connection": {"uri": "qemu:///system", "error": {"message": 5}}}, "message"),
        ([GOOD], {"agents": {"status": 3, "summary": [], "facts": "x", "findings": 5}}, "agents"),
        (
            [GOOD],
            {"agents": {"findings": [{"code": {}, "severity": 9, "message": None}]}},
            "agents",
        ),
    ],
    ids=[
        "state-name",
        "state-garbage",
        "wrong-types",
        "float-state",
        "reason-text",
        "bad-entries",
        "listing-object",
        "listing-not-json",
        "listing-too-deep",
        "connection-list",
        "connection-too-deep",
        "connection-types",
        "connection-error-types",
        "agents-types",
        "agent-finding-types",
    ],
)
def test_a_broken_recording_is_a_reported_problem_never_a_crash(
    make_root: Callable[..., Path],
    tmp_path: Path,
    listing: Any,
    extra: dict[str, Any],
    problem: str,
) -> None:
    """Wrong types in recorded libvirt JSON (a state that is a string or garbage, a name that is
    a number, a listing that is not a list): probe --capture names the problem in the libvirt
    probes' findings; no probe errors, the good domain is still reported."""
    root = recorded_root(make_root, listing, **extra)
    archive = tmp_path / "c.tar.gz"
    made = cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    _, probes, _ = probes_of(archive)
    libvirt = {k: v for k, v in probes.items() if k.startswith(("libvirt", "guest"))}
    assert all(p["status"] != "error" for p in libvirt.values()), libvirt
    messages = [f["message"] for p in libvirt.values() for f in p["findings"]]
    invalid = [m for m in messages if "recording" in m and problem in m]
    assert invalid, messages
    domains = probes["libvirt.domains"]["facts"].get("domains")
    if domains is not None and problem not in ("domains.json", "connection.json"):
        assert "nas" in [d["name"] for d in domains]


def test_a_known_state_name_in_a_recording_is_read_as_that_state(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A recording that wrote the state as its name ("running") is understood, and said."""
    listing = [{"name": "win11", "state": "running", "reason": 1, "persistent": True}]
    root = recorded_root(make_root, listing)
    archive = tmp_path / "c.tar.gz"
    assert cli("capture", "--root", str(root), "-o", str(archive)).returncode == 0
    _, probes, _ = probes_of(archive)
    domains = probes["libvirt.domains"]["facts"]["domains"]
    assert [(d["name"], d["state"]) for d in domains] == [("win11", "running")]


def test_a_password_in_a_recorded_uri_is_masked(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A recorded root (not redacted by a capture) whose connection URI holds a password: the
    report shows the URI with the password masked."""
    root = recorded_root(
        make_root,
        [GOOD],
        connection={"uri": "qemu+tcp://admin:hunter2@bench/system", "hostname": "bench"},
    )
    out = cli("probe", "--root", str(root), "--json")
    assert "hunter2" not in out.stdout, out.stdout
    conn = next(p for p in json.loads(out.stdout)["probes"] if p["id"] == "libvirt.connection")
    assert conn["facts"]["uri"] == "qemu+tcp://admin:***@bench/system"
