"""Where secrets stand in what a capture holds, as rules: a value whose key says it is a secret
(password, passwd, passphrase, secret, token, api key, access/private key, credential), wherever
that key stands: an XML attribute or element, `key=value`, `key = "value"`, `key: value`, a JSON
field, a URL query, a QEMU comma-separated option string; plus values that are secret by place
(URI userinfo, a QEMU `secret` object's data, an rbd/ceph key, an Authorization header, a
private key block, cloud-init's chpasswd list). Each rule replaces only the value."""

from __future__ import annotations

import re
from collections.abc import Callable

MARK = b"REDACTED"
Count = Callable[[str], None]

# A name that says "secret" (matched case-insensitively, as a whole name).
_NAME = (
    rb"[A-Za-z0-9_.-]*?(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key"
    rb"|private[_-]?key|auth[_-]?key|credentials?)[A-Za-z0-9_.-]*"
)
# Names that say "secret" but hold a reference, a flag or a date, never the secret itself.
_NOT_SECRET_SUFFIXES = (
    b"id",
    b"uuid",
    b"usage",
    b"type",
    b"file",
    b"path",
    b"dir",
    b"format",
    b"validto",
    b"-secret",
    b".secret",
)
_NOT_SECRET_PREFIXES = (b"lock_", b"lock-", b"ssh_pwauth")
# Values that are flags or placeholders, never a secret (`password=on` asks QEMU for one).
_NOT_VALUES = frozenset(
    {
        b"",
        MARK.lower(),
        b"***",
        b"true",
        b"false",
        b"yes",
        b"no",
        b"on",
        b"off",
        b"null",
        b"none",
        b"~",
    }
    | {b"|", b">", b"|-", b">-", b"|+", b">+", b"{", b"["}
)

# A value in quotes, in JSON-escaped quotes (a command line inside a JSON string), or bare
# (up to a space, `,` (`,,` is QEMU's escaped comma), `&`, `;`, a quote, `<` or `>`).
_QUOTED_OR_BARE = (
    rb"(?:\"((?:[^\"\\\n]|\\.)*)\"|'([^'\n]*)'|\\\"((?:[^\"\\\n]|\\[^\"])*)\\\""
    rb"|((?:[^\s,&;'\"<>\\]|,,)+))"
)
# key=value, key = "value", key='value' (XML attributes, qemu.conf, QEMU options, URL queries).
_KV = re.compile(rb"(?<![\w.-])(" + _NAME + rb")\s*=\s*" + _QUOTED_OR_BARE, re.I)
# "key": "value" (JSON).
_JSON = re.compile(rb'"(' + _NAME + rb')"\s*:\s*"((?:[^"\\]|\\.)*)"', re.I)
# key: value at the start of a line (YAML, cloud-init): the rest of the line, less a comment.
_YAML = re.compile(
    rb"^[ \t]*(?:-[ \t]+)?(" + _NAME + rb")[ \t]*:[ \t]+(?![\"'])(\S(?:[^\n]*?\S)?)"
    rb"(?=[ \t]+#|[ \t]*\r?$)",
    re.I | re.M,
)
# key: value elsewhere (flow mappings, free text): one word, or quoted.
_COLON = re.compile(
    rb"(?<![\w.\"'-])(" + _NAME + rb")[ \t]*:[ \t]*"
    rb"""(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([^\s,}\]'"<>]+))""",
    re.I,
)
# <password>value</password>
_ELEMENT = re.compile(rb"<(" + _NAME + rb")(?:\s[^>]*)?>([^<]*)</\1\s*>", re.I)
# <qemu:env name='SPICE_PASSWORD' value='...'/>, <entry name='password'>...</entry>
_NAMED_VALUE = re.compile(
    rb"""<[\w:.-]+\s[^>]*?\bname\s*=\s*(['"])(""" + _NAME + rb""")\1[^>]*?\bvalue\s*=\s*"""
    rb"""(?:"([^"]*)"|'([^']*)')""",
    re.I,
)
_VALUE_NAMED = re.compile(
    rb"""<[\w:.-]+\s[^>]*?\bvalue\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*?\bname\s*=\s*(['"])("""
    + _NAME
    + rb""")\3""",
    re.I,
)
_NAMED_TEXT = re.compile(
    rb"""<([\w:.-]+)\s[^>]*?\bname\s*=\s*(['"])(""" + _NAME + rb""")\2[^>]*>([^<]*)</\1\s*>""",
    re.I,
)
# <secret ...>...<value>...</value></secret>
_SECRET_VALUE = re.compile(rb"<secret\b[^>]*>(?:(?!</secret>).)*?<value>([^<]*)</value>", re.S)
# -object secret,id=...,data=... and its JSON form.
_SECRET_OBJECT = re.compile(rb"\bsecret((?:,(?:[^\s,'\"]|,,)*)+)")
_SECRET_DATA = re.compile(rb"(?<=,)data=((?:[^\s,'\"]|,,)+)")
_SECRET_JSON_OBJECT = re.compile(rb'\{[^{}]*"qom-type"\s*:\s*"secret"[^{}]*\}')
_JSON_DATA = re.compile(rb'"data"\s*:\s*"((?:[^"\\]|\\.)*)"')
# scheme://user:password@host, and iSCSI's user%password@host.
_URI_CREDENTIALS = re.compile(rb"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"<>]*:([^/\s@'\"<>]+)@", re.I)
_ISCSI_CREDENTIALS = re.compile(rb"\biscsi://[^/\s%@'\"<>]*%([^/\s@'\"<>]+)@", re.I)
# A ceph key (rbd's key=..., a keyring's key = ...): base64 of 28+ bytes starting "AQ".
_CEPH_KEY = re.compile(rb"(?<![\w-])key\s*[=:]\s*['\"]?(AQ[A-Za-z0-9+/]{36,}={0,2})")
_AUTHORIZATION = re.compile(
    rb"\bauthorization\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|negotiate)\s+([^\s\"'<>,]+)",
    re.I,
)
_PRIVATE_KEY = re.compile(
    rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----([\s\S]*?)-----END [A-Z0-9 ]*PRIVATE KEY-----"
)
# cloud-init's chpasswd block; inside it, `user:password` lines (no space after the colon).
_CHPASSWD = re.compile(rb"^([ \t]*)chpasswd:[ \t]*\r?\n((?:\1[ \t]+\S[^\n]*\n?|[ \t]*\n)*)", re.M)
_USER_PASSWORD = re.compile(rb"^[ \t]+(?:-[ \t]+)?[A-Za-z_][\w.-]*:(?![ \t])(\S+)[ \t]*$", re.M)


# Every rule above needs one of these (lower case) in the text.
_TRIGGERS = (b"pass", b"secret", b"token", b"key", b"cred", b"://", b"auth")


def is_secret_name(name: bytes) -> bool:
    """Whether a key named `name` holds a secret (not a reference to one, nor a flag)."""
    low = name.lower()
    return not (low.endswith(_NOT_SECRET_SUFFIXES) or low.startswith(_NOT_SECRET_PREFIXES))


def redact_secrets(data: bytes, count: Count) -> bytes:
    """`data` with every secret value replaced by MARK; `count(kind)` once per value."""
    low = data.lower()
    if not any(word in low for word in _TRIGGERS):  # most of a capture: sysfs numbers
        return data
    data = _values(_URI_CREDENTIALS, data, count, "uri credentials")
    data = _values(_ISCSI_CREDENTIALS, data, count, "uri credentials")
    data = _values(_PRIVATE_KEY, data, count, "private keys")
    data = _values(_CEPH_KEY, data, count, "keys")
    data = _values(_AUTHORIZATION, data, count, "tokens")
    data = _inside(_SECRET_OBJECT, _SECRET_DATA, data, count, "secrets")
    data = _inside(_SECRET_JSON_OBJECT, _JSON_DATA, data, count, "secrets")
    data = _values(_SECRET_VALUE, data, count, "secrets")
    data = _inside(_CHPASSWD, _USER_PASSWORD, data, count, "passwords")
    data = _values(_NAMED_VALUE, data, count, "passwords", values=(3, 4), name=2)
    data = _values(_VALUE_NAMED, data, count, "passwords", values=(1, 2), name=4)
    data = _values(_NAMED_TEXT, data, count, "passwords", values=(4,), name=3)
    data = _values(_ELEMENT, data, count, "passwords", values=(2,), name=1)
    data = _values(_JSON, data, count, "passwords", values=(2,), name=1)
    data = _values(_KV, data, count, "passwords", values=(2, 3, 4, 5), name=1)
    data = _values(_YAML, data, count, "passwords", values=(2,), name=1)
    return _values(_COLON, data, count, "passwords", values=(2, 3, 4), name=1)


def _values(
    pattern: re.Pattern[bytes],
    data: bytes,
    count: Count,
    kind: str,
    values: tuple[int, ...] = (1,),
    name: int | None = None,
) -> bytes:
    """Replace, in each match, the first of the `values` groups that matched (when the `name`
    group, if any, names a secret and the value is not a flag or already redacted)."""

    def sub(m: re.Match[bytes]) -> bytes:
        if name is not None and not is_secret_name(m.group(name)):
            return m.group(0)
        group = next((g for g in values if m.group(g) is not None), None)
        if group is None or m.group(group).strip().lower() in _NOT_VALUES:
            return m.group(0)
        count(kind)
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        return m.group(0)[:start] + MARK + m.group(0)[end:]

    return pattern.sub(sub, data)


def _inside(
    outer: re.Pattern[bytes], inner: re.Pattern[bytes], data: bytes, count: Count, kind: str
) -> bytes:
    """Apply `inner`'s value rule only inside what `outer` matched (a secret object's options)."""
    return outer.sub(lambda m: _values(inner, m.group(0), count, kind), data)
