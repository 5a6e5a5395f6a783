"""Machine identity: what a capture records (machine-id, DMI serials), how redaction hides it,
what a sosreport's root gives, and `diff` refusing two different machines."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_cli
from tests.sos_machine_helpers import report, translate
from workbench.core.host import Host
from workbench.core.identity import identity

MID_A = "0123456789abcdef0123456789abcdef"
MID_B = "fedcba9876543210fedcba9876543210"
DMIDECODE = """# dmidecode 3.3
Handle 0x0001, DMI type 1, 27 bytes
System Information
\tManufacturer: ASRock
\tProduct Name: Z170
\tSerial Number: SYS-4242
\tUUID: 4c4c4544-0042-3610-8052-b4c04f4e3132

Handle 0x0002, DMI type 2, 15 bytes
Base Board Information
\tSerial Number: BOARD-99
"""


def _root(make_root: Callable[..., Path], mid: str | None, serial: str | None) -> Path:
    root = make_root("asrock-z170-gtx960")
    if mid is not None:
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc/machine-id").write_text(mid + "\n")
    if serial is not None:
        dmi = root / "sys/class/dmi/id"
        dmi.mkdir(parents=True, exist_ok=True)
        (dmi / "product_serial").write_text(serial + "\n")
    return root


def _capture(root: Path, out: Path, *extra: str) -> Path:
    done = run_cli("capture", "--root", str(root), "-o", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return out


def _manifest(archive: Path) -> dict[str, object]:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.name.endswith("manifest.json"):
                fh = tar.extractfile(member)
                assert fh is not None
                data: dict[str, object] = json.loads(fh.read())
                return data
    raise AssertionError("no manifest")


def test_root_identity_reads_machine_id_and_serial(make_root: Callable[..., Path]) -> None:
    """A machine root's identity is its hostname, /etc/machine-id and DMI product serial."""
    got = identity(Host(_root(make_root, MID_A, "SYS-1")))
    assert got["machine_id"] == MID_A
    assert got["dmi_serial"] == "SYS-1"


def test_placeholders_and_absence_are_not_recorded(make_root: Callable[..., Path]) -> None:
    """A firmware placeholder serial and a missing machine-id are None, never a value."""
    got = identity(Host(_root(make_root, None, "To Be Filled By O.E.M.")))
    assert got["machine_id"] is None
    assert got["dmi_serial"] is None


def test_capture_records_identity(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """A capture's manifest holds facts.identity; identity() of the capture reads it back."""
    archive = _capture(_root(make_root, MID_A, "SYS-1"), tmp_path / "a.tar.gz")
    facts = _manifest(archive)["facts"]
    assert isinstance(facts, dict)
    assert facts["identity"]["machine_id"] == MID_A
    assert facts["identity"]["product_serial"] == "SYS-1"
    assert facts["identity"]["board_serial"] is None  # not readable: not recorded


def test_redact_hostnames_hides_identity(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """--redact hostnames replaces the machine-id and serials too: they name the machine."""
    archive = _capture(
        _root(make_root, MID_A, "SYS-1"), tmp_path / "a.tar.gz", "--redact", "hostnames"
    )
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member) if member.isfile() else None
            data = fh.read() if fh else b""
            assert MID_A.encode() not in data, member.name
            assert b"SYS-1" not in data, member.name


def test_sos_root_identity(tmp_path: Path) -> None:
    """A sosreport's etc/machine-id and dmidecode serials reach its machine root."""
    top = report(
        tmp_path,
        {
            "etc/machine-id": MID_B + "\n",
            "sos_commands/hardware/dmidecode": DMIDECODE,
            "sos_commands/host/hostname": "node-7\n",
        },
    )
    _, host = translate(top, tmp_path)
    got = identity(host)
    assert got == {"hostname": "node-7", "machine_id": MID_B, "dmi_serial": "SYS-4242"}
    assert host.read_text("sys/class/dmi/id/board_serial") == "BOARD-99\n"


def test_diff_refuses_two_machines(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """diff of two different machines: exit 2, one line naming the machine-id, no traceback."""
    a = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, MID_B, None), tmp_path / "b.tar.gz")
    done = run_cli("diff", str(a), str(b))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "machine_id" in lines[0] and "Traceback" not in done.stderr
    forced = run_cli("diff", "--force", str(a), str(b))
    assert forced.returncode in (0, 1), forced.stderr


def test_diff_same_machine_and_unrecorded(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Same machine-id: compared as before; no identity on either side: said, still compared."""
    a = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, MID_A, None), tmp_path / "b.tar.gz")
    assert run_cli("diff", str(a), str(b)).returncode == 0
    root = make_root("asrock-z170-gtx960")
    (root / "proc/sys/kernel/hostname").unlink(missing_ok=True)
    c = _capture(root, tmp_path / "c.tar.gz")
    d = _capture(root, tmp_path / "d.tar.gz")
    done = run_cli("diff", str(c), str(d))
    assert done.returncode == 0, done.stderr
    assert "identity not recorded" in done.stdout


def test_redacted_identity_is_not_recorded(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Pseudonyms are one capture's tokens: two redacted captures of different machines are
    'identity not recorded', not the same machine, and not refused either."""
    a = _capture(_root(make_root, MID_A, "S-A"), tmp_path / "a.tar.gz", "--redact", "serials")
    b = _capture(_root(make_root, MID_B, "S-B"), tmp_path / "b.tar.gz", "--redact", "serials")
    for archive in (a, b):
        facts = _manifest(archive)["facts"]
        assert isinstance(facts, dict) and facts["identity"]["machine_id"] == "serial-1"
    done = run_cli("diff", str(a), str(b))
    assert done.returncode in (0, 1), done.stderr


def test_diff_refuses_by_dmi_serial(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Two captures whose DMI serials differ (no machine-id): refused, naming dmi_serial;
    --json is refused alike (no diff on stdout: the workbench.error/1 document)."""
    a = _capture(_root(make_root, None, "SER-A"), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, None, "SER-B"), tmp_path / "b.tar.gz")
    done = run_cli("diff", "--json", str(a), str(b))
    # Once nothing on stdout; a --json refusal is now the error document (issue 16 review).
    assert done.returncode == 2 and json.loads(done.stdout)["schema"] == "workbench.error/1"
    assert "dmi_serial SER-A != SER-B" in done.stderr


def test_diff_one_side_recorded_is_compared(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """A machine-id on one side only proves nothing: compared as before, not refused."""
    a = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, None, None), tmp_path / "b.tar.gz")
    done = run_cli("diff", str(a), str(b))
    assert done.returncode in (0, 1), done.stderr
    assert "identity not recorded" not in done.stdout
