"""What a sosreport holds but Workbench cannot use is said as such: never "ask for a new
report", never "0 domains"."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

DOMAIN = (
    "<domain type='kvm'><name>win11</name><memory>1048576</memory>"
    "<os><type>hvm</type></os><devices></devices></domain>"
)


def _report(top: Path) -> Path:
    (top / "sos_commands/pci").mkdir(parents=True)
    (top / "sos_reports").mkdir()
    (top / "version.txt").write_text("sosreport: 4.5.6\n")
    return top


def _probe(top: Path) -> dict[str, Any]:
    done = run_cli("probe", "--sos", str(top), "--json")
    assert done.returncode in (0, 1), done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def test_an_unusable_lspci_is_not_a_missing_one(tmp_path: Path) -> None:
    """An lspci file that is a FIFO is "in this sosreport but could not be read": the header
    does not say the report lacks lspci, and pci.gpus names the file, not a plugin to run."""
    top = _report(tmp_path / "sosreport-a-1")
    os.mkfifo(top / "sos_commands/pci/lspci_-nnvv")
    doc = _probe(top)
    assert "lspci -nnvv" not in doc["host"]["sos_lacks"]
    gpus = next(p for p in doc["probes"] if p["id"] == "pci.gpus")
    assert "is in this sosreport but could not be read" in gpus["summary"], gpus["summary"]
    assert "sos report -o" not in gpus["summary"]


def test_a_link_out_of_the_report_is_said_not_followed(tmp_path: Path) -> None:
    """lspci as a link to a file outside the report: said as a link that leaves it (not
    followed, its target never read), not as a missing file."""
    top = _report(tmp_path / "sosreport-b-1")
    outside = tmp_path / "outside_lspci"
    outside.write_text("00:02.0 VGA compatible controller [0300]: X [8086:1912]\n")
    (top / "sos_commands/pci/lspci_-nnvv").symlink_to(outside)
    doc = _probe(top)
    gpus = next(p for p in doc["probes"] if p["id"] == "pci.gpus")
    assert "as a link to" in gpus["summary"] and "not followed" in gpus["summary"]
    assert "lspci -nnvv" not in doc["host"]["sos_lacks"]
    assert all("8086:1912" not in json.dumps(p["facts"]) for p in doc["probes"])


def test_definitions_none_of_which_could_be_read_are_not_0_domains(tmp_path: Path) -> None:
    """The only domain XML is cut short: libvirt.domains says its files could not be read
    (skip), vm.preflight does not pass on "no domains"."""
    top = _report(tmp_path / "sosreport-c-1")
    (top / "etc/libvirt/qemu").mkdir(parents=True)
    (top / "etc/libvirt/qemu/win11.xml").write_text(DOMAIN[:60])
    results = {p["id"]: p for p in _probe(top)["probes"]}
    domains = results["libvirt.domains"]
    assert domains["status"] == "skip", domains["summary"]
    assert "could not be read" in domains["summary"]
    assert results["vm.preflight"]["status"] == "skip"
    assert "no domains" not in results["vm.preflight"]["summary"]


CARD = """\
{bus}:00.0 VGA compatible controller [0300]: NVIDIA Corporation AD102 [10de:2684] (rev a1)
\tKernel driver in use: {driver}
\tIOMMU group: {group}

{bus}:00.1 Audio device [0403]: NVIDIA Corporation AD102 HD Audio [10de:22ba] (rev a1)
\tKernel driver in use: snd_hda_intel
\tIOMMU group: {group}

"""


def test_an_unreadable_driver_is_not_nothing_bound(tmp_path: Path) -> None:
    """A GPU whose driver line cannot be read (`vfio-pci?`): vfio.binding does not say "nothing
    bound" (it may be on vfio-pci); it says the driver is not recorded."""
    top = _report(tmp_path / "sosreport-d-1")
    lspci = CARD.format(bus="01", driver="vfio-pci?", group=14)
    (top / "sos_commands/pci/lspci_-nnvv").write_text(lspci)
    vfio = next(p for p in _probe(top)["probes"] if p["id"] == "vfio.binding")
    assert vfio["status"] == "skip", vfio["summary"]
    assert "not recorded" in vfio["summary"] and "nothing bound" not in vfio["summary"]
    assert vfio["facts"]["driver_not_recorded"] == ["0000:01:00.0"]


def test_two_identical_cards_name_their_ids_once(tmp_path: Path) -> None:
    """Two identical cards, neither on vfio-pci: the vfio-pci.ids remedy names each id once."""
    top = _report(tmp_path / "sosreport-e-1")
    lspci = CARD.format(bus="01", driver="nouveau", group=14) + CARD.format(
        bus="02", driver="nouveau", group=15
    )
    (top / "sos_commands/pci/lspci_-nnvv").write_text(lspci)
    vfio = next(p for p in _probe(top)["probes"] if p["id"] == "vfio.binding")
    remedies = [f["remedy"] for f in vfio["findings"] if f["code"] == "VFIO_NONE_BOUND"]
    assert remedies and "vfio-pci.ids=10de:2684,10de:22ba " in remedies[0], remedies
