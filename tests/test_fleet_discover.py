"""fleet.discover: which files and directories are machines, their names, what is passed over."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fleet_helpers import bundle, capture_of, sos_archive, sos_dir
from tests.sosarchives import hostile, member, report_tree
from workbench.fleet.discover import discover, fleet_workdir


@pytest.fixture(scope="module")
def one_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real capture of a shared machine."""
    work = tmp_path_factory.mktemp("cap")
    return capture_of("asrock-z170-gtx960", work, work / "asrock.tar.gz")


def test_kinds_are_told_by_content_not_name(one_capture: Path, tmp_path: Path) -> None:
    """A capture named like a sosreport is a capture; a report directory named oddly is a
    report; a sosreport archive is a report."""
    shutil.copy(one_capture, tmp_path / "sosreport-liar.tar.xz")
    sos_dir("asrock-z170-gtx960", tmp_path / "whatever")
    tree = report_tree(tmp_path / "trees", "sosreport-gpuhost-2026-11-29-abcdef")
    sos_archive(tree, tmp_path / "sosreport-gpuhost-2026-11-29-abcdef.tar.xz")
    shutil.rmtree(tmp_path / "trees")
    entries, problems = discover([tmp_path])
    kinds = {Path(e.source).name: e.kind for e in entries}
    assert kinds == {
        "sosreport-gpuhost-2026-11-29-abcdef.tar.xz": "sos",
        "sosreport-liar.tar.xz": "capture",
        "whatever": "sos",
    }
    assert problems == []


def test_names_are_unique_with_a_count(one_capture: Path, tmp_path: Path) -> None:
    """Two machines with one name, in folders of one name too (the folders tell nothing): the
    name is kept, the second is `NAME#2`."""
    for sub in ("a", "b"):
        (tmp_path / sub / "site").mkdir(parents=True)
        shutil.copy(one_capture, tmp_path / sub / "site" / "host.tar.gz")
    entries, _ = discover([tmp_path])
    assert [e.name for e in entries] == ["host", "host#2"]


def test_a_path_named_twice_is_one_machine(one_capture: Path) -> None:
    """The same capture named twice (or reached twice) is one machine."""
    entries, _ = discover([one_capture, one_capture])
    assert len(entries) == 1


def test_the_report_directory_is_named_by_its_hostname_file(tmp_path: Path) -> None:
    """An unpacked sosreport with a `hostname` file is named by it."""
    top = sos_dir("asrock-z170-gtx960", tmp_path / "sosreport-x")
    (top / "hostname").write_text("hv-17.example\n")
    entries, _ = discover([top])
    assert [e.name for e in entries] == ["hv-17.example"]


def test_what_is_no_machine_is_said(tmp_path: Path) -> None:
    """A text file, a tar of neither kind, a zip and a link are each named in the problems."""
    (tmp_path / "notes.txt").write_text("hello\n")
    with tarfile.open(tmp_path / "other.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "notes.txt", arcname="notes.txt")
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    (tmp_path / "link").symlink_to(tmp_path / "notes.txt")
    entries, problems = discover([tmp_path])
    assert entries == []
    said = "\n".join(problems)
    for name in ("notes.txt", "other.tar.gz", "a.zip", "link"):
        assert name in said
    assert "not a usable sosreport" not in said
    assert "a zip archive" in said


def test_checksum_files_beside_an_archive_are_not_machines(tmp_path: Path) -> None:
    """sos's .sha256 beside its archive is read by the archive's check, not reported."""
    tree = report_tree(tmp_path / "trees")
    archive = sos_archive(tree, tmp_path / "sosreport-gpuhost-2026-11-29-abcdef.tar.xz")
    shutil.rmtree(tmp_path / "trees")
    (tmp_path / (archive.name + ".sha256")).write_text("0" * 64 + "\n")
    entries, problems = discover([tmp_path])
    assert len(entries) == 1 and problems == []


def test_a_bundle_is_extracted_into_the_workdir_and_removed(tmp_path: Path) -> None:
    """A `sos collect` bundle's reports are extracted into the work directory, which is gone
    after; the collector's other files are not extracted."""
    reports = []
    for i in range(2):
        tree = report_tree(tmp_path / "trees", f"sosreport-n{i}-2026-11-29-abcdef")
        reports.append(sos_archive(tree, tmp_path / f"{tree.name}.tar.xz"))
    (tmp_path / "out").mkdir()
    the_bundle = bundle(reports, tmp_path / "out" / "sos-collector-x.tar.gz")
    with fleet_workdir() as work:
        entries, problems = discover([the_bundle], work)
        assert [e.name for e in entries] == ["n0", "n1"]
        assert all(Path(e.source).is_relative_to(work) for e in entries)
        assert not list(work.rglob("sos-collector.log"))
        assert problems == []
    assert not work.exists()


def test_a_bundle_without_a_workdir_is_said(tmp_path: Path) -> None:
    """Without a work directory a bundle is a problem, not silently skipped."""
    tree = report_tree(tmp_path / "trees")
    report = sos_archive(tree, tmp_path / "sosreport-a-2026-11-29-abcdef.tar.xz")
    entries, problems = discover([bundle([report], tmp_path / "sos-collector-y.tar.gz")])
    assert entries == [] and "bundle" in problems[0]


def test_a_hostile_bundle_member_is_refused_and_nothing_leaves(tmp_path: Path) -> None:
    """A bundle member named `../sosreport-x.tar.xz` is refused (said); nothing is written
    outside the work directory."""
    evil = hostile(
        tmp_path / "sos-collector-evil.tar.gz",
        [member("../sosreport-evil-2026-11-29-abcdef.tar.xz", b"data")],
        mode="w:gz",
    )
    with fleet_workdir() as work:
        entries, problems = discover([evil], work)
    assert entries == []
    assert problems and "sos-collector-evil" in problems[0]
    assert not (tmp_path.parent / "sosreport-evil-2026-11-29-abcdef.tar.xz").exists()


def test_escapes_in_a_name_reach_the_terminal_escaped(one_capture: Path, tmp_path: Path) -> None:
    """A file named with an escape sequence is shown escaped in the text table."""
    shutil.copy(one_capture, tmp_path / "evil\x1b[31m.tar.gz")
    done = run_cli("fleet", str(tmp_path))
    assert "\x1b" not in done.stdout
    assert done.returncode in (0, 1), done.stderr


def test_depth_is_bounded(one_capture: Path, tmp_path: Path) -> None:
    """A capture deeper than the walk goes is not found, and that is said."""
    deep = tmp_path.joinpath(*[f"d{i}" for i in range(9)])
    deep.mkdir(parents=True)
    shutil.copy(one_capture, deep / "x.tar.gz")
    entries, problems = discover([tmp_path])
    assert entries == [] and any("deeper" in p for p in problems)


def test_an_unreadable_directory_is_said(tmp_path: Path) -> None:
    """A directory this user may not read is a problem, never a crash."""
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    entries, problems = discover([tmp_path])
    assert entries == [] and problems


def test_ansible_captures_of_one_file_name_are_named_by_their_folders(
    one_capture: Path, tmp_path: Path
) -> None:
    """The playbook's `captures/<host>/workbench-<host>.tar.gz`, two of the same file name (no
    host name recorded): each is its folder's name, not `#2`; with a third whose folder's name
    is one of theirs, the folders no longer tell them apart: the name kept, with `#2`, `#3`."""
    for folder in ("gpu-a", "gpu-b"):
        (tmp_path / "captures" / folder).mkdir(parents=True)
        shutil.copy(one_capture, tmp_path / "captures" / folder / "workbench-host.tar.gz")
    entries, problems = discover([tmp_path / "captures"])
    assert problems == []
    assert sorted(e.name for e in entries) == ["gpu-a", "gpu-b"]
    (tmp_path / "other" / "gpu-a").mkdir(parents=True)
    shutil.copy(one_capture, tmp_path / "other" / "gpu-a" / "workbench-host.tar.gz")
    entries, _ = discover([tmp_path / "captures", tmp_path / "other"])
    assert sorted(e.name for e in entries) == [
        "workbench-host",
        "workbench-host#2",
        "workbench-host#3",
    ]


def test_a_capture_is_named_by_its_recorded_hostname(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture holding proc/sys/kernel/hostname is named by it (read on from its manifest,
    bounded), whatever its file's name."""
    root = make_root("asrock-z170-gtx960", hostname="gpu-box-7")
    capture = tmp_path / "workbench-x.tar.gz"
    made = run_cli("capture", "--root", str(root), "-o", str(capture))
    assert made.returncode == 0, made.stderr
    entries, _ = discover([capture])
    assert [e.name for e in entries] == ["gpu-box-7"]


def test_archives_a_bundle_leaves_out_are_said(tmp_path: Path) -> None:
    """A bundle's archives that are no node's (an unsafe `../` or absolute name, a name not
    sosreport-*) are listed as left out, never dropped in silence; its good node is read."""
    tree = report_tree(tmp_path / "trees", "sosreport-good-2026-11-29-abcdef")
    good = sos_archive(tree, tmp_path / f"{tree.name}.tar.xz")
    evil = hostile(
        tmp_path / "sos-collector-mixed.tar.gz",
        [
            member(good.name, good.read_bytes()),
            member("../../x/ESCAPED-sosreport-b-2026-11-29-abcdef.tar.xz", b"data"),
            member("/abs/sosreport-c-2026-11-29-abcdef.tar.xz", b"data"),
        ],
        mode="w:gz",
    )
    with fleet_workdir() as work:
        entries, problems = discover([evil], work)
    assert [e.name for e in entries] == ["good"]
    said = [p for p in problems if "left out" in p]
    assert said and "2 archive(s)" in said[0] and "ESCAPED-sosreport-b" in said[0], problems
    assert not (tmp_path.parent / "x").exists()


def test_the_walks_limits_lead_what_was_passed_over() -> None:
    """A cap or depth limit is said first (before a thousand empty files), in order kept."""
    from workbench.fleet.machine import limits_first

    said = ["d/1: an empty file", "d: more than 20000 entries in all, the rest not looked at"]
    said += ["d/2: an empty file", "e: deeper than 6 directories, not walked"]
    assert limits_first(said) == [said[1], said[3], said[0], said[2]]


def test_a_single_ansible_capture_is_named_by_its_inventory_host(
    one_capture: Path, tmp_path: Path
) -> None:
    """One playbook capture without a recorded host name, `captures/gpu-a/workbench-gpu-a
    .tar.gz`, is `gpu-a` (the inventory host), not `workbench-gpu-a`; any other file name
    stays the file's name."""
    (tmp_path / "captures" / "gpu-a").mkdir(parents=True)
    shutil.copy(one_capture, tmp_path / "captures" / "gpu-a" / "workbench-gpu-a.tar.gz")
    shutil.copy(one_capture, tmp_path / "captures" / "gpu-a" / "workbench-other.tar.gz")
    entries, problems = discover([tmp_path / "captures"])
    assert problems == []
    assert sorted(e.name for e in entries) == ["gpu-a", "workbench-other"]
