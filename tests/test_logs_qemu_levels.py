"""QEMU's error_report lines state no level word: the option it failed on (`-device ...:`) or
a `vfio` message after the program's name make them errors, for `e` and the level filter."""

from __future__ import annotations

import pytest

from workbench.logs.linetimes import split_time
from workbench.logs.textlevel import candidates
from workbench.logs.textlines import line_level

DEVICE = (
    "2026-11-29T08:00:03.000000Z qemu-system-x86_64: -device vfio-pci,host=0000:04:00.0,"
    "id=hostdev0,bus=pci.5,addr=0x0: vfio 0000:04:00.0: group 11 is not viable"
)


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        (DEVICE, "error"),
        ("qemu-kvm: -drive file=/x.img,if=none: Could not open '/x.img'", "error"),
        ("2026-11-29T08:00:03.000000Z qemu-system-x86_64: vfio: Cannot reset device", "error"),
        ("2026-11-29T08:00:03.000000Z qemu-system-x86_64: warning: host lacks x2apic", "warning"),
        ("2026-11-29T08:00:01.000000Z qemu-system-x86_64: starting", None),
        ("2026-11-29 08:00:01.000+0000: starting up libvirt version: 10.0.0", None),
        ("the qemu-system-x86_64: -device line quoted mid-sentence", None),
    ],
)
def test_qemu_error_lines_are_errors(raw: str, level: str | None) -> None:
    """QEMU's own error lines are errors; its warnings stay warnings; other lines say none."""
    assert line_level(raw, split_time(raw)[1]) == level


def test_the_level_filter_looks_at_qemus_error_lines() -> None:
    """The fast level filter's regex picks QEMU's error line up (it would skip it otherwise)."""
    assert candidates("error").search(DEVICE.encode())
    assert candidates("warning").search(DEVICE.encode())
