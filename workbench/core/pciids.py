"""Vendor and device names from the pci.ids database, looked up without parsing the whole file."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

SEARCH_PATHS = (
    "/usr/share/misc/pci.ids",
    "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids",
)

_NEXT_TOP_LEVEL = re.compile(rb"\n[^\t#\n]")


def find_database() -> Path | None:
    """`$WORKBENCH_PCI_IDS`, else the first pci.ids of the usual places."""
    override = os.environ.get("WORKBENCH_PCI_IDS")
    candidates = (override,) if override else SEARCH_PATHS
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class PciIds:
    """Names for vendor:device ids. The file is read once (1.3 MB) and searched with bytes.find,
    which is far cheaper than parsing its 36,000 lines for the handful of ids a report needs."""

    def __init__(self, data: bytes) -> None:
        self._data = b"\n" + data
        self._cache: dict[tuple[str, str | None], tuple[str | None, str | None]] = {}
        self._blocks: dict[str, tuple[str, int, int] | None] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> PciIds | None:
        db = path or find_database()
        if db is None:
            return None
        try:
            return cls(db.read_bytes())
        except OSError:
            return None

    def lookup(self, vendor: str | None, device: str | None) -> tuple[str | None, str | None]:
        """(vendor name, device name); either None when unknown."""
        if vendor is None:
            return None, None
        key = (vendor.lower(), device.lower() if device else None)
        if key not in self._cache:
            self._cache[key] = self._find(*key)
        return self._cache[key]

    def _vendor(self, vendor: str) -> tuple[str, int, int] | None:
        """(name, start, end) of a vendor's block, found once per vendor."""
        if vendor not in self._blocks:
            data = self._data
            start = data.find(b"\n" + vendor.encode("ascii", "replace") + b"  ")
            if start < 0:
                self._blocks[vendor] = None
            else:
                line_end = data.find(b"\n", start + 1)
                name = data[start + 7 : line_end].decode("utf-8", "replace").strip()
                # The block ends at the next line that starts with neither a tab nor '#'.
                block = _NEXT_TOP_LEVEL.search(data, line_end)
                self._blocks[vendor] = (name, line_end, block.start() if block else len(data))
        return self._blocks[vendor]

    def _find(self, vendor: str, device: str | None) -> tuple[str | None, str | None]:
        data = self._data
        found = self._vendor(vendor)
        if found is None:
            return None, None
        vendor_name, line_end, block_end = found
        if device is None:
            return vendor_name, None
        needle = b"\n\t" + device.encode("ascii", "replace") + b"  "
        at = data.find(needle, line_end, block_end)
        if at < 0:
            return vendor_name, None
        end = data.find(b"\n", at + 1)
        return vendor_name, data[at + len(needle) : end].decode("utf-8", "replace").strip()

    def name(self, vendor: str | None, device: str | None) -> str | None:
        """`Vendor Device`, as lspci prints it; None when the vendor is unknown."""
        vname, dname = self.lookup(vendor, device)
        if vname is None:
            return None
        return f"{vname} {dname}" if dname else vname


_shared: PciIds | None = None
_shared_loaded = False
_lock = threading.Lock()


def shared() -> PciIds | None:
    """The machine's pci.ids, loaded once per process (None when not installed)."""
    global _shared, _shared_loaded
    with _lock:
        if not _shared_loaded:
            _shared = PciIds.load()
            _shared_loaded = True
        return _shared
