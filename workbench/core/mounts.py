"""/proc/mounts fields as the kernel writes them: a mount point's space, tab, newline and
backslash are octal escapes (\\040, \\011, \\012, \\134)."""

from __future__ import annotations

import re

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape_mount(field: str) -> str:
    """A /proc/mounts field with its octal escapes decoded (`/a\\040b` -> `/a b`)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)
