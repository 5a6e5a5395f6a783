"""workbench.core.devstate: one reader of a device's state (iomem, BARs, power, config) and
the one boot-framebuffer-in-a-BAR test, through a Host on real machine roots."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from workbench.core import devstate
from workbench.core.devstate import Range
from workbench.core.host import Host

SYSFS = "sys/bus/pci/devices/0000:01:00.0"


def _root(make_root: Callable[..., Path], **files: str | bytes) -> Path:
    root = make_root("demo-workstation")
    for rel, content in files.items():
        path = root / rel.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def test_zeroed_iomem_is_not_recorded(make_root: Callable[..., Path]) -> None:
    """/proc/iomem read without root (every address 0) gives no ranges and says why."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(
        "00000000-00000000 : PCI Bus 0000:01\n  00000000-00000000 : 0000:01:00.0\n"
        "    00000000-00000000 : BOOTFB\n"
    )
    read = devstate.iomem(Host(root))
    assert read.ranges is None and read.why is not None and "as root" in read.why


def test_absent_iomem_is_not_recorded(make_root: Callable[..., Path]) -> None:
    """No /proc/iomem in the root: None with why, never an empty list."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").unlink(missing_ok=True)
    read = devstate.iomem(Host(root))
    assert read.ranges is None and read.why


def test_iomem_is_capped_and_counts_what_it_dropped() -> None:
    """Past the limit ranges are counted, not kept."""
    text = "".join(f"{i:08x}-{i:08x} : 0000:01:00.0\n" for i in range(1, 11))
    read = devstate.parse_iomem(text, limit=4)
    assert (len(read.ranges or []), read.dropped) == (4, 6)


def test_bars_from_resource(make_root: Callable[..., Path]) -> None:
    """Memory BARs and the ROM from `resource`, named by index; I/O and empty lines skipped."""
    resource = (
        "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
        "0x00000000e0000000 0x00000000efffffff 0x000000000014220c\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x000000000000e000 0x000000000000e07f 0x0000000000040101\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x00000000f7000000 0x00000000f707ffff 0x0000000000046200\n"
    )
    root = _root(make_root, **{f"{SYSFS}/resource": resource})
    bars = devstate.bars(Host(root), SYSFS)
    assert [(b.name, b.start) for b in bars or []] == [
        ("0", 0xF6000000),
        ("1", 0xE0000000),
        ("6", 0xF7000000),
    ]


def test_config_is_never_read_in_d3cold(make_root: Callable[..., Path]) -> None:
    """power_state D3cold: config space is not read (reading wakes the device); D0: it is."""
    root = _root(
        make_root,
        **{
            f"{SYSFS}/config": b"\xde\x10\x84\x24" + b"\x00" * 60,
            f"{SYSFS}/power_state": "D3cold\n",
        },
    )
    host = Host(root)
    power = devstate.power_state(host, SYSFS)
    assert power == "D3cold"
    assert devstate.config_head(host, SYSFS, power) is None
    assert devstate.config_head(host, SYSFS, "D0") == b"\xde\x10\x84\x24" + b"\x00" * 60


def _brute(fbs: list[Range], owners: list[Range]) -> set[int]:
    return {
        i
        for i, fb in enumerate(fbs)
        if any(o.start <= fb.end and o.end >= fb.start for o in owners)
    }


def test_framebuffer_overlaps_agrees_with_the_pairwise_test() -> None:
    """The sorted lookup finds a framebuffer overlapping an owner exactly when a pairwise test
    does (random nested and disjoint ranges), and the owner it names does overlap."""
    rng = random.Random(13)
    for _ in range(200):
        owners = []
        for _ in range(rng.randint(0, 12)):
            start = rng.randint(0, 1000)
            owners.append(Range(start, start + rng.randint(0, 300), "owner"))
        fbs = []
        for _ in range(rng.randint(1, 6)):
            start = rng.randint(0, 1300)
            fbs.append(Range(start, start + rng.randint(0, 50), "BOOTFB"))
        pairs = devstate.framebuffer_overlaps(fbs, owners)
        assert {fbs.index(fb) for fb, _ in pairs} == _brute(fbs, owners)
        assert all(o.start <= fb.end and o.end >= fb.start for fb, o in pairs)


def test_framebuffer_overlaps_is_n_log_n() -> None:
    """5,000 framebuffers against 5,000 ranges (the 281 kB paste that took 4.4 s) in well
    under a second."""
    owners = [
        Range(i * 0x10000, i * 0x10000 + 0xFFF, f"0000:{i % 256:02x}:00.0") for i in range(5000)
    ]
    fbs = [
        Range(0x60000000 + i * 0x1000, 0x60000000 + i * 0x1000 + 0x7FF, "BOOTFB")
        for i in range(5000)
    ]
    start = time.perf_counter()
    assert devstate.framebuffer_overlaps(fbs, owners) == []
    assert time.perf_counter() - start < 0.5


def test_capture_manifest_saying_zeroed_is_not_recorded(make_root: Callable[..., Path]) -> None:
    """A capture whose manifest says `facts.iomem.addresses_zeroed` gives no ranges, whatever
    its iomem file holds."""
    import json

    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text("c0000000-cfffffff : 0000:01:00.0\n")
    manifest = root / "manifest.json"
    loaded = json.loads(manifest.read_text()) if manifest.exists() else {}
    loaded.setdefault("facts", {})["iomem"] = {"recorded": True, "addresses_zeroed": True}
    manifest.write_text(json.dumps(loaded))
    read = devstate.iomem(Host(root))
    assert read.ranges is None and read.why == devstate.ZEROED


def test_iomem_line_reader_is_linear_on_hostile_lines() -> None:
    """Hostile 100 kB lines (spaces, digits, dashes, `0-0 : ` runs) are read in well under
    half a second each."""
    size = 100_000
    lines = [" " * size, "0" * size, "0-" * (size // 2), "0-0 : " * (size // 6), "-" * size + "x"]
    for line in lines:
        start = time.perf_counter()
        devstate.iomem_range(line)
        devstate.parse_bars(line)
        assert time.perf_counter() - start < 0.5, line[:20]
