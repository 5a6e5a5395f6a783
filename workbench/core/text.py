"""Machine text made safe to show and to parse: no terminal control, no Unicode digits, no
credentials in URIs. Everything a customer sends passes through these before it is shown."""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that make
# a terminal show text other than what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UINT = re.compile(r"[0-9]{1,40}")
# `scheme://user:`; the scheme is not checked (any `://` starts a URI: masking more is safe).
_URI_USER = re.compile(r"://[^:/@\s]*:")
# In a lone URI, any `:` after `://` may start a password (a user with a space or a `/`).
_URI_USER_WHOLE = re.compile(r"://[^:]*:")
_SPACE = re.compile(r"\s")


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
    """`uri` with its password replaced by `***` (`qemu+tcp://admin:***@host/system`). The
    password is everything from `scheme://user:` to the last `@`, whatever it holds (`/`, `@`,
    `?`, spaces): over-masking a host is better than showing a secret. Never raises."""
    return _mask(uri, whole=True)


def mask_uris(text: str) -> str:
    """Every `scheme://user:password@` in free text with the password masked. Here a password
    runs to the last `@` of its word (up to whitespace), so a URI repeated on one line is
    masked twice rather than swallowing the text between; linear in the text's length."""
    return _mask(text, whole=False)


def _mask(text: str, *, whole: bool) -> str:
    if "://" not in text:
        return text
    out: list[str] = []
    done = 0  # text[:done] is in `out`
    word_end = -1  # the word the last `scheme://user:` was in, and its last `@` (cached, so
    last_at = -1  # that many URI-looking fragments in one word stay linear)
    for match in (_URI_USER_WHOLE if whole else _URI_USER).finditer(text):
        start = match.end()
        if start <= done:
            continue  # inside a password already masked
        if start > word_end:
            space = None if whole else _SPACE.search(text, start)
            word_end = space.start() if space else len(text)
            last_at = text.rfind("@", start, word_end)
        if last_at < start:
            continue  # `host:port`, not `user:password@`
        out.append(text[done:start])
        out.append("***")
        done = last_at
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def mask_uris_in(value: Any, *, stringify: bool = False) -> Any:
    """`value` with the URI passwords of every string in it masked (dicts, lists and tuples
    walked). Other objects are kept, or with `stringify` masked as their `str()`: what a JSON
    renderer writes of them."""
    if isinstance(value, str):
        return mask_uris(value) if "://" in value else value
    if isinstance(value, dict):
        return {key: mask_uris_in(item, stringify=stringify) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(mask_uris_in(item, stringify=stringify) for item in value)
    if not stringify or value is None or isinstance(value, bool | int | float):
        return value
    return mask_uris(str(value))
