"""Pure parsers for the text files probes read (cpuinfo, the kernel command line, meminfo)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.text import parse_uint

MAX_MEMINFO = 1 << 62  # larger than any machine: a bigger value is not believed
MAX_SIDE = 16384


@dataclass(frozen=True)
class CpuInfo:
    vendor: str | None  # "intel", "amd" or the raw vendor_id
    vendor_id: str | None
    model: str | None
    flags: frozenset[str]
    processors: int
    has_flags: bool = True  # False when no `flags` line was seen (an empty or cut file)


_VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "amd"}


def parse_cpuinfo(text: str) -> CpuInfo:
    """The CPU vendor, model and the flags every processor reports (intersection)."""
    vendor_id = model = None
    flag_sets: list[frozenset[str]] = []
    processors = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == "processor":
            processors += 1
        elif key == "vendor_id" and vendor_id is None:
            vendor_id = value or None
        elif key == "model name" and model is None:
            model = value or None
        elif key == "flags":
            flag_sets.append(frozenset(value.split()))
    flags = frozenset.intersection(*flag_sets) if flag_sets else frozenset()
    vendor = _VENDORS.get(vendor_id, vendor_id) if vendor_id else None
    return CpuInfo(vendor, vendor_id, model, flags, processors or len(flag_sets), bool(flag_sets))


def parse_cmdline(text: str) -> list[tuple[str, str | None]]:
    """Kernel parameters in order as (name, value); `"..."` quoting as the kernel does it.

    Names are normalised the way the kernel matches module parameters: `-` and `_` are the
    same before the first `=` (vfio-pci.ids == vfio_pci.ids). Everything after a bare `--`
    belongs to init and is dropped.
    """
    params: list[tuple[str, str | None]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start, quoted = i, False
        while i < n and (quoted or not text[i].isspace()):
            if text[i] == '"':
                quoted = not quoted
            i += 1
        word = text[start:i].replace('"', "")
        if word == "--":
            break
        if not word:
            continue  # a lone `""`
        name, eq, value = word.partition("=")
        if not name:
            continue  # `=value` names nothing
        params.append((name.replace("-", "_"), value if eq else None))
    return params


def parse_meminfo(text: str) -> dict[str, int]:
    """`/proc/meminfo` as {key: value}; values in kB lines are converted to bytes."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        fields = rest.split()
        value = parse_uint(fields[0], limit=MAX_MEMINFO >> 10) if sep and fields else None
        if value is None:
            continue
        if len(fields) > 1 and fields[1] == "kB":
            value *= 1024
        out[key.strip()] = value
    return out


def parse_resolution(text: str) -> tuple[int, int] | None:
    """`2560x1440` -> (2560, 1440); None when malformed or out of range."""
    width, sep, height = text.strip().lower().partition("x")
    if not sep or width != width.strip() or height != height.strip():
        return None
    w, h = parse_uint(width, limit=MAX_SIDE), parse_uint(height, limit=MAX_SIDE)
    if w is None or h is None or not (w >= 1 and h >= 1):
        return None
    return w, h
