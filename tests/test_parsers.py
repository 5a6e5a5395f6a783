"""Parsers for cpuinfo, the kernel command line, meminfo, sysfs values and pci.ids: tables and
properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.cmdline import split_ids
from probes.looking_glass import required_mib
from probes.parsers import parse_cmdline, parse_cpuinfo, parse_meminfo, parse_resolution
from workbench.core.pci import is_bdf, parse_bool_attr, parse_hex
from workbench.core.pciids import PciIds

PCI_IDS_SAMPLE = b"""# comment
10de  NVIDIA Corporation
\t1d01  GP108 [GeForce GT 1030]
\t\t1043 85f4  GT 1030 subsystem
\t2206  GA102 [GeForce RTX 3080]
10df  Emulex Corporation
\t2206  Not an NVIDIA device
C 03  Display controller
"""


@pytest.mark.parametrize(
    ("text", "digits", "expected"),
    [
        ("0x10de\n", 4, "10de"),
        ("0x10DE", 4, "10de"),
        ("0x030000\n", 6, "030000"),
        ("0x3", 4, "0003"),
        ("10de", 4, "10de"),
        ("0x10de0", 4, None),
        ("zz", 4, None),
        ("", 4, None),
        (None, 4, None),
        ("0x", 4, None),
    ],
)
def test_parse_hex_table(text: str | None, digits: int, expected: str | None) -> None:
    """sysfs hex ids are normalised to lower-case fixed width, garbage to None."""
    assert parse_hex(text, digits) == expected


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_parse_hex_round_trips(value: int) -> None:
    """Any 16-bit id written as sysfs writes it parses back to the same number."""
    parsed = parse_hex(f"0x{value:04x}\n", 4)
    assert parsed is not None and int(parsed, 16) == value


@given(st.text())
def test_parse_hex_never_raises(text: str) -> None:
    """Arbitrary garbage gives a valid id or None, never an exception."""
    result = parse_hex(text, 4)
    assert result is None or (len(result) == 4 and int(result, 16) >= 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1\n", True), ("0", False), ("Y", True), ("N\n", False), ("2", None), (None, None)],
)
def test_parse_bool_attr(text: str | None, expected: bool | None) -> None:
    """sysfs booleans."""
    assert parse_bool_attr(text) is expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0000:01:00.0", True),
        ("0000:0a:1f.7", True),
        ("0000:01:00.8", False),
        ("01:00.0", False),
        ("0000:01:00.0x", False),
        ("0000:0A:00.0", False),
    ],
)
def test_is_bdf(text: str, ok: bool) -> None:
    """Only full lower-case sysfs addresses are PCI addresses."""
    assert is_bdf(text) is ok


def test_cmdline_table() -> None:
    """Quotes, `-`/`_` equivalence in names, values with `=`, and `--` ending kernel params."""
    text = 'BOOT_IMAGE=/vmlinuz =orphan "" ro vfio-pci.ids=10de:2206,10de:1aef foo="a b=c" quiet -- single'
    assert parse_cmdline(text) == [
        ("BOOT_IMAGE", "/vmlinuz"),
        ("ro", None),
        ("vfio_pci.ids", "10de:2206,10de:1aef"),
        ("foo", "a b=c"),
        ("quiet", None),
    ]


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_.]{0,12}", fullmatch=True),
            st.one_of(st.none(), st.from_regex(r"[a-z0-9:,]{0,12}", fullmatch=True)),
        ),
        max_size=12,
    )
)
def test_cmdline_round_trips(params: list[tuple[str, str | None]]) -> None:
    """Parameters joined with spaces parse back to themselves."""
    text = " ".join(k if v is None else f"{k}={v}" for k, v in params)
    assert parse_cmdline(text) == params


@given(st.text())
def test_cmdline_never_raises(text: str) -> None:
    """Any text, even with unbalanced quotes, parses to non-empty names; without quotes the names
    hold no whitespace."""
    for name, _ in parse_cmdline(text):
        assert name
        if '"' not in text:
            assert not any(c.isspace() for c in name)


def test_split_ids() -> None:
    """vfio-pci.ids: good ids lower-cased, malformed ones reported."""
    assert split_ids("10DE:2206,bogus,,1002:73a5:1002:0e3a") == (
        ["10de:2206", "1002:73a5:1002:0e3a"],
        ["bogus"],
    )


def test_cpuinfo_flags_are_common_to_all_processors() -> None:
    """Flags are the intersection over processors; vendor mapped; count from processor lines."""
    text = (
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: Ryzen\nflags\t\t: fpu svm sse\n\n"
        "processor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse\n"
    )
    info = parse_cpuinfo(text)
    assert (info.vendor, info.model, info.processors) == ("amd", "Ryzen", 2)
    assert info.flags == frozenset({"fpu", "sse"})


@given(st.text())
def test_cpuinfo_never_raises(text: str) -> None:
    """Garbage cpuinfo parses to something, never an exception."""
    info = parse_cpuinfo(text)
    assert info.processors >= 0


@pytest.mark.parametrize("value", ["²", "١٦", "1" * 400], ids=["superscript", "arabic", "400"])
def test_meminfo_ignores_non_ascii_and_huge_numbers(value: str) -> None:
    """A MemTotal of `²`, Arabic-Indic digits or 400 digits is skipped, never a crash."""
    assert parse_meminfo(f"MemTotal: {value} kB\nHugePages_Total: 4\n") == {"HugePages_Total": 4}


def test_meminfo() -> None:
    """kB values become bytes; counts stay counts; junk lines are skipped."""
    text = "MemTotal:       16384 kB\nHugePages_Total:      4\ngarbage\nBad: x kB\n"
    assert parse_meminfo(text) == {"MemTotal": 16384 * 1024, "HugePages_Total": 4}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1920x1080", (1920, 1080)),
        ("2560X1440", (2560, 1440)),
        ("0x100", None),
        ("1920", None),
        ("axb", None),
        ("99999x1", None),
        ("²x²", None),  # str.isdigit() takes these; int() does not
        ("١٩٢٠x١٠٨٠", None),  # Arabic-Indic digits: int() would take them
        ("1920 x 1080", None),
        ("1" * 400 + "x1", None),
    ],
)
def test_parse_resolution(text: str, expected: tuple[int, int] | None) -> None:
    """WIDTHxHEIGHT within sane bounds."""
    assert parse_resolution(text) == expected


@pytest.mark.parametrize(
    ("w", "h", "mib"),
    [(1920, 1080, 32), (1920, 1200, 32), (2560, 1440, 64), (3440, 1440, 64), (3840, 2160, 128)],
)
def test_looking_glass_size_formula(w: int, h: int, mib: int) -> None:
    """The official table: 1080p 32 MiB, 1440p 64 MiB, 4K 128 MiB."""
    assert required_mib(w, h) == mib


@given(st.integers(1, 16384), st.integers(1, 16384))
def test_looking_glass_size_is_a_sufficient_power_of_two(w: int, h: int) -> None:
    """Always a power of two that holds two frames plus 10 MiB."""
    mib = required_mib(w, h)
    assert mib & (mib - 1) == 0
    assert mib * 1024 * 1024 >= w * h * 4 * 2 + 10 * 1024 * 1024


def test_pci_ids_lookup_stays_inside_the_vendor_block() -> None:
    """Device names come from the vendor's own block; subsystem lines are not devices."""
    db = PciIds(PCI_IDS_SAMPLE)
    assert db.lookup("10de", "1d01") == ("NVIDIA Corporation", "GP108 [GeForce GT 1030]")
    assert db.lookup("10DE", "2206") == ("NVIDIA Corporation", "GA102 [GeForce RTX 3080]")
    assert db.lookup("10de", "1043") == ("NVIDIA Corporation", None)
    assert db.lookup("10df", "1d01") == ("Emulex Corporation", None)
    assert db.lookup("abcd", "0001") == (None, None)
    assert db.name("10de", "ffff") == "NVIDIA Corporation"


@given(
    st.binary(max_size=2000),
    st.from_regex(r"[0-9a-f]{4}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{4}", fullmatch=True),
)
def test_pci_ids_garbage_never_raises(data: bytes, vendor: str, device: str) -> None:
    """A corrupt pci.ids gives names or None, never an exception."""
    vname, dname = PciIds(data).lookup(vendor, device)
    assert vname is None or isinstance(vname, str)
    assert dname is None or isinstance(dname, str)


@pytest.mark.parametrize(
    ("size", "unit", "expected"),
    [("32", "M", 32), ("32768", "KiB", 32), ("9" * 400, "K", None), ("²", "M", None)],
    ids=["mib", "kib", "400-digit", "superscript"],
)
def test_domain_shmem_size(size: str, unit: str, expected: int | None) -> None:
    """A domain's <shmem> size: ASCII digits within bounds become MiB; `²` or 400 digits are an
    unknown size, never an OverflowError or an "invalid XML" verdict."""
    from workbench.virt.domains import parse_domain_xml

    xml = (
        "<domain type='kvm'><name>vm</name><devices><shmem name='looking-glass'>"
        f"<size unit='{unit}'>{size}</size></shmem></devices></domain>"
    )
    assert [s.size_mib for s in parse_domain_xml(xml).shmem] == [expected]
