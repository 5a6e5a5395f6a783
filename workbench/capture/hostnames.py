"""Where a host name can stand, for `--redact hostnames`: a URI's host, after `user@`, a whole
hostname file, the value of a host field (JSON `hostname`, XML `listen=`, `<host name=...>`,
`host=` in text) and free text (JSON strings, XML text and attributes holding words). Never a
JSON key, an element or attribute name, an identifier (`kvm.ignore_msrs`, `kvm_intel`), a path
(`/dev/kvm`) or a one-word value of another field (`type='kvm'`): a host called `kvm` or `vm`
leaves the capture readable. In a log (`log=True`: kernel, QEMU and libvirt lines are free text
that names the machine anywhere, as in `Hostname set to <name>` or a syslog prefix) a name is
replaced wherever it stands as a word, except as a tag (`kvm:`, `name[12]:`), so a host called
`kvm` still leaves `kvm: disabled by bios` readable."""

from __future__ import annotations

import re
from collections.abc import Callable

Replace = Callable[[bytes], bytes]  # a host name -> its pseudonym (and counts it)

HOST_KEYS = frozenset(
    {
        b"host",
        b"hostname",
        b"host-name",
        b"host_name",
        b"fqdn",
        b"nodename",
        b"node_name",
        b"server",
        b"server_name",
        b"servername",
        b"listen",
        b"address",
        b"remote",
        b"peer",
    }
)
_JSON_STRING = re.compile(rb'"((?:[^"\\\n]|\\.)*)"(\s*:)?')  # one line: a broken one stays one
_TAG = re.compile(rb"<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:'[^']*'|\"[^\"]*\"))*)(\s*/?>)")
_ATTR = re.compile(rb"""([\w:.-]+)(\s*=\s*)(?:'([^']*)'|"([^"]*)")""")
_LEAF = re.compile(rb"(<([\w:.-]+)(?:\s[^>]*)?>)([^<]+)(?=</\2\s*>)")
_TEXT_FIELD = re.compile(rb"(?<![\w.-])([\w-]+)([ \t]*[=:][ \t]*['\"]?)([^\s'\",;]+)")


def replace_hostnames(
    data: bytes, names: list[bytes], replace: Replace, *, log: bool = False
) -> bytes:
    """`data` with each of `names` (longest first) replaced where a host name can stand (in a
    `log`, wherever it stands as a word but a tag)."""
    names = sorted((n for n in names if n), key=len, reverse=True)
    if not names or not any(n in data for n in names):
        return data
    alternatives = b"|".join(re.escape(n) for n in names)
    token = re.compile(rb"(?<![\w.\-/=$])(?:" + alternatives + rb")(?![\w\-/=(]|\.\w)")
    anywhere = re.compile(
        rb"(?:(?<=://)|(?<=@))(?:" + alternatives + rb")(?![\w\-]|\.\w)"  # URI host, user@host
    )

    def words(text: bytes) -> bytes:
        return token.sub(lambda m: replace(m.group(0)), text)

    def free(text: bytes) -> bytes:
        """Free text (it holds a space) is searched for the name; one word is an identifier."""
        return words(text) if re.search(rb"\s", text.strip()) else text

    data = anywhere.sub(lambda m: replace(m.group(0)), data)
    if log:
        in_text = re.compile(rb"(?<![\w.\-/=$])(?:" + alternatives + rb")(?![\w\-/=(\[:]|\.\w)")
        return in_text.sub(lambda m: replace(m.group(0)), data)
    head = data.lstrip()[:1]
    if head == b"<":
        return _xml(data, words, free)
    if head in (b"{", b"["):  # a document, or JSON lines
        return _json(data, words, free)
    stripped = data.strip()
    if stripped in names:  # a hostname file
        return data.replace(stripped, replace(stripped), 1)

    def line(text: bytes) -> bytes:
        """A JSON line (a log whose first line is broken) or `key=value` text."""
        if text.lstrip()[:1] in (b"{", b"["):
            return _json(text, words, free)
        return _TEXT_FIELD.sub(
            lambda m: (
                m.group(1) + m.group(2) + words(m.group(3))
                if m.group(1).lower() in HOST_KEYS
                else m.group(0)
            ),
            text,
        )

    return b"".join(line(text) for text in data.splitlines(keepends=True))


def _json(data: bytes, words: Replace, free: Replace) -> bytes:
    """JSON (or JSON lines): keys as they are; a host field's value; other strings as free text."""
    last_key = b""

    def sub(m: re.Match[bytes]) -> bytes:
        nonlocal last_key
        if m.group(2) is not None:
            last_key = m.group(1).lower()
            return m.group(0)
        value = words(m.group(1)) if last_key in HOST_KEYS else free(m.group(1))
        return b'"' + value + b'"'

    return _JSON_STRING.sub(sub, data)


def _xml(data: bytes, words: Replace, free: Replace) -> bytes:
    """XML: host attributes (`listen=`, `<host name=...>`) and host elements' text; other
    attribute values and text only as free text; names of elements and attributes never."""

    def attrs(tag: re.Match[bytes]) -> bytes:
        element = tag.group(1).lower().rpartition(b":")[2]

        def attr(m: re.Match[bytes]) -> bytes:
            name = m.group(1).lower()
            quote, value = (b"'", m.group(3)) if m.group(3) is not None else (b'"', m.group(4))
            host = name in HOST_KEYS or (element == b"host" and name == b"name")
            new = words(value) if host else free(value)
            return m.group(1) + m.group(2) + quote + new + quote

        return b"<" + tag.group(1) + _ATTR.sub(attr, tag.group(2)) + tag.group(3)

    def leaf(m: re.Match[bytes]) -> bytes:
        element = m.group(2).lower().rpartition(b":")[2]
        text = words(m.group(3)) if element in HOST_KEYS else free(m.group(3))
        return m.group(1) + text

    return _LEAF.sub(leaf, _TAG.sub(attrs, data))
