"""Machine text made safe to show and to parse: no terminal control, no Unicode digits, no
credentials in URIs. Everything a customer sends passes through these before it is shown."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that make
# a terminal show text other than what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UINT = re.compile(r"[0-9]{1,40}")
_URI_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, *, multiline: bool = False) -> str:
    """`text` with every terminal control character shown as an escape (`\\x1b`): safe to print
    on a terminal. Newlines and tabs are kept only when `multiline`."""
    pattern = _CONTROL if multiline else _CONTROL_LINE
    return pattern.sub(_escape, text)


def parse_uint(text: str | None, *, limit: int = 1 << 64) -> int | None:
    """A non-negative decimal integer of ASCII digits (surrounding whitespace allowed), at most
    `limit`; None for anything else (`²`, `٣`, `1e3`, 400 digits, empty)."""
    if text is None:
        return None
    stripped = text.strip()
    if not _UINT.fullmatch(stripped):
        return None
    value = int(stripped)
    return value if value <= limit else None


def mask_uri(uri: str) -> str:
    """A URI with its password replaced by `***` (`qemu+tcp://admin:***@host/system`); anything
    that does not parse as a URI is returned with every `user:password@` masked."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return mask_uris(uri)
    if parts.password is None:
        return mask_uris(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _has_port(parts.netloc) else ""
    netloc = f"{parts.username or ''}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _has_port(netloc: str) -> bool:
    hostport = netloc.rpartition("@")[2]
    return bool(re.search(r":[0-9]+$", hostport))


def mask_uris(text: str) -> str:
    """Every `scheme://user:password@` in free text with the password masked."""
    return _URI_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
