"""One pasted or saved line reduced to the message it carries.

Users bring dmesg (with or without times, `-T`), journalctl (short and `-o json`), kern.log and
syslog prefixes, QEMU domain logs, virsh and virt-manager dialogs, container-prefixed lines and
markdown around lines. `message(line)` strips what is around the message, so the catalogue's
patterns see the same text whatever the layout. It never raises."""

from __future__ import annotations

import json
import re

MAX_LINE = 8192  # characters of a line that are examined: patterns stay linear and bounded

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|[@-Z\\-_])")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# Each strips one layer at the start of a line; they are applied until none matches.
_PREFIXES = (
    # markdown quote, list bullet, emphasis and code marks
    re.compile(r"^\s*(?:>+\s*|[-*+]\s+(?=\S)|\*\*|__|`+)"),
    # docker compose / podman: `name  | message`
    re.compile(r"^[\w.-]{1,64}\s{0,32}\|\s"),
    # dmesg: `[  12.345678]`, dmesg -T: `[Sat Nov 29 08:00:01 2025]`
    re.compile(r"^\s*\[\s{0,16}\d{1,10}\.\d{1,9}\]\s?"),
    re.compile(r"^\s*\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]\s?"),
    # syslog / kern.log / journalctl short: `Feb  3 14:20:24 host kernel: `
    re.compile(
        r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
        r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
        r" [\w.-]{1,255} [\w./@-]{1,255}(?:\[\d{1,10}\])?: "
    ),
    # QEMU domain log and libvirt log times: `2025-11-29T08:00:03.000000Z `,
    # `2025-11-29 08:00:01.000+0000: `
    re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?:?\s"),
)
_TRAILING = re.compile(r"(?:\*\*|__|`+)\s*$")


def message(line: str) -> str:
    """The message a line carries, without times, hosts, container names or markdown."""
    text = _ANSI.sub("", line[:MAX_LINE]).replace("\r", "").translate(_QUOTES)
    if text.lstrip().startswith("{"):
        text = _journal_message(text) or text
    for _ in range(8):  # each pass strips one layer; a line has only a few
        for prefix in _PREFIXES:
            stripped = prefix.sub("", text, count=1)
            if stripped != text:
                text = stripped
                break
        else:
            break
    return _TRAILING.sub("", text).strip()


def _journal_message(text: str) -> str | None:
    """MESSAGE of a `journalctl -o json` record (a list of bytes when it is not UTF-8)."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    value = record.get("MESSAGE", record.get("message", record.get("msg")))
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None
