"""Opening a sosreport, cases a hostile user's session found: backslashes in names, reports this
user may not read, the checksum's remedy, links that leave the report's top directory."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import run_as
from tests.sosarchives import TOP, base_members, hostile, member, pack, report_tree
from workbench.capture.unpack import check_member_link, check_member_name
from workbench.core.errors import CaptureError
from workbench.sos.archive import SOS_LIMITS, refuse, unpack_report
from workbench.sos.open import open_sos

SLICE = "usr/lib/systemd/system/system-systemd\\x2dcryptsetup.slice"  # as sos's default set has


def test_a_systemd_name_with_a_backslash_unpacks(tmp_path: Path) -> None:
    """A member named like a systemd unit (`\\x2d`) is an ordinary file of the report."""
    archive = hostile(tmp_path / "r.tar.xz", [*base_members(), member(f"{TOP}/{SLICE}", b"[Unit]")])
    top = unpack_report(archive, tmp_path / "out")
    assert (top / SLICE).read_bytes() == b"[Unit]"


def test_a_link_to_a_name_with_a_backslash_is_kept(tmp_path: Path) -> None:
    """A link whose target holds a backslash (a `.wants/` link to a unit) resolves inside."""
    link = f"{TOP}/etc/systemd/system/cryptsetup.target.wants/x\\x2dy.slice"
    archive = hostile(
        tmp_path / "r.tar.xz",
        [
            *base_members(),
            member(f"{TOP}/{SLICE}", b"[Unit]"),
            member(link, kind=tarfile.SYMTYPE, link=f"../../../../{SLICE}"),
        ],
    )
    top = unpack_report(archive, tmp_path / "out")
    assert (tmp_path / "out" / link).read_bytes() == b"[Unit]"
    assert top.name == TOP


@pytest.mark.parametrize("name", [f"{TOP}/a\0b", f"/{SLICE}", f"{TOP}/../x\\y", ""])
def test_a_sosreport_still_refuses_nul_absolute_and_dotdot(name: str) -> None:
    """Allowing a backslash allows nothing else: NUL, absolute names and `..` stay refused."""
    with pytest.raises(CaptureError):
        check_member_name(Path("r.tar.xz"), name, refuse, backslash=True)


def test_a_capture_keeps_refusing_a_backslash() -> None:
    """A capture is workbench's own file: a backslash in its member names or link targets is
    still refused there."""
    with pytest.raises(CaptureError, match="absolute or unsafe path"):
        check_member_name(Path("c.tar.gz"), f"etc/{SLICE}")
    with pytest.raises(CaptureError, match="leaves the capture's root"):
        check_member_link(Path("c.tar.gz"), "etc/a/x", "../a\\b", SOS_LIMITS)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        (f"{TOP}/var/log/libvirt/qemu/x.log", "../../../../../etc/passwd"),
        (f"{TOP}/x.log", "../etc/passwd"),
        (f"{TOP}/sos_logs/x", f"../../{TOP}/version.txt"),
    ],
)
def test_a_link_leaving_the_top_directory_is_refused(
    tmp_path: Path, name: str, target: str
) -> None:
    """A link out of the report's top directory (though inside the temp dir) is refused at
    unpacking, never kept and dropped silently later."""
    archive = hostile(
        tmp_path / "r.tar.xz", [*base_members(), member(name, kind=tarfile.SYMTYPE, link=target)]
    )
    with pytest.raises(CaptureError, match="leaves the report's directory") as caught:
        unpack_report(archive, tmp_path / "out")
    assert caught.value.code == "SOS_REFUSED"
    assert not (tmp_path / "out" / name).is_symlink()


def test_a_checksum_mismatch_says_what_fits_a_sosreport(tmp_path: Path) -> None:
    """The mismatch's remedy is to ask for the report again or compare the sent checksum, not to
    repack a zip."""
    (tmp_path / "src").mkdir()
    archive = pack(report_tree(tmp_path / "src"), tmp_path / "r.tar.xz")
    (tmp_path / "r.tar.xz.sha256").write_text(hashlib.sha256(b"other").hexdigest() + "\n")
    with pytest.raises(CaptureError) as caught:
        unpack_report(archive, tmp_path / "out")
    assert caught.value.code == "SOS_CHECKSUM"
    assert "damaged in transfer" in caught.value.remedy
    assert "ask the customer for it again" in caught.value.remedy
    assert "zip" not in caught.value.remedy


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is root's only), removed after."""
    base = Path(tempfile.mkdtemp(prefix="wb-sos-unr-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    for d in [base, *base.rglob("*")]:  # undo the test's chmod 000 so it can be removed
        if d.is_dir() and not d.is_symlink():
            d.chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def _unreadable_dir(base: Path) -> Path:
    top = report_tree(base)
    top.chmod(0o000)
    return top


def _unreadable_inside(base: Path) -> Path:
    (base / "wrap").mkdir(mode=0o755)
    report_tree(base / "wrap").chmod(0o700)
    return base / "wrap"


def _unreadable_archive(base: Path) -> Path:
    (base / "src").mkdir()
    archive = pack(report_tree(base / "src"), base / "r.tar.xz")
    archive.chmod(0o600)
    return archive


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
@pytest.mark.parametrize("make", [_unreadable_dir, _unreadable_inside, _unreadable_archive])
def test_a_report_this_user_cannot_read_says_permission_denied(
    shared: Path, make: Callable[[Path], Path]
) -> None:
    """A report directory at 000, a directory holding one at 0700, or an archive at 0600, opened
    by another user: "permission denied" with the remedy, never "not a sosreport"."""
    given = make(shared)

    def opened() -> list[str]:
        try:
            with open_sos(given):
                return ["opened"]
        except CaptureError as exc:
            return [exc.code, exc.message, exc.remedy or ""]

    code, message, remedy = run_as(65534, opened)
    assert code == "SOS_UNREADABLE"
    assert "permission denied" in message and "not a sosreport" not in message
    assert "root" in remedy and "readable" in remedy


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_checksum_beside_that_is_no_file_is_refused(tmp_path: Path, kind: str) -> None:
    """A `.sha256` beside the archive that is a FIFO or a link to /dev/zero: refused (never
    opened: a FIFO would block), not skipped as if absent."""
    (tmp_path / "src").mkdir()
    archive = pack(report_tree(tmp_path / "src"), tmp_path / "r.tar.xz")
    side = tmp_path / "r.tar.xz.sha256"
    if kind == "fifo":
        os.mkfifo(side)
    else:
        side.symlink_to("/dev/zero")
    with pytest.raises(CaptureError, match="not a regular file") as caught:
        unpack_report(archive, tmp_path / "out")
    assert caught.value.code == "SOS_CHECKSUM"


def test_a_checksum_file_this_user_cannot_read_is_said(shared: Path) -> None:
    """A .sha256 beside the archive that this user may not read refuses it (the check it
    promises cannot be made), never skipped in silence."""
    archive = _unreadable_archive(shared)
    archive.chmod(0o644)
    side = shared / "r.tar.xz.sha256"
    side.write_text(hashlib.sha256(archive.read_bytes()).hexdigest() + "\n")
    side.chmod(0o600)

    def opened() -> list[str]:
        try:
            with open_sos(archive):
                return ["opened"]
        except CaptureError as exc:
            return [exc.code, exc.message]

    code, message = run_as(65534, opened)
    assert code == "SOS_CHECKSUM"
    assert "r.tar.xz.sha256 beside it cannot be read" in message
