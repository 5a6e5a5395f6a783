"""Hostile and broken capture files: each refused with exit 2 and a clear message, nothing
written outside the private temp dir, and that temp dir removed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.conftest import WORKBENCH
from workbench.capture import SCHEMA
from workbench.capture.collect import capture
from workbench.capture.collectors import COLLECTORS, Source
from workbench.capture.links import too_long_chain
from workbench.capture.sigterm import TerminationGuard
from workbench.capture.unpack import Limits, open_capture
from workbench.core.errors import CaptureError
from workbench.core.host import Host

Member = tuple[tarfile.TarInfo, bytes | None]


@pytest.fixture
def good(make_root: Callable[..., Path], tmp_path: Path) -> Path:
    """A real capture of a recorded machine (no log: small and quick)."""
    collectors = {k: v for k, v in COLLECTORS.items() if k != "log"}
    source = Source(Host(make_root("asrock-z170-gtx960")))
    return capture(source, tmp_path / "good.tar.gz", collectors=collectors).path


def members(archive: Path) -> list[Member]:
    out = []
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            fh = tar.extractfile(info) if info.isreg() else None
            out.append((info, fh.read() if fh else None))
    return out


def write(path: Path, items: list[Member]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in items:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path


def entry(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


def with_manifest(items: list[Member], change: Callable[[dict], None]) -> list[Member]:
    out = []
    for info, data in items:
        if info.name == "manifest.json":
            manifest = json.loads(data or b"{}")
            change(manifest)
            data = json.dumps(manifest).encode()
            info.size = len(data)
        out.append((info, data))
    return out


def retarget(items: list[Member], name: str, data: bytes) -> list[Member]:
    out = []
    for info, old in items:
        if info.name == name:
            info.size = len(data)
            old = data
        out.append((info, old))
    return out


# name -> (how to make the hostile file from a good capture, what the refusal says)
CASES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "absolute path": (
        lambda g, out: write(out, [*members(g), entry("/tmp/wb-evil-abs")]),
        "absolute or unsafe path",
    ),
    "dot-dot path": (
        lambda g, out: write(out, [*members(g), entry("sys/../../../wb-evil-dotdot")]),
        "leaves the capture's root",
    ),
    "symlink out of the root": (
        lambda g, out: write(
            out, [*members(g), entry("sys/escape", kind=tarfile.SYMTYPE, link="../../../etc")]
        ),
        "symbolic link 'sys/escape' -> '../../../etc' leaves",
    ),
    "absolute symlink": (
        lambda g, out: write(
            out, [*members(g), entry("sys/abs", kind=tarfile.SYMTYPE, link="/etc/passwd")]
        ),
        "leaves the capture's root",
    ),
    "symlink up through a link": (
        lambda g, out: write(
            out, [*members(g), entry("sys/x", kind=tarfile.SYMTYPE, link="proc/../../..")]
        ),
        "leaves the capture's root",
    ),
    "file written through a symlink": (
        lambda g, out: write(
            out,
            [
                *members(g),
                entry("sys/l", kind=tarfile.SYMTYPE, link="../proc"),
                entry("sys/l/evil"),
            ],
        ),
        "inside the symbolic link 'sys/l'",
    ),
    "hard link": (
        lambda g, out: write(
            out, [*members(g), entry("sys/h", kind=tarfile.LNKTYPE, link="proc/cmdline")]
        ),
        "hard link",
    ),
    "character device": (
        lambda g, out: write(out, [*members(g), entry("dev/kvm", kind=tarfile.CHRTYPE)]),
        "device, FIFO or other special file",
    ),
    "fifo": (
        lambda g, out: write(out, [*members(g), entry("dev/fifo", kind=tarfile.FIFOTYPE)]),
        "device, FIFO or other special file",
    ),
    "duplicate member": (
        lambda g, out: write(out, [*members(g), entry("proc/cmdline", b"other")]),
        "appears twice",
    ),
    "truncated": (
        lambda g, out: out.write_bytes(g.read_bytes()[: g.stat().st_size // 2]) and out,
        "truncated or corrupt archive",
    ),
    "garbage": (
        lambda g, out: out.write_bytes(os.urandom(4096)) and out,
        "truncated or corrupt archive",
    ),
    "plain tar, not gzip": (
        lambda g, out: out.write_bytes(gzip.decompress(g.read_bytes())) and out,
        "truncated or corrupt archive",
    ),
    "no manifest": (
        lambda g, out: write(out, [m for m in members(g) if m[0].name != "manifest.json"]),
        "no manifest.json",
    ),
    "manifest not JSON": (
        lambda g, out: write(out, retarget(members(g), "manifest.json", b"{not json")),
        "manifest.json is not valid JSON",
    ),
    "manifest of another schema": (
        lambda g, out: write(out, with_manifest(members(g), lambda m: m.update(schema="x/9"))),
        "is not a workbench.capture/1 manifest",
    ),
    "checksum mismatch": (
        lambda g, out: write(out, retarget(members(g), "proc/cmdline", b"intel_iommu=on\n")),
        "proc/cmdline: checksum mismatch",
    ),
    "member not in the manifest": (
        lambda g, out: write(out, [*members(g), entry("proc/extra", b"smuggled")]),
        "proc/extra: not listed in manifest.json",
    ),
    "listed file missing": (
        lambda g, out: write(out, [m for m in members(g) if m[0].name != "proc/cpuinfo"]),
        "proc/cpuinfo: listed in manifest.json but missing",
    ),
    "huge sparse entry": (
        lambda g, out: write(
            out,
            [
                *with_manifest(members(g), lambda m: m["sparse"].update({"dev/shm/lg": 2**50})),
                entry("dev/shm/lg", b""),
            ],
        ),
        "bad sparse entry",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_capture_is_refused(case: str, good: Path, tmp_path: Path) -> None:
    make, says = CASES[case]
    hostile = make(good, tmp_path / "hostile.tar.gz")
    private = tmp_path / "tmpdir"
    private.mkdir()
    env = {**os.environ, "TMPDIR": str(private)}
    for args in (("probe", "--capture"), ("logs", "--capture"), ("open",)):
        out = subprocess.run(
            [str(WORKBENCH), *args, str(hostile)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1  # one line, with the remedy
        assert "Ask for a new capture" in out.stderr or case == "missing file"
        assert list(private.iterdir()) == []  # the private temp dir is gone
    for evil in ("/tmp/wb-evil-abs", tmp_path.parent / "wb-evil-dotdot"):
        assert not Path(evil).exists()


def test_a_missing_capture_file_is_bad_usage(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(WORKBENCH), "probe", "--capture", str(tmp_path / "nope.tar.gz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "no such capture file" in out.stderr


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (Limits(member_bytes=1000), "bytes (limit 1000)"),
        (Limits(total_bytes=5000), "unpacks to more than 5000 bytes"),
        (Limits(members=20), "more than 20 members"),
    ],
)
def test_size_and_count_limits(good: Path, limits: Limits, says: str) -> None:
    with pytest.raises(CaptureError) as caught, open_capture(good, limits):
        pass
    assert says in caught.value.message
    assert caught.value.code == "CAPTURE_REFUSED"


def test_a_good_capture_opens_and_its_temp_dir_goes(good: Path) -> None:
    with open_capture(good) as root:
        assert (root / "manifest.json").is_file()
        assert (root / "sys/bus/pci/devices").is_dir()
        seen = root
    assert not seen.exists() and not seen.parent.exists()


# --- Members that land through other links (issue 11) --------------------------------------


def crafted(good: Path, out: Path, extra: list[Member], manifest: bytes | None = None) -> Path:
    """`good`'s members after `extra` (in that order), the manifest listing every extra file and
    link with its checksum, so the archive passes every check but the one under test."""
    items = members(good)
    for info, data in items:
        if info.name == "manifest.json":
            doc = json.loads(data or b"{}")
    for info, data in extra:
        if info.isreg() and info.name != "manifest.json":
            doc["files"][info.name] = hashlib.sha256(data or b"").hexdigest()
        elif info.issym():
            doc["links"][info.name] = info.linkname
    body = manifest if manifest is not None else json.dumps(doc).encode()
    items = retarget(items, "manifest.json", body)
    return write(out, [*extra, *items])


def link(name: str, target: str) -> Member:
    return entry(name, kind=tarfile.SYMTYPE, link=target)


def run_cli(
    args: tuple[str, ...], private: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real `workbench` with its temp dirs in `private`."""
    return subprocess.run(
        [str(WORKBENCH), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
        timeout=timeout,
        check=False,
    )


def tree_state(top: Path, skip: Path) -> dict[str, tuple[str, str]]:
    """Every path under `top` but `skip`: its kind and content or link target."""
    state: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        if here == skip:
            dirnames[:] = []
            continue
        for name in [*dirnames, *filenames]:
            path = here / name
            rel = str(path.relative_to(top))
            if path.is_symlink():
                state[rel] = ("link", str(path.readlink()))
            elif path.is_dir():
                state[rel] = ("dir", "")
            else:
                state[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return state


# The capture root is PRIVATE/workbench-capture-XXX/root: `../../..` from it is tmp_path.
# name -> (members placed before the good capture's, what the refusal says)
THROUGH_LINKS: dict[str, tuple[list[Member], str]] = {
    "manifest written through a link made through a later link": (
        [link("a/b/x/manifest.json", "../../../victim"), link("a/b/x", "../..")],
        "inside the symbolic link 'a/b/x'",
    ),
    "link planted and directory made outside through links": (
        [
            link("a/b/x/c/d/e/y/made/planted", "victim"),
            link("a/b/x/c/d/e/y", "../../../../../.."),
            link("a/b/x", "../.."),
        ],
        "inside the symbolic link",
    ),
    "file written before a link on its parent": (
        [entry("sys/zz/f"), link("sys/zz", "../proc")],
        "inside the symbolic link 'sys/zz'",
    ),
    "a member inside manifest.json": (
        [entry("manifest.json/x")],
        "inside the file 'manifest.json'",
    ),
    "a link named manifest.json": (
        [link("manifest.json", "proc/cmdline")],
        "appears twice",
    ),
    "a directory named like a file": (
        [entry("proc/cmdline/x")],
        "inside the file 'proc/cmdline'",
    ),
    "3,000 directories deep": (
        [entry("d/" * 3000 + "f")],
        "3001 directories deep (limit 128)",
    ),
    "a link 3,000 directories deep": (
        [link("sys/deep", "d/" * 3000 + "f")],
        "points 3001 directories deep (limit 128)",
    ),
    "a name longer than the file system takes": (
        [entry("sys/" + "n" * 300)],
        "has a name over 255 bytes",
    ),
}


def assert_refused(hostile: Path, says: str, tmp_path: Path) -> None:
    """Every command that opens a capture refuses `hostile`: exit 2, `says` in one line on
    stderr, no traceback, the private temp dir gone, nothing else under tmp_path changed."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    private = tmp_path / "private"
    private.mkdir()
    good = tmp_path / "good.tar.gz"
    before = tree_state(tmp_path, private)
    for args in (("probe", "--capture"), ("logs", "--capture"), ("open",), ("diff", str(good))):
        out = run_cli((*args, str(hostile)), private)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1, out.stderr
        assert list(private.iterdir()) == []
        assert tree_state(tmp_path, private) == before
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("case", sorted(THROUGH_LINKS))
def test_nothing_lands_through_a_link(case: str, good: Path, tmp_path: Path) -> None:
    """Members ordered so that one lands through a link made for another are refused, exit 2,
    one line, and nothing outside the private temp dir is written, made or planted."""
    extra, says = THROUGH_LINKS[case]
    assert_refused(crafted(good, tmp_path / "hostile.tar.gz", extra), says, tmp_path)


def chain(length: int) -> list[Member]:
    """A PCI device link at the head of `length` chained links, ending at a real directory."""
    items = [link("sys/bus/pci/devices/0000:00:1f.7", "../../../../c/l0")]
    items += [link(f"c/l{i}", f"l{i + 1}") for i in range(length)]
    return [*items, link(f"c/l{length}", "../sys/devices")]


def test_a_long_chain_of_links_is_refused(good: Path, tmp_path: Path) -> None:
    """5,000 chained links (nothing behind more than 40 is readable) are refused up front."""
    hostile = crafted(good, tmp_path / "hostile.tar.gz", chain(5000))
    assert_refused(hostile, "needs more than 40 links to resolve", tmp_path)


def test_short_chains_and_loops_of_links_still_open(good: Path, tmp_path: Path) -> None:
    """A chain of 40 links (the kernel's limit) resolves, one of 41 is refused, and a loop
    (unreadable, as on the machine it came from) does not stop the capture from opening."""
    loop = [link("c/loop/a", "b"), link("c/loop/b", "a")]
    with open_capture(crafted(good, tmp_path / "ok.tar.gz", [*chain(38), *loop])) as root:
        assert (root / "sys/bus/pci/devices/0000:00:1f.7").is_dir()
        assert (root / "c/loop/a").is_symlink()
    too_long = crafted(good, tmp_path / "long.tar.gz", chain(39))
    says = r"0000:00:1f\.7' needs more than 40 links"
    with pytest.raises(CaptureError, match=says), open_capture(too_long):
        pass


def test_a_deeply_nested_manifest_is_refused(good: Path, tmp_path: Path) -> None:
    """A manifest.json nested 100,000 deep is refused, not a RecursionError."""
    doc = json.loads(dict((i.name, d) for i, d in members(good))["manifest.json"] or b"")
    deep = json.dumps(doc)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    hostile = crafted(good, tmp_path / "hostile.tar.gz", [], manifest=deep.encode())
    assert_refused(hostile, "manifest.json is nested too deeply", tmp_path)


# --- SIGTERM while a capture is open ------------------------------------------------------


@pytest.fixture
def big(good: Path, tmp_path: Path) -> Path:
    """The good capture with 5,000 more small files first (and a log): a while to open."""
    extra = [entry(f"bulk/{i // 1000}/{i}", b"%d\n" % i) for i in range(5_000)]
    extra.append(entry("logs/workbench.log", b'{"event": "x", "level": "info"}\n' * 1000))
    return crafted(good, tmp_path / "big.tar.gz", extra)


@pytest.mark.parametrize(
    ("command", "when"),
    [
        ("probe", ("bulk",)),  # while unpacking
        ("logs", ("bulk",)),
        ("diff", ("bulk",)),
        ("diff", ("bulk", "manifest.json")),  # the first unpacked (manifest last), probes run
    ],
)
def test_sigterm_removes_the_unpacked_capture(
    command: str, when: tuple[str, ...], big: Path, good: Path, tmp_path: Path
) -> None:
    """SIGTERM while a capture is unpacked or read removes the tree, exits non-zero, and
    prints no traceback, as Ctrl-C does."""
    private = tmp_path / "private"
    private.mkdir()
    args = {
        "probe": ("probe", "--capture", str(big)),
        "logs": ("logs", "--capture", str(big)),
        "diff": ("diff", str(big), str(good)),
    }[command]
    proc = subprocess.Popen(
        [str(WORKBENCH), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
    )
    deadline = time.monotonic() + 30
    while not any(
        all((root / name).exists() for name in when)
        for root in private.glob("workbench-capture-*/root")
    ):
        assert proc.poll() is None, "finished before the tree was seen"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in err, err
    assert list(private.iterdir()) == []


# --- Any order of any members: nothing outside the temp dir changes -----------------------

# The temp root is PRIVATE/workbench-capture-XXX/root: `../../../victim` from it is the victim.
KIT: list[tuple[str, str, object]] = [
    ("link", "a/b/x", "../.."),  # the root, through a link
    ("link", "a/b/x/manifest.json", "../../../victim"),  # the manifest, through it
    ("link", "a/b/x/c/d/e/y", "../../../../../.."),  # beyond the root, through it
    ("link", "a/b/x/c/d/e/y/made/planted", "victim"),  # a link (and dirs) beyond the root
    ("file", "a/b/x/c/d/e/y/written", b"evil"),  # a file beyond the root
    ("sparse", "a/b/x/c/d/e/y/victim", 7),  # truncation through links
    ("sparse", "a/b/x/s", 4096),
    ("dir", "a/b/x/c", None),
    ("link", "a/q", "b/x"),  # a link to a link
    ("link", "a/q/manifest.json", "../../victim"),
    ("link", "a/b", "."),
    ("link", "dot", ".."),
    ("link", "manifest.json", "proc/cmdline"),
    ("file", "manifest.json/x", b"1"),
    ("file", "a/b/x/f", b"2"),
]
PARTS = ["a", "b", "x", "manifest.json"]
NAMES = st.lists(st.sampled_from(PARTS), min_size=1, max_size=4).map("/".join)
TARGETS = st.one_of(
    st.builds(
        lambda up, tail: "../" * up + tail,
        st.integers(0, 6),
        st.sampled_from(["victim", "manifest.json", "a", "a/b", "b/x", "x/manifest.json"]),
    ),
    st.sampled_from([".", "..", "../..", "../../..", "a/../..", ""]),
)
NOISE = st.one_of(
    st.tuples(st.just("file"), NAMES, st.binary(max_size=3)),
    st.tuples(st.just("dir"), NAMES, st.none()),
    st.tuples(st.just("link"), NAMES, TARGETS),
    st.tuples(st.just("sparse"), NAMES, st.integers(0, 4096)),
)
# Some of the kit and some noise, in any order.
MEMBERS = st.tuples(
    st.lists(st.sampled_from(KIT), unique=True, max_size=5), st.lists(NOISE, max_size=3)
).flatmap(lambda kit_noise: st.permutations(kit_noise[0] + kit_noise[1]))


def archive_of(path: Path, items: list[tuple[str, str, object]], manifest_at: int) -> Path:
    """A tar.gz of `items` with a manifest that lists every file, link and sparse file."""
    doc: dict[str, object] = {"schema": SCHEMA, "files": {}, "links": {}, "sparse": {}}
    out: list[Member] = []
    for kind, name, value in items:
        if kind == "file" and isinstance(value, bytes):
            doc["files"][name] = hashlib.sha256(value).hexdigest()  # type: ignore[index]
            out.append(entry(name, value))
        elif kind == "sparse":
            doc["sparse"][name] = value  # type: ignore[index]
            out.append(entry(name, b""))
        elif kind == "link":
            doc["links"][name] = value  # type: ignore[index]
            out.append(link(name, str(value)))
        else:
            out.append(entry(name, kind=tarfile.DIRTYPE))
    out.insert(min(manifest_at, len(out)), entry("manifest.json", json.dumps(doc).encode()))
    return write(path, out)


@settings(max_examples=250, deadline=None)
@given(items=MEMBERS, manifest_at=st.integers(0, 10))
def test_no_order_of_members_reaches_outside(
    items: list[tuple[str, str, object]], manifest_at: int
) -> None:
    """Whatever files, directories, links (up, to `.`, over the manifest, named like later
    directories) and sparse files come in whatever order: the capture opens or is refused,
    nothing outside its temp dir changes, and everything in it resolves inside it."""
    with tempfile.TemporaryDirectory() as name:
        sandbox = Path(name)
        (sandbox / "victim").write_text("precious\n")
        private = sandbox / "private"
        private.mkdir()
        hostile = archive_of(sandbox / "h.tar.gz", items, manifest_at)
        before = tree_state(sandbox, private)
        with (
            mock.patch.dict(os.environ, {"TMPDIR": str(private)}),
            mock.patch.object(tempfile, "tempdir", str(private)),
        ):
            try:
                with open_capture(hostile) as root:
                    event("opened")
                    for dirpath, dirnames, filenames in os.walk(root):
                        for entry_name in [*dirnames, *filenames]:
                            real = os.path.realpath(Path(dirpath) / entry_name)
                            assert real == str(root) or real.startswith(f"{root}/"), real
                    assert tree_state(sandbox, private) == before
            except CaptureError as exc:
                why = exc.message.partition(": not a usable capture: ")[2]
                event("refused: " + re.sub(r"'[^']*'|^\S+:|\d+", "N", why))
        assert tree_state(sandbox, private) == before
        assert list(private.iterdir()) == []


def test_a_signal_during_the_clean_up_waits_for_it() -> None:
    """SIGTERM during the clean-up is held until it ends, then exits 143; a second is ignored;
    the default action is back afterwards."""
    ran = []
    with pytest.raises(SystemExit) as caught, TerminationGuard() as guard, guard.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs between bytecodes: it has run by now
        ran.append("clean-up finished")
    assert caught.value.code == 128 + signal.SIGTERM
    assert ran == ["clean-up finished"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_handler_set_by_the_application_is_kept() -> None:
    """Where the application handles SIGTERM itself (the UI quits), the guard leaves it be."""
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with TerminationGuard():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def chained(count: int, prefix: str = "c") -> dict[str, str]:
    """`count` links, each to the next, the last to a plain name."""
    links = {f"{prefix}/l{i}": f"l{i + 1}" for i in range(count - 1)}
    return {**links, f"{prefix}/l{count - 1}": "end"}


@pytest.mark.parametrize(
    ("links", "refused"),
    [
        ({}, None),
        (chained(40), None),
        (chained(41), "c/l0"),
        ({"a": "b", "b": "a", "c": "a/x"}, None),  # a loop resolves to nothing, as in Linux
        ({"a": "a/x"}, "a"),  # a link through itself grows without end
        ({"d/l": "../e/l", "e/l": "../d/m", "d/m": "x"}, None),
        ({**chained(40, "p"), "p/l39": "../q/l0", **chained(2, "q")}, "p/l0"),
        ({f"{k}/x": f"../{k + 1}/x" for k in range(45)}, "0/x"),  # through directories
    ],
)
def test_link_chains_over_40_are_found(links: dict[str, str], refused: str | None) -> None:
    """The first link needing more than 40 links to resolve, by name; loops are no chain."""
    assert too_long_chain(links) == refused
