"""The display fallback chain: Looking Glass, then a viewer, then the URI, each with a reason."""

from __future__ import annotations

from pathlib import Path

from workbench.virt.display import display_chain
from workbench.virt.domains import parse_domain_xml

LG_AND_SPICE = (
    "<domain type='kvm'><name>win11</name><devices>"
    "<shmem name='looking-glass'><model type='ivshmem-plain'/><size unit='M'>32</size></shmem>"
    "<graphics type='spice' port='5900' autoport='yes' listen='127.0.0.1' passwd='hunter2'/>"
    "</devices></domain>"
)


def tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding executables with these names (what `which` finds)."""
    for name in names:
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return str(tmp_path)


def test_looking_glass_first_when_installed(tmp_path: Path) -> None:
    """Client installed and an LG shmem in the domain: Looking Glass serves."""
    chain = display_chain(
        parse_domain_xml(LG_AND_SPICE),
        "qemu:///system",
        tools(tmp_path, "looking-glass-client", "virt-viewer"),
    )
    plan = chain.run()
    assert plan.served_by == "looking-glass"
    assert plan.value.argv == (str(tmp_path / "looking-glass-client"), "-f", "/dev/kvmfr0")


def test_viewer_when_looking_glass_is_missing(tmp_path: Path) -> None:
    """No client: virt-viewer attaches to the domain; the chooser says why LG is unavailable."""
    chain = display_chain(
        parse_domain_xml(LG_AND_SPICE), "qemu:///system", tools(tmp_path, "virt-viewer")
    )
    assert chain.availability() == [
        ("looking-glass", "looking-glass-client is not installed"),
        ("viewer", None),
        ("uri", None),
    ]
    result = chain.run()
    assert result.served_by == "viewer"
    assert result.value.argv == (
        str(tmp_path / "virt-viewer"),
        "--connect",
        "qemu:///system",
        "--attach",
        "win11",
    )
    assert result.tried == [
        {"name": "looking-glass", "skipped": "looking-glass-client is not installed"}
    ]


def test_uri_as_the_last_resort(tmp_path: Path) -> None:
    """Nothing installed: the SPICE URI is shown (never the password)."""
    result = display_chain(parse_domain_xml(LG_AND_SPICE), "qemu:///system", tools(tmp_path)).run()
    assert (result.served_by, result.value.uri) == ("uri", "spice://127.0.0.1:5900")
    assert "hunter2" not in repr(result)


def test_operator_picks_the_viewer(tmp_path: Path) -> None:
    """The operator may skip Looking Glass even when it is available."""
    chain = display_chain(
        parse_domain_xml(LG_AND_SPICE),
        "qemu:///system",
        tools(tmp_path, "looking-glass-client", "remote-viewer"),
    )
    result = chain.run(start_at="viewer")
    assert result.value.argv == (str(tmp_path / "remote-viewer"), "spice://127.0.0.1:5900")
