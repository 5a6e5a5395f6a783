"""libvirt.connection judges the capabilities: a QEMU without a kvm domain type fails
(LIBVIRT_NO_KVM), live or recorded; what a capture did not record is said, not judged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import report_for
from tests.virt_helpers import Domain, write_node
from workbench.capture.collect import capture
from workbench.capture.collectors import Source, collect_libvirt
from workbench.capture.unpack import open_capture
from workbench.core.host import Host

MakeRoot = Callable[..., Path]
QEMU = {
    "uri": "qemu:///system",
    "hypervisor": "QEMU",
    "hypervisor_version": "8.2.2",
    "libvirt_version": "10.0.0",
    "hostname": "box",
}


def capabilities_xml(*domain_types: str) -> str:
    """virConnectGetCapabilities as libvirt's QEMU driver answers it, for x86_64 guests."""
    domains = "".join(f"<domain type='{t}'/>" for t in domain_types)
    return (
        "<capabilities><host><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model></cpu>"
        "</host><guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize>"
        f"<emulator>/usr/bin/qemu-system-x86_64</emulator>{domains}</arch></guest>"
        "</capabilities>"
    )


def recorded_root(make_root: MakeRoot, capabilities: str | None, **info: str) -> Path:
    """A machine root whose libvirt/ records a hypervisor (and its capabilities, if given)."""
    root = make_root("asrock-z170-gtx960")
    lib = root / "libvirt"
    lib.mkdir()
    (lib / "connection.json").write_text(json.dumps({**QEMU, **info}))
    (lib / "domains.json").write_text("[]")
    if capabilities is not None:
        (lib / "capabilities.xml").write_text(capabilities)
    return root


def test_the_test_driver_has_no_kvm_and_no_verdict_on_it() -> None:
    """The test driver (type TEST) offers only 'test' guests: kvm false in the facts, no finding."""
    report = report_for("/", "test:///default", only=["libvirt.connection"])
    result = report.get("libvirt.connection")
    assert result.status == "pass"
    assert result.facts["kvm"] is False
    assert result.facts["guest_arches"]
    assert result.findings == []


@pytest.mark.parametrize(
    ("types", "status", "codes"),
    [
        (("qemu",), "fail", ["LIBVIRT_NO_KVM"]),
        (("qemu", "kvm"), "pass", []),
    ],
)
def test_a_recorded_qemu_is_judged_by_its_kvm_domain_type(
    make_root: MakeRoot, types: tuple[str, ...], status: str, codes: list[str]
) -> None:
    """A recorded QEMU whose capabilities offer no kvm type fails with LIBVIRT_NO_KVM and the
    /dev/kvm remedy; one that offers kvm passes."""
    root = recorded_root(make_root, capabilities_xml(*types))
    result = report_for(root, only=["libvirt.connection"]).get("libvirt.connection")
    assert result.status == status
    assert [f.code for f in result.findings] == codes
    assert (result.facts["kvm"], result.facts["guest_arches"]) == ("kvm" in types, ["x86_64"])
    if codes:
        assert "/dev/kvm" in (result.findings[0].remedy or "")
        assert "virt-host-validate" in (result.findings[0].remedy or "")


def test_capabilities_not_recorded_are_said_not_judged(make_root: MakeRoot) -> None:
    """A capture without capabilities.xml (an older one): 'not recorded', kvm unknown, and no
    LIBVIRT_NO_KVM finding from the absence of evidence."""
    root = recorded_root(make_root, None)
    result = report_for(root, only=["libvirt.connection"]).get("libvirt.connection")
    assert result.status == "pass"
    assert result.findings == []
    assert result.facts["kvm"] is None and result.facts["guest_arches"] is None
    assert result.facts["capabilities"].startswith("not recorded")
    assert "capabilities.xml" in result.facts["capabilities"]


def test_a_capture_judges_the_capabilities_it_recorded(make_root: MakeRoot, tmp_path: Path) -> None:
    """A capture of the test driver records its capabilities: the report of the capture says
    the same kvm and guest architectures as the live one."""
    node = write_node(tmp_path / "node.xml", [Domain("win11")])
    uri = f"test://{node}"
    live = report_for("/", uri, only=["libvirt.connection"]).get("libvirt.connection")
    archive = tmp_path / "c.tar.gz"
    capture(
        Source(Host(make_root("asrock-z170-gtx960")), connect=uri),
        archive,
        collectors={"libvirt": collect_libvirt},
    )
    with open_capture(archive) as root:
        recorded = report_for(root, only=["libvirt.connection"]).get("libvirt.connection")
    assert recorded.facts["recorded"] is True
    assert (recorded.facts["kvm"], recorded.facts["guest_arches"]) == (
        live.facts["kvm"],
        live.facts["guest_arches"],
    )
    assert recorded.findings == []
