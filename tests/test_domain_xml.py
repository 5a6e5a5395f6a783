"""Domain XML parsing, on virt-manager's test-driver machine (real inputs nobody here wrote)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import SHARED
from workbench.core.host import _guest_name
from workbench.virt.actions import tcg_xml
from workbench.virt.domains import parse_domain_xml

TESTDRIVER = SHARED / "peer-data" / "virt-manager" / "testdriver.xml"


@pytest.fixture(scope="module")
def virt_manager_domains() -> dict[str, str]:
    if not TESTDRIVER.exists():
        pytest.skip("../shared/peer-data/virt-manager/testdriver.xml not present")
    node = ET.parse(TESTDRIVER).getroot()  # noqa: S314 - a known test file
    return {
        d.findtext("name") or "": ET.tostring(d, encoding="unicode") for d in node.findall("domain")
    }


def test_every_virt_manager_domain_parses(virt_manager_domains: dict[str, str]) -> None:
    """All 15 domains of the file parse, each with its name."""
    parsed = [parse_domain_xml(xml) for xml in virt_manager_domains.values()]
    assert len(parsed) == 15
    assert all(p.name for p in parsed)
    assert sum(p.uuid is None for p in parsed) == 7  # libvirt makes one up for these


def test_many_devices(virt_manager_domains: dict[str, str]) -> None:
    """test-many-devices: two PCI hostdevs (one without a domain attribute, one in domain 3),
    a pty agent channel, two shmem regions; graphics without their passwords."""
    dom = parse_domain_xml(virt_manager_domains["test-many-devices"])
    assert [h.bdf for h in dom.hostdevs] == ["0000:00:19.0", "0003:00:19.0"]
    assert all(h.managed for h in dom.hostdevs)
    assert dom.agent is not None and (dom.agent.kind, dom.agent.path) == ("pty", None)
    assert [(s.name, s.size_mib) for s in dom.shmem] == [("shmem0", 4), ("shmem7", 8192)]
    shown = dom.to_dict()
    assert {"type": "vnc", "port": 5903, "listen": None} in shown["graphics"]
    assert "foobar" not in repr(shown) and "newpass" not in repr(shown)


def test_unix_agent_channel_path(virt_manager_domains: dict[str, str]) -> None:
    """test-clone's agent channel is a unix socket with its host-side path."""
    dom = parse_domain_xml(virt_manager_domains["test-clone"])
    assert dom.agent is not None
    assert dom.agent.path == (
        "/var/lib/libvirt/qemu/channel/target/test-for-clone/org.qemu.guest_agent.0"
    )


@pytest.mark.parametrize("text", ["", "<domain", "not xml at all", "\x00\x01"])
def test_garbage_xml_is_a_value_error(text: str) -> None:
    """Non-XML is refused with ValueError (which the probe reports), never a crash."""
    with pytest.raises(ValueError, match="does not parse"):
        parse_domain_xml(text)


def test_tcg_xml_drops_kvm_only_parts() -> None:
    """The TCG fallback runs the same domain as type qemu without a host-passthrough CPU."""
    xml = (
        "<domain type='kvm'><name>w</name><cpu mode='host-passthrough' check='none'>"
        "<topology sockets='1' cores='4' threads='2'/></cpu><devices/></domain>"
    )
    out = tcg_xml(xml)
    assert out.startswith("<domain type='qemu'>")
    assert "host-passthrough" not in out and "<devices/>" in out


@pytest.mark.parametrize(
    ("cmdline", "name"),
    [
        (["/usr/bin/qemu-system-x86_64", "-name", "guest=win11,debug-threads=on"], "win11"),
        (["qemu-system-x86_64", "-name", "plain"], "plain"),
        (["qemu-system-x86_64", "-m", "4096"], None),
        (["-name"], None),
    ],
)
def test_guest_name_from_qemu_cmdline(cmdline: list[str], name: str | None) -> None:
    """libvirt names its QEMU processes with -name guest=NAME."""
    assert _guest_name(cmdline) == name


def test_shmem_units() -> None:
    """shmem sizes in other units are converted to MiB."""
    xml = (
        "<domain><name>x</name><devices><shmem name='looking-glass'><size unit='G'>1</size>"
        "</shmem><shmem name='b'><size unit='KiB'>2048</size></shmem></devices></domain>"
    )
    assert [s.size_mib for s in parse_domain_xml(xml).shmem] == [1024, 2]


@pytest.mark.parametrize(
    ("port", "bus", "parsed"),
    [
        ("5900", "0x01", (5900, "0000:01:00.0")),
        ("٥٩٠٠", "0x01", (None, "0000:01:00.0")),  # Arabic-Indic digits: int() took them
        ("5_900", "0x0_1", (None, None)),  # underscores: int() took them too
        ("9" * 4000, "0x" + "f" * 4000, (None, None)),  # absurd lengths
        ("-1", "0x٣", (None, None)),  # autoport; a non-ASCII hex digit
    ],
)
def test_numbers_in_domain_xml_are_ascii(port: str, bus: str, parsed: tuple[object, ...]) -> None:
    """A graphics port and a hostdev address are ASCII numbers; anything else is not read."""
    xml = (
        f"<domain><name>x</name><devices><graphics type='spice' port='{port}'/>"
        "<hostdev mode='subsystem' type='pci'><source>"
        f"<address domain='0x0000' bus='{bus}' slot='0x00' function='0x0'/>"
        "</source></hostdev></devices></domain>"
    )
    config = parse_domain_xml(xml)
    bdfs = [h.bdf for h in config.hostdevs]
    assert (config.graphics[0].port, bdfs[0] if bdfs else None) == parsed
