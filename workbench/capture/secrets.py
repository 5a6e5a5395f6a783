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
    b"stdin",
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
# A quoted value may go on over lines (an XML attribute value may hold a newline), as long as
# the lines after the first hold no `<` or `>`: an unclosed quote never eats a document.
_QUOTED_OR_BARE = (
    rb"(?:\"((?:[^\"\\\n]|\\.)*(?:\n(?:[^\"\\\n<>]|\\.)*)*)\""
    rb"|'([^'\n]*(?:\n[^'\n<>]*)*)'|\\\"((?:[^\"\\\n]|\\[^\"])*)\\\""
    rb"|((?:[^\s,&;'\"<>\\]|,,)+))"
)
# key=value, key = "value", key='value' (XML attributes, qemu.conf, QEMU options, URL queries).
_KV = re.compile(rb"(?<![\w.-])(" + _NAME + rb")\s*=\s*" + _QUOTED_OR_BARE, re.I)
# "key": "value" and "key": 123 (JSON), in each way JSON is quoted where it stands: plain, inside
# a JSON string (\"), inside an XML attribute (&quot;).
# (the quote as a pattern, as written, a quoted string's content)
_QUOTES = (
    (rb'"', b'"', rb'(?:[^"\\]|\\.)*'),
    (rb'\\"', b'\\"', rb'(?:[^"\\]|\\[^"])*'),
    (rb"&quot;", b"&quot;", rb"(?:(?!&quot;)[^<&]|&(?!quot;))*"),
)
_NUMBER = rb"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![\w.])"


def _json_field(q: bytes, value: bytes) -> re.Pattern[bytes]:
    """`QkeyQ: QvalueQ` or `QkeyQ: number`, for the quote Q."""
    return re.compile(
        b"".join((q, rb"(", _NAME, rb")", q, rb"\s*:\s*(?:", q, rb"(", value, rb")", q))
        + rb"|"
        + _NUMBER
        + rb")",
        re.I,
    )


# Each pattern with its quote as written (a number's mark is quoted so: JSON stays JSON).
_JSON = [(_json_field(q, v), lit) for q, lit, v in _QUOTES]
# key: value at the start of a line (YAML, cloud-init): the rest of the line, less a comment.
_YAML = re.compile(
    rb"^[ \t]*(?:-[ \t]+)?(" + _NAME + rb")[ \t]*:[ \t]+(?![\"'])(\S(?:[^\n]*?\S)?)"
    rb"(?=[ \t]+#|[ \t]*\r?$)",
    re.I | re.M,
)
# key: | (or >) then lines indented deeper: a YAML block scalar, each line a part of the value.
_YAML_BLOCK = re.compile(
    rb"^([ \t]*)(?:-[ \t]+)?(" + _NAME + rb")[ \t]*:[ \t]*[|>][+-]?[0-9]?[ \t]*(?:#[^\n]*)?\r?\n"
    rb"((?:\1[ \t]+\S[^\n]*(?:\n|\Z)|[ \t]*\r?\n)+)",
    re.I | re.M,
)
_BLOCK_LINE = re.compile(rb"^[ \t]+(\S(?:[^\n]*\S)?)", re.M)
# --password VALUE: a flag whose name says secret, its value the next argument (after spaces,
# or a NUL in /proc/PID/cmdline); a value starting with `-` is the next flag.
_FLAG = re.compile(
    rb"(?<![^\s\0'\"])--?(" + _NAME + rb")[ \t\0]+"
    rb"(?:\"((?:[^\"\\\n]|\\.)*)\"|'([^'\n]*)'|([^\s\0'\"<>-][^\s\0'\"<>]*))",
    re.I,
)
# The same flag and its value as two elements: <qemu:arg value='--password'/><qemu:arg value='X'/>
_FLAG_ARGS = re.compile(
    rb"""<[\w:.-]+\s+value\s*=\s*(['"])--?(""" + _NAME + rb""")\1\s*/>\s*"""
    rb"""<[\w:.-]+\s+value\s*=\s*(?:"([^"<>-][^"<>]*)"|'([^'<>-][^'<>]*)')""",
    re.I,
)
# key: value elsewhere (flow mappings, free text): one word, or quoted.
_COLON = re.compile(
    rb"(?<![\w.\"'-])(" + _NAME + rb")[ \t]*:[ \t]*"
    rb"""(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([^\s,}\]'"<>]+))""",
    re.I,
)
# <password>value</password>, <app:password>, <token><![CDATA[value]]></token>
_ELEMENT = re.compile(
    rb"<((?:[\w.-]+:)?(" + _NAME + rb"))(?:\s[^>]*)?>"
    rb"(?:<!\[CDATA\[((?:(?!\]\]>)[\s\S])*)\]\]>|([^<]*))</\1\s*>",
    re.I,
)
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
# (a `<secret .../>` reference holds no value: the scan starts only at an opening tag, and stops
# at the next `<secret`, or it would run to the end of the file from each reference)
_SECRET_VALUE = re.compile(
    rb"<secret\b[^>]*(?<!/)>(?:(?!</secret>|<secret\b).)*?<value>([^<]*)</value>", re.S
)
# -object secret,id=...,data=... and its JSON form.
_SECRET_OBJECT = re.compile(rb"\bsecret((?:,(?:[^\s,'\"]|,,)*)+)")
_SECRET_DATA = re.compile(rb"(?<=,)data=((?:[^\s,'\"]|,,)+)")
_SECRET_JSON_OBJECTS = [
    (
        re.compile(
            rb"\{[^{}]*" + q + rb"qom-type" + q + rb"\s*:\s*" + q + rb"secret" + q + rb"[^{}]*\}"
        ),
        re.compile(q + rb"data" + q + rb"\s*:\s*" + q + rb"(" + v + rb")" + q),
    )
    for q, _, v in _QUOTES
]
# scheme://user:password@host, and iSCSI's user%password@host.
# The password runs to the last `@` before a space, a quote, `<`, `>`, `?` or `#`: generous (a
# password may hold `@` or `/`, whatever a URI parser makes of it), since a password cut short
# leaks its tail.
_URI_CREDENTIALS = re.compile(rb"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"<>]*:([^\s'\"<>?#\0]+)@", re.I)
_ISCSI_CREDENTIALS = re.compile(rb"\biscsi://[^/\s%@'\"<>]*%([^/\s@'\"<>]+)@", re.I)
# A ceph key (rbd's key=..., a keyring's key = ...): base64 of 28+ bytes starting "AQ".
# `rbd map --key AQ...` too: a flag, its value after spaces (or a NUL in /proc/PID/cmdline).
_CEPH_KEY = re.compile(
    rb"(?<![\w-])(?:--?)?key(?:\s*[=:]\s*|[ \t\0]+)['\"]?(AQ[A-Za-z0-9+/]{36,}={0,2})"
)
_AUTHORIZATION = re.compile(
    rb"\bauthorization\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|negotiate)\s+([^\s\"'<>,]+)",
    re.I,
)
# Any armoured private key (RSA, EC, OPENSSH, ENCRYPTED, PGP ... BLOCK) through its END line,
# or to the end of the text when it was cut short (the tail of a log).
_PRIVATE_KEY = re.compile(
    rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----([\s\S]*?)"
    rb"(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----|\Z)"
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


def _number_name(name: bytes) -> bool:
    """Whether a number under `name` is a secret: a plural name counts ("passwords": 3)."""
    low = name.lower()
    return is_secret_name(name) and not (low.endswith(b"s") and not low.endswith(b"ss"))


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
    for outer, inner in _SECRET_JSON_OBJECTS:
        data = _inside(outer, inner, data, count, "secrets")
    data = _values(_SECRET_VALUE, data, count, "secrets")
    data = _inside(_CHPASSWD, _USER_PASSWORD, data, count, "passwords")
    data = _values(_NAMED_VALUE, data, count, "passwords", values=(3, 4), name=2)
    data = _values(_VALUE_NAMED, data, count, "passwords", values=(1, 2), name=4)
    data = _values(_NAMED_TEXT, data, count, "passwords", values=(4,), name=3)
    data = _values(_ELEMENT, data, count, "passwords", values=(3, 4), name=2)
    for pattern, quote in _JSON:
        data = _json_values(pattern, quote, data, count)
    data = _values(_KV, data, count, "passwords", values=(2, 3, 4, 5), name=1)
    data = _values(_FLAG, data, count, "passwords", values=(2, 3, 4), name=1)
    data = _values(_FLAG_ARGS, data, count, "passwords", values=(3, 4), name=2)
    data = _block(data, count)
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


def _json_values(pattern: re.Pattern[bytes], quote: bytes, data: bytes, count: Count) -> bytes:
    """A JSON field's text value replaced by MARK; a number (not a count) by MARK in `quote`."""
    if quote != b'"' and quote not in data:  # JSON inside a string or XML: rare, skipped fast
        return data

    def sub(m: re.Match[bytes]) -> bytes:
        text = m.group(2)
        if text is not None:
            if not is_secret_name(m.group(1)) or text.strip().lower() in _NOT_VALUES:
                return m.group(0)
            mark, group = MARK, 2
        elif _number_name(m.group(1)):
            mark, group = quote + MARK + quote, 3
        else:
            return m.group(0)
        count("passwords")
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        return m.group(0)[:start] + mark + m.group(0)[end:]

    return pattern.sub(sub, data)


def _inside(
    outer: re.Pattern[bytes], inner: re.Pattern[bytes], data: bytes, count: Count, kind: str
) -> bytes:
    """Apply `inner`'s value rule only inside what `outer` matched (a secret object's options)."""
    return outer.sub(lambda m: _values(inner, m.group(0), count, kind), data)


def _block(data: bytes, count: Count) -> bytes:
    """Each line of a YAML block scalar under a secret's key (`password: |`) replaced."""

    def sub(m: re.Match[bytes]) -> bytes:
        if not is_secret_name(m.group(2)):
            return m.group(0)
        head = m.group(0)[: m.start(3) - m.start(0)]
        return head + _values(_BLOCK_LINE, m.group(3), count, "passwords")

    return _YAML_BLOCK.sub(sub, data)
