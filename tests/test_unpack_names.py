"""The safe unpacker's member-name checks (capture.unpack MemberNames) after their shortcut: a
member's parent directories are walked once per directory, not once per member."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.capture.unpack import Limits, MemberNames
from workbench.core.errors import CaptureError


def names(*members: tuple[str, str]) -> None:
    """Add each (name, kind) in order, as the unpacker does while the archive streams by."""
    seen = MemberNames(Path("x.tar.gz"), Limits())
    for name, kind in members:
        seen.add(name, kind)


def test_a_file_over_an_implied_directory_is_refused_after_the_shortcut() -> None:
    """d/e/f, then d/e/g (its parent already implied: the shortcut), then a file `d`: refused,
    as without the shortcut."""
    with pytest.raises(CaptureError, match="inside the file 'd'"):
        names(("d/e/f", "file"), ("d/e/g", "file"), ("d", "file"))


def test_a_member_inside_a_file_is_refused() -> None:
    """A file d/e, then d/e/f: refused (d/e was never a directory)."""
    with pytest.raises(CaptureError, match="inside the file 'd/e'"):
        names(("d", "dir"), ("d/e", "file"), ("d/e/f", "file"))


def test_a_member_below_a_link_is_refused_whichever_comes_first() -> None:
    """A link d/l then d/l/x, and d/l/x then a link d/l: both refused."""
    with pytest.raises(CaptureError, match="inside the symbolic link"):
        names(("d/a", "file"), ("d/l", "symbolic link"), ("d/l/x", "file"))
    with pytest.raises(CaptureError, match="inside the symbolic link"):
        names(("d/a", "file"), ("d/l/x", "file"), ("d/l", "symbolic link"))


def test_many_siblings_in_one_directory_pass() -> None:
    """Thousands of files in directories already seen are accepted (the common case)."""
    names(
        *(
            (f"sys/bus/pci/devices/0000:00:{i:02x}.0/{f}", "file")
            for i in range(64)
            for f in ("vendor", "device", "class")
        )
    )


def test_a_long_multibyte_name_is_still_counted_in_bytes() -> None:
    """A part of 130 two-byte characters (260 bytes) is over NAME_MAX; 127 of them pass."""
    with pytest.raises(CaptureError, match="over 255 bytes"):
        names(("d/" + "é" * 130, "file"))
    names(("d/" + "é" * 127, "file"))
