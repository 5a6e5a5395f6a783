"""`explain --sos`: the report's facts are cited where the report holds them, and a cause the
machine's facts argue against is shown as unlikely."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

LSPCI = """\
01:00.0 VGA compatible controller [0300]: NVIDIA Corporation AD102 [GeForce RTX 4090] [10de:2684] (rev a1)
\tKernel driver in use: vfio-pci
\tKernel modules: nouveau
\tIOMMU group: 14

01:00.1 Audio device [0403]: NVIDIA Corporation AD102 High Definition Audio Controller [10de:22ba] (rev a1)
\tKernel driver in use: snd_hda_intel
\tKernel modules: snd_hda_intel
\tIOMMU group: 14
"""
QEMU = (
    "2026-11-29T10:00:01.123456Z qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0,"
    "id=hostdev0,bus=pci.5,addr=0x0: vfio 0000:01:00.0: group 14 is not viable\n"
    "Please ensure all devices within the iommu_group are bound to their vfio bus driver.\n"
)


def _report(top: Path) -> Path:
    for rel, text in {
        "version.txt": "sosreport: 4.5.6\n",
        "sos_commands/pci/lspci_-nnvv": LSPCI,
        "var/log/libvirt/qemu/win11.log": QEMU,
    }.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(text)
    (top / "sos_reports").mkdir()
    return top


def test_explain_cites_the_reports_lspci_and_marks_the_unlikely(tmp_path: Path) -> None:
    """The audio on snd_hda_intel is cited from the report's lspci (never a sysfs path it
    lacks); HOST_DRIVER_BOUND, argued against by the GPU on vfio-pci, is `?` and says so."""
    top = _report(tmp_path / "sosreport-h-1")
    done = run_cli("explain", "--sos", str(top), "--json")
    assert done.returncode == 1, done.stderr
    causes = {c["code"]: c for c in json.loads(done.stdout)["causes"]}
    member = causes["GROUP_MEMBER_NOT_VFIO"]
    cited = [e for e in member["evidence"] if "snd_hda_intel" in e["text"]]
    assert cited and all(e.get("source") == "sos_commands/pci/lspci_-nnvv" for e in cited), cited
    assert member["against"] == []
    assert causes["HOST_DRIVER_BOUND"]["against"] == ["gpu_on_passthrough_driver"]
    text = run_cli("explain", "--sos", str(top), "--color", "never").stdout
    assert "? A host driver owns" in text and "unlikely: the machine's facts argue" in text
    assert "/sys/bus/pci/devices" not in text
