"""One pasted or saved line reduced to the message it carries.

Users bring dmesg (with or without times, `-T`, `-x`, `--raw`), journalctl (short, short-iso,
short-precise, short-monotonic, short-full, verbose, `-o json`), kern.log and syslog prefixes
(RFC 3164, RFC 5424, ISO times), QEMU and libvirt logs, virsh and virt-manager dialogs, Proxmox
task logs, container-prefixed lines (docker compose, kubectl), markdown around lines and shell
prompts. `message(line)` strips what is around the message, so the catalogue's patterns see the
same text whatever the layout. It never raises, and its time is linear in the line (at most
MAX_LINE characters are examined, every regex is anchored and bounded)."""

from __future__ import annotations

import json
import re

MAX_LINE = 8192  # characters of a line that are examined: patterns stay linear and bounded

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CHARS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",  # a no-break space (forums, word processors)
        "\u200b": None,  # zero-width space
        "\ufeff": None,  # a byte order mark at the start of a file
        "\r": None,
        "\x00": None,
    }
)
_TIME_ISO = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
_TIME_BSD = r"[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})?"
_HOST_UNIT = r" [\w.-]{1,255} [\w./@-]{1,255}(?:\[\d{1,10}\])?: "
# Each strips one layer at the start of a line; they are applied until none matches.
_PREFIXES = (
    # markdown quote, list bullet or number, emphasis and code marks; a glyph before a message
    re.compile(r"^\s*(?:>+\s*|[-*+]\s+(?=\S)|\d{1,3}[.)]\s+|\*\*|__|`+|[❯›»▶•·→]\s*)"),
    # docker compose / podman: `name  | message`; kubectl: `[pod/name/container] message`
    re.compile(r"^[\w.-]{1,64}\s{0,32}\|\s"),
    re.compile(r"^\[pod/[^\]\s]{1,253}\]\s"),
    # shell prompts before a command: `root@pve:~# `, `[root@host ~]# `, `$ `, `(venv) $ `
    re.compile(
        r"^(?:\([\w.-]{1,64}\)\s)?(?:[\w.-]{1,64}@[\w.-]{1,255}(?::[^\s$#]{0,255})?\s?[$#]"
        r"|\[[\w.-]{1,64}@[\w.-]{1,255}[^\]]{0,255}\][$#]|[$#%])\s+(?=\S)"
    ),
    # kernel priority (dmesg --raw, syslog on the wire): `<3>`, `<34>1 ` (RFC 5424, below)
    re.compile(r"^<\d{1,3}>(?!1 \d{4}-)"),
    # dmesg -x: `kern  :err   : `
    re.compile(
        r"^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])"
        r"\s{0,8}:(?:emerg|alert|crit|err|warn|notice|info|debug)\s{0,8}:\s"
    ),
    # journalctl short-monotonic: `[   12.345678] host kernel: ` (the unit is kernel or has a
    # pid: `vfio-pci 0000:01:00.0: ` after a dmesg time is the message)
    re.compile(
        r"^\s*\[\s{0,16}\d{1,10}\.\d{1,9}\] [\w.-]{1,255} (?:kernel|[\w./@-]{1,255}\[\d{1,10}\]): "
    ),
    # dmesg: `[  12.345678]`, dmesg -T: `[Sat Nov 29 08:00:01 2025]`
    re.compile(r"^\s*\[\s{0,16}\d{1,10}\.\d{1,9}\]\s?"),
    re.compile(r"^\s*\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]\s?"),
    # syslog / kern.log / journalctl short, short-precise, short-iso: `Feb  3 14:20:24 host
    # kernel: `; short-full: `Sat 2025-11-29 08:00:01 CET host kernel: `
    re.compile(rf"^(?:{_TIME_BSD}|{_TIME_ISO}){_HOST_UNIT}"),
    re.compile(rf"^[A-Z][a-z]{{2}} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Z]{{1,5}})?{_HOST_UNIT}"),
    # RFC 5424: `<34>1 2025-11-29T08:00:01.003Z host app procid msgid [sd] message`
    re.compile(
        r"^<\d{1,3}>1 \S{1,64} \S{1,255} \S{1,48} \S{1,128} \S{1,32} "
        r"(?:-|(?:\[[^\]]{0,1024}\]){1,16})\s?"
    ),
    # journalctl -o verbose: `    MESSAGE=...`
    re.compile(r"^\s+MESSAGE="),
    # QEMU domain log and libvirt log times: `2025-11-29T08:00:03.000000Z `,
    # `2025-11-29 08:00:01.000+0000: `; dmesg --time-format iso
    re.compile(rf"^{_TIME_ISO}:?\s"),
    # libvirt's own log after its time: `1234: error : qemuProcessReportLogError:1952 : `
    re.compile(r"^\d{1,10}: (?:error|warning|info|debug) : [\w.]{1,128}:\d{1,6} : "),
    # virsh, virt-manager, Proxmox task logs
    re.compile(
        r"^(?:error: |TASK ERROR: |libvirt\.libvirtError: |libvirtError: "
        r"|(?:Error starting domain|Unable to complete install|Error connecting to"
        r" [^:]{1,200}): ['\"]?)"
    ),
)
# What marks a journal record whose MESSAGE is a byte array: the prefilter lets it through, and
# the literals are looked for again in its decoded text.
ENCODED_LITERALS = ('"message":[', '"message": [')
# The prefixes as one alternation, tried in their order: one match a layer, not one each.
_ANY_PREFIX = re.compile("|".join(f"(?:{p.pattern})" for p in _PREFIXES))
_ODD_CHARS = re.compile("[\u2018\u2019\u201c\u201d\u00a0\u200b\ufeff\r\x00]")
_FENCE = re.compile(r"^\s*(?:```|~~~)[\w+-]{0,32}\s*$")
_MARKS = re.compile(r"\*\*|`")  # markdown emphasis and code marks left inside the message


def message(line: str) -> str:
    """The message a line carries, without times, hosts, container names, prompts or markdown."""
    text = line[:MAX_LINE]
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if _ODD_CHARS.search(text):
        text = text.translate(_CHARS)
    if _FENCE.match(text):
        return ""  # a markdown code fence: the lines between are the log
    if text.lstrip().startswith("{"):
        text = journal_message(text) or text
    quote = ""  # the quote a dialog opened around the message: closed at its end
    for _ in range(12):  # each pass strips one layer; a line has only a few
        m = _ANY_PREFIX.match(text)
        if m is None or m.end() == 0:
            break
        if m.group().endswith(("'", '"')):
            quote = m.group()[-1]
        text = text[m.end() :]
    if "`" in text or "**" in text:
        text = _MARKS.sub("", text)
    text = text.strip()
    if quote and text.endswith(quote):
        text = text[:-1].rstrip()
    return text


def journal_message(text: str) -> str | None:
    """MESSAGE of a `journalctl -o json` record (a list of bytes when it is not UTF-8); the
    message of other JSON log lines (docker's `log`, `message`, `msg`)."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    if not isinstance(record, dict):
        return None
    for key in ("MESSAGE", "message", "msg", "log"):
        value = record.get(key)
        if isinstance(value, str):
            return value.rstrip("\n")
        if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
            return bytes(value).decode("utf-8", "replace").rstrip("\n")
    return None
