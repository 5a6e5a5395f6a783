"""Opening a sosreport: archives unpacked safely (by content, not name), directories in place."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sosarchives import TOP, base_members, hostile, member, pack, report_tree
from tests.sosfixtures import HOTSOS
from workbench.capture.unpack import Limits
from workbench.core.errors import CaptureError
from workbench.core.host import Host
from workbench.sos.archive import SOS_LIMITS, check_digest, compression, unpack_report
from workbench.sos.detect import archive_kind
from workbench.sos.model import SosNotes
from workbench.sos.open import open_sos
from workbench.sos.procfiles import identity
from workbench.sos.translate import build_root

EVIL = "/tmp/wb-sos-evil"  # a path a hostile member names; asserted never written


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small sosreport directory."""
    (tmp_path / "src").mkdir()
    return report_tree(tmp_path / "src")


@pytest.mark.parametrize("mode", ["w:xz", "w:gz", "w:bz2", "w"])
def test_each_compression_unpacks_to_the_report_top(tree: Path, tmp_path: Path, mode: str) -> None:
    """xz, gzip, bzip2 and plain tar all open, recognised by their bytes under any name."""
    archive = pack(tree, tmp_path / "report.bin", mode)
    top = unpack_report(archive, tmp_path / "out")
    assert top == tmp_path / "out" / TOP
    assert (top / "sos_commands/pci/lspci_-nnvv").read_text().startswith("00:00.0 Host bridge")


def test_links_inside_the_report_are_kept(tree: Path, tmp_path: Path) -> None:
    """The root `lspci` link and a QEMU log's `.tailed` link resolve inside the unpacked report."""
    top = unpack_report(pack(tree, tmp_path / "r.tar.xz"), tmp_path / "out")
    assert (top / "lspci").is_symlink()
    assert (top / "lspci").read_text().startswith("00:00.0")
    assert (top / "var/log/libvirt/qemu/win11.log").read_text() == "2026-11-29 qemu start\n"


def _with(*extra: tuple[tarfile.TarInfo, bytes]) -> Callable[[Path], Path]:
    return lambda out: hostile(out, [*base_members(), *extra])


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "absolute member": (_with(member(EVIL)), "absolute or unsafe path"),
    "dotdot member": (_with(member(f"{TOP}/../../wb-sos-evil")), "leaves the report's directory"),
    "link leaving": (
        _with(member(f"{TOP}/etc", kind=tarfile.SYMTYPE, link="../../../../etc")),
        "leaves the report's directory",
    ),
    "absolute link": (
        _with(member(f"{TOP}/x", kind=tarfile.SYMTYPE, link="/etc/passwd")),
        "leaves the report's directory",
    ),
    "member inside a link": (
        _with(
            member(f"{TOP}/d", kind=tarfile.SYMTYPE, link="sos_commands"),
            member(f"{TOP}/d/x"),
        ),
        "inside the symbolic link",
    ),
    "two top directories": (_with(member("other/x")), "more than one top directory"),
    "hard link outward": (
        _with(member(f"{TOP}/h", kind=tarfile.LNKTYPE, link="/etc/passwd")),
        "absolute or unsafe path",
    ),
    "hard link to nothing before": (
        _with(member(f"{TOP}/h", kind=tarfile.LNKTYPE, link=f"{TOP}/later")),
        "not a file before it",
    ),
    "name too long": (_with(member(f"{TOP}/" + "n" * 300)), "name over 255 bytes"),
    "too deep": (_with(member(f"{TOP}/" + "d/" * 200 + "f")), "directories deep"),
    "twice": (_with(member(f"{TOP}/version.txt")), "appears twice"),
    "top is a file": (lambda out: hostile(out, [member(TOP)]), "is not a directory"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_is_refused(case: str, tmp_path: Path) -> None:
    """Members or links that would leave the tree, or break its shape, are refused whole."""
    make, says = HOSTILE[case]
    archive = make(tmp_path / "hostile.tar.xz")
    with pytest.raises(CaptureError) as caught:
        unpack_report(archive, tmp_path / "out")
    assert says in caught.value.message
    assert caught.value.code == "SOS_REFUSED"
    assert not Path(EVIL).exists()
    assert not (tmp_path / "wb-sos-evil").exists()


def test_devices_and_fifos_are_left_out_and_said(tmp_path: Path) -> None:
    """A device or FIFO member is never made; the notes say it was left out."""
    archive = hostile(
        tmp_path / "r.tar.xz",
        [
            *base_members(),
            member(f"{TOP}/dev/sda", kind=tarfile.BLKTYPE),
            member(f"{TOP}/fifo", kind=tarfile.FIFOTYPE),
        ],
    )
    notes: list[str] = []
    top = unpack_report(archive, tmp_path / "out", notes=notes)
    assert not (top / "dev/sda").exists() and not (top / "fifo").exists()
    assert notes == [
        f"{TOP}/dev/sda: a device or FIFO in the archive, left out",
        f"{TOP}/fifo: a device or FIFO in the archive, left out",
    ]


def test_a_clean_archive_has_no_note(tree: Path, tmp_path: Path) -> None:
    """Files, directories and links are unpacked without a note."""
    notes: list[str] = []
    unpack_report(pack(tree, tmp_path / "r.tar.xz"), tmp_path / "out", notes=notes)
    assert notes == []


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared hotsos slice absent")
def test_the_hotsos_slice_packed_opens_without_an_unpacking_problem(tmp_path: Path) -> None:
    """The hotsos slice as .tar.xz unpacks without a note, and its machine root's problems are
    the same as its directory's (nothing said about unpacking)."""
    archive = pack(HOTSOS, tmp_path / "hotsos.tar.xz")
    notes: list[str] = []
    unpack_report(archive, tmp_path / "out", notes=notes)
    assert notes == []
    with open_sos(archive) as packed, open_sos(HOTSOS) as in_place:
        assert packed.manifest.get("problems", []) == in_place.manifest.get("problems", [])


def test_a_hard_link_is_a_copy_of_the_file_before_it(tmp_path: Path) -> None:
    """A hard link to a member already unpacked holds that member's bytes."""
    archive = hostile(
        tmp_path / "r.tar.xz",
        [*base_members(), member(f"{TOP}/v2", kind=tarfile.LNKTYPE, link=f"{TOP}/version.txt")],
    )
    top = unpack_report(archive, tmp_path / "out")
    assert (top / "v2").read_text() == "sosreport: 4.5.6\n"


def test_a_member_over_the_limit_keeps_its_tail(tmp_path: Path) -> None:
    """A log larger than the member limit keeps its last bytes, and the notes say so."""
    big = b"".join(b"line %06d\n" % i for i in range(1000))
    archive = hostile(tmp_path / "r.tar.xz", [*base_members(), member(f"{TOP}/big.log", big)])
    notes: list[str] = []
    limits = Limits(member_bytes=1100, total_bytes=SOS_LIMITS.total_bytes)
    top = unpack_report(archive, tmp_path / "out", limits=limits, notes=notes)
    assert (top / "big.log").read_bytes() == big[-1100:]
    assert any("big.log" in n and "last 1100" in n for n in notes)


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (Limits(total_bytes=100), "unpacks to more than 100 bytes"),
        (Limits(members=3), "more than 3 members"),
    ],
)
def test_size_and_count_limits_refuse(
    tree: Path, tmp_path: Path, limits: Limits, says: str
) -> None:
    """An archive over the total size or member count is refused."""
    with pytest.raises(CaptureError, match=says):
        unpack_report(pack(tree, tmp_path / "r.tar.xz"), tmp_path / "out", limits=limits)


def test_a_truncated_xz_is_refused(tree: Path, tmp_path: Path) -> None:
    """Half an .xz says it is truncated or corrupt."""
    whole = pack(tree, tmp_path / "whole.tar.xz").read_bytes()
    cut = tmp_path / "cut.tar.xz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CaptureError, match="truncated or corrupt"):
        unpack_report(cut, tmp_path / "out")


@pytest.mark.parametrize(
    ("head", "says", "code"),
    [
        (b"", "an empty file", "SOS_NOT_A_REPORT"),
        (b"PK\x03\x04rest", "a zip archive", "SOS_REFUSED"),
        (b"(\xb5/\xfdrest", "a zstd-compressed archive", "SOS_REFUSED"),
        (b"hello, world\n", "not a tar archive", "SOS_NOT_A_REPORT"),
    ],
)
def test_what_is_no_tar_is_named(tmp_path: Path, head: bytes, says: str, code: str) -> None:
    """An empty file, a zip, a zstd or text is refused saying what it is."""
    path = tmp_path / "sosreport-x.tar.xz"
    path.write_bytes(head)
    with pytest.raises(CaptureError, match=says) as caught:
        compression(path)
    assert caught.value.code == code


def test_a_tarball_without_sos_commands_is_not_a_report(tmp_path: Path) -> None:
    """A tar archive whose top directory lacks sos_commands/ is SOS_NOT_A_REPORT."""
    src = tmp_path / "notsos"
    (src / "etc").mkdir(parents=True)
    (src / "etc/hosts").write_text("127.0.0.1 localhost\n")
    with pytest.raises(CaptureError, match="not a sosreport") as caught:
        unpack_report(pack(src, tmp_path / "n.tar.xz"), tmp_path / "out")
    assert caught.value.code == "SOS_NOT_A_REPORT"


@pytest.mark.parametrize(("kind", "algo"), [("sha256", hashlib.sha256), ("md5", hashlib.md5)])
def test_the_checksum_beside_is_checked(
    tree: Path, tmp_path: Path, kind: str, algo: Callable[[bytes], object]
) -> None:
    """A matching .sha256/.md5 passes; a mismatch is refused as SOS_CHECKSUM."""
    archive = pack(tree, tmp_path / "r.tar.xz")
    side = tmp_path / f"r.tar.xz.{kind}"
    side.write_text(algo(archive.read_bytes()).hexdigest() + "  r.tar.xz\n")  # type: ignore[attr-defined]
    assert check_digest(archive) == kind
    side.write_text(("0" * len(side.read_text().split()[0])) + "\n")
    with pytest.raises(CaptureError, match="does not match") as caught:
        unpack_report(archive, tmp_path / "out")
    assert caught.value.code == "SOS_CHECKSUM"


def test_no_checksum_beside_is_fine(tree: Path, tmp_path: Path) -> None:
    """Without a checksum file nothing is checked."""
    assert check_digest(pack(tree, tmp_path / "r.tar.xz")) is None


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda t, p: pack(t, p / "a.tgz", "w:gz"), "sos"),
        (lambda t, p: pack(t / "proc", p / "a.tar.xz"), "tar"),
        (lambda t, p: hostile(p / "c.tar.gz", [member("manifest.json", b"{}")], "w:gz"), "capture"),
    ],
)
def test_archive_kind_is_read_from_the_content(
    tree: Path, tmp_path: Path, make: Callable[[Path, Path], Path], kind: str
) -> None:
    """A sosreport, a capture and another tarball are told apart by their members."""
    assert archive_kind(make(tree, tmp_path)) == kind


def test_telling_a_capture_from_a_report_reads_only_its_first_members(tmp_path: Path) -> None:
    """With sos_only, an archive of several top-level entries (a capture) is "not a report"
    after its first members: a damaged rest, never decompressed, is not reached."""
    good = hostile(
        tmp_path / "c.tar.gz",
        [
            member("sys", kind=tarfile.DIRTYPE),
            member("proc", kind=tarfile.DIRTYPE),
            member("proc/big", random.Random(1).randbytes(512 * 1024)),
            member("manifest.json", b"{}"),
        ],
        "w:gz",
    )
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert archive_kind(cut, sos_only=True) == "tar"
    assert archive_kind(good, sos_only=True) == "tar"
    assert archive_kind(good) == "capture"
    with pytest.raises(CaptureError, match="truncated or corrupt"):
        archive_kind(cut)


def test_sos_only_still_finds_a_report_past_its_other_directories(
    tree: Path, tmp_path: Path
) -> None:
    """A report whose sos_commands/ comes after etc/ and proc/ (sos packs sorted) is a report."""
    (tree / "etc/a/b").mkdir(parents=True)
    (tree / "etc/a/b/c.conf").write_text("x\n")
    assert archive_kind(pack(tree, tmp_path / "r.tar.gz", "w:gz"), sos_only=True) == "sos"


def test_a_directory_is_read_in_place_and_never_written(tree: Path) -> None:
    """open_sos on a directory leaves it byte for byte as it was, and removes its root after."""
    before = sorted((p.relative_to(tree), p.lstat().st_mtime_ns) for p in tree.rglob("*"))
    with open_sos(tree) as opened:
        assert opened.report == tree
        assert (opened.root / "manifest.json").is_file()
        assert opened.manifest["sos"]["hostname"] == "gpuhost"
        assert (opened.root / "proc/sys/kernel/hostname").read_text() == "gpuhost\n"
        made = opened.root
    assert not made.exists()
    assert sorted((p.relative_to(tree), p.lstat().st_mtime_ns) for p in tree.rglob("*")) == before


def test_the_unpacked_archive_is_removed_after(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything an archive unpacked to lives in a private temp dir, gone after."""
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # tempfile reads TMPDIR once
    archive = pack(tree, tmp_path / "r.tar.xz")
    with open_sos(archive) as opened:
        assert str(opened.root).startswith(str(private))
        assert opened.manifest["sos"]["version"] == "4.5.6"
    assert os.listdir(private) == []


def test_hostname_from_uname_when_no_hostname_file(tmp_path: Path) -> None:
    """With no hostname file, the node name of `uname -a` names the host."""
    top = tmp_path / "r"
    (top / "sos_commands/kernel").mkdir(parents=True)
    (top / "sos_commands/kernel/uname_-a").write_text("Linux node7 6.1.0 #1 SMP x86_64 GNU/Linux\n")
    found = identity(SosNotes(Host(top), tmp_path / "root"))
    assert found.hostname == ("node7", "sos_commands/kernel/uname_-a")
    assert found.release == ("6.1.0", "sos_commands/kernel/uname_-a")
    for hostile_uname in ("\x1b[2Jevil\n", "SunOS node7 5.11\n"):
        (top / "sos_commands/kernel/uname_-a").write_text(hostile_uname)
        found = identity(SosNotes(Host(top), tmp_path / "root"))
        assert found.hostname is None and found.release is None


@pytest.mark.parametrize(
    ("files", "lacking"),
    [
        ({}, ["lspci -nnvv", "the kernel command line", "the kernel log"]),
        (
            {"sos_commands/logs/journalctl_--no-pager_--boot": "Nov 29 10:00:00 h kernel: hi\n"},
            ["lspci -nnvv", "the kernel command line"],
        ),
        (
            {"var/log/kern.log": "Nov 29 10:00:00 h kernel: hi\n", "proc/cmdline": "ro\n"},
            ["lspci -nnvv"],
        ),
        (
            {"sos_commands/pci/lspci_-nnvv": "garbage\n", "sos_commands/kernel/dmesg": "[0.0] x\n"},
            ["lspci -nnvv", "the kernel command line"],
        ),
    ],
    ids=["nothing", "journal-not-dmesg", "syslog-and-cmdline", "unreadable-lspci"],
)
def test_lacks_is_what_the_builders_found_no_source_for(
    tmp_path: Path, files: dict[str, str], lacking: list[str]
) -> None:
    """The header's "lacks" follows the builders: a journal instead of dmesg is a kernel log."""
    top = tmp_path / "r"
    (top / "sos_commands").mkdir(parents=True)
    for rel, text in files.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(text)
    (tmp_path / "root").mkdir()
    info = build_root(top, tmp_path / "root", "r")["sos"]
    assert info.get("lacks", []) == lacking
    assert ("ask_for" in info) == bool(lacking)


def test_a_builder_that_breaks_is_one_clear_error(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A builder's unexpected failure is SOS_TRANSLATION: one line, exit 2, nothing left."""
    from workbench import cli
    from workbench.sos import translate

    def broken(_notes: object) -> None:
        raise ValueError("not a path inside the machine root: '../x'")

    monkeypatch.setattr(translate, "build_virt", broken)
    with pytest.raises(CaptureError) as caught, open_sos(tree):
        pass
    assert caught.value.code == "SOS_TRANSLATION"
    assert cli.main(["probe", "--sos", str(tree)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "could not be read as a machine (ValueError: not a path inside" in err


@contextlib.contextmanager
def small_tmpfs(where: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted at `where` for the test, unmounted after (root only: skipped)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.mark.parametrize("bounded", [True, False], ids=["free-space-bound", "enospc"])
def test_a_full_temp_dir_is_said_not_a_corrupt_archive(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bounded: bool
) -> None:
    """An archive that does not fit in the temp dir names the directory and TMPDIR, never
    "corrupt", whether the free-space bound stops it or the filesystem's ENOSPC; nothing is
    left in it."""
    from workbench.sos import archive as archive_module

    if not bounded:  # the bound passed (a race, a stale statvfs): the write meets ENOSPC
        monkeypatch.setattr(archive_module, "_room", lambda _into: 1 << 40)
    (tree / "sos_commands/big").write_bytes(random.Random(15).randbytes(2 * 1024 * 1024))
    archive = pack(tree, tmp_path / "r.tar.gz", "w:gz")
    with small_tmpfs(tmp_path / "small") as small:
        monkeypatch.setenv("TMPDIR", str(small))
        monkeypatch.setattr(tempfile, "tempdir", str(small))  # tempfile reads TMPDIR once
        with pytest.raises(CaptureError) as caught, open_sos(archive):
            pass
        assert os.listdir(small) == []
    assert caught.value.code == "SOS_NO_SPACE"
    cause = caught.value.__cause__
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC
    assert f"no space left in {small} to open this sosreport (set TMPDIR" in caught.value.message
    assert "corrupt" not in caught.value.message


def test_a_full_disk_while_translating_is_said(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A builder's write that fails for space (EDQUOT) is SOS_NO_SPACE, not a broken report."""
    from workbench.sos import translate

    def full(_notes: object) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(translate, "build_virt", full)
    with pytest.raises(CaptureError) as caught, open_sos(tree):
        pass
    assert caught.value.code == "SOS_NO_SPACE"
    assert "set TMPDIR to a larger directory" in caught.value.message


def test_a_sos_collect_bundle_says_what_it_holds(tree: Path, tmp_path: Path) -> None:
    """A bundle of node reports is refused saying it is one, and what to do."""
    inner = pack(tree, tmp_path / f"{TOP}.tar.xz")
    bundle = tmp_path / "bundle"
    (bundle / "sos-collector-case").mkdir(parents=True)
    shutil.copy(inner, bundle / "sos-collector-case" / inner.name)
    with pytest.raises(CaptureError, match="a `sos collect` bundle of 1 sosreport"):
        unpack_report(pack(bundle / "sos-collector-case", tmp_path / "c.tar.xz"), tmp_path / "o")


def test_an_encrypted_report_says_decrypt_it_first(tmp_path: Path) -> None:
    """sos --encrypt-pass output (gpg) is refused with the way to read it."""
    path = tmp_path / "sosreport-x.tar.xz.gpg"
    path.write_bytes(b"\x8c\x0d\x04\x09\x03\x02" + bytes(64))
    with pytest.raises(CaptureError, match="GPG-encrypted archive"):
        compression(path)


def test_hard_links_count_against_the_total(tmp_path: Path) -> None:
    """Copies made for hard links count in the size limit: no amplification by links."""
    data = b"y" * 600
    links = [member(f"{TOP}/h{i}", kind=tarfile.LNKTYPE, link=f"{TOP}/big") for i in range(10)]
    archive = hostile(tmp_path / "r.tar.xz", [*base_members(), member(f"{TOP}/big", data), *links])
    with pytest.raises(CaptureError, match="unpacks to more than 4000 bytes"):
        unpack_report(archive, tmp_path / "out", limits=Limits(total_bytes=4000))


def test_an_archive_that_inflates_without_end_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the decompression bound (heads of large logs included) the archive is refused."""
    from workbench.sos import archive as sos_archive

    monkeypatch.setattr(sos_archive, "READ_LIMIT", 10_000)
    big = hostile(tmp_path / "r.tar.xz", [*base_members(), member(f"{TOP}/j", b"z" * 20_000)])
    with pytest.raises(CaptureError, match="decompresses to more than 10000 bytes"):
        unpack_report(big, tmp_path / "out", limits=Limits(member_bytes=100))


@pytest.mark.parametrize("mode", ["w:xz", "w:gz", "w:bz2"])
def test_damaged_archives_are_refused_or_opened_never_a_crash(
    tree: Path, tmp_path: Path, mode: str
) -> None:
    """Bytes flipped or cut anywhere: CaptureError or a report, never another exception, and
    nothing written outside the directory given."""
    whole = pack(tree, tmp_path / "whole", mode).read_bytes()
    rng = random.Random(15)
    for i in range(40):
        data = bytearray(whole)
        if i % 2:
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        else:
            del data[rng.randrange(1, len(data)) :]
        damaged = tmp_path / f"d{i}"
        damaged.write_bytes(bytes(data))
        into = tmp_path / f"out{i}"
        with contextlib.suppress(CaptureError):
            unpack_report(damaged, into)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("d", "out"))) == [
        "src",
        "whole",
    ]


@pytest.mark.parametrize(
    ("entries", "is_report"),
    [
        (["sos_commands/"], False),
        (["sos_commands/", "etc/hostname"], False),
        (["sos_commands", "version.txt"], False),  # sos_commands a file
        (["sos_commands/", "version.txt/"], False),  # version.txt a directory
        (["sos_commands/pci/lspci_-nnvv"], True),
        (["sos_commands/pci/"], True),
        (["sos_commands/", "version.txt"], True),
        (["sos_commands/", "sos_reports/"], True),
        (["sos_commands/", "sos_logs/sos.log"], True),
    ],
)
def test_one_rule_for_a_directory_and_its_archive(
    tmp_path: Path, entries: list[str], is_report: bool
) -> None:
    """A layout is a sosreport as a directory exactly when its archive is one (detect.Layout)."""
    from workbench.sos.detect import report_top

    top = tmp_path / "src" / "sosreport-h-2026"
    top.mkdir(parents=True)
    for entry in entries:
        if entry.endswith("/"):
            (top / entry).mkdir(parents=True, exist_ok=True)
        else:
            (top / entry).parent.mkdir(parents=True, exist_ok=True)
            (top / entry).write_text("sosreport: 4.5.6\n")
    archive = pack(top, tmp_path / "r.tar.xz")
    assert (report_top(top) is not None) is is_report
    assert (archive_kind(archive) == "sos") is is_report
    if is_report:
        assert unpack_report(archive, tmp_path / "out").name == top.name
    else:
        with pytest.raises(CaptureError, match="not a sosreport"):
            unpack_report(archive, tmp_path / "out")
