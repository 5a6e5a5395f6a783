"""Redaction: secrets are always removed; host names, MAC addresses and serial numbers are
replaced by pseudonyms when asked (the same value gets the same token in one capture)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.capture.hostnames import replace_hostnames
from workbench.capture.secrets import MARK as SECRET_MARK
from workbench.capture.secrets import redact_secrets

OPTIONAL = ("hostnames", "macs", "serials")
Sub = Callable[[re.Match[bytes]], bytes]
MARK = SECRET_MARK.decode()

_MAC = re.compile(rb"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")
_SERIAL_ELEMENT = re.compile(rb"(<serial>)([^<]*)(</serial>)")
_SERIAL_ENTRY = re.compile(rb"(<entry name=['\"]serial['\"]>)([^<]*)(</entry>)")
_SERIAL_JSON = re.compile(rb"""("serial(?:[-_]?number)?"\s*:\s*)"([^"]*)\"""", re.IGNORECASE)


@dataclass
class Redactor:
    optional: frozenset[str] = frozenset()
    hostnames: set[str] = field(default_factory=set)  # known names of this machine and guests
    counts: Counter[str] = field(default_factory=Counter)
    _tokens: dict[tuple[str, bytes], bytes] = field(default_factory=dict)

    def pseudonym(self, kind: str, value: bytes) -> bytes:
        key = (kind, value.lower() if kind == "macs" else value)
        token = self._tokens.get(key)
        if token is None:
            n = sum(1 for k in self._tokens if k[0] == kind) + 1
            if kind == "macs":
                token = f"02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}".encode()
            else:
                token = f"{kind[:-1]}-{n}".encode()
            self._tokens[key] = token
        return token

    def redact(self, data: bytes, *, log: bool = False) -> bytes:
        """`data` with secrets removed (always) and pseudonyms for the optional kinds; a `log`
        is free text, where a host name may stand anywhere."""
        data = redact_secrets(data, self._count)
        if "macs" in self.optional:
            data = _MAC.sub(self._pseudo("macs", 0), data)
        if "serials" in self.optional:
            for pattern in (_SERIAL_ELEMENT, _SERIAL_ENTRY, _SERIAL_JSON):
                data = pattern.sub(self._pseudo("serials", 2), data)
        if "hostnames" in self.optional:
            data = replace_hostnames(
                data, [n.encode() for n in self.hostnames], self._host, log=log
            )
        return data

    def _host(self, name: bytes) -> bytes:
        self.counts["hostnames"] += 1
        return self.pseudonym("hostnames", name)

    def _count(self, kind: str) -> None:
        self.counts[kind] += 1

    def _pseudo(self, kind: str, group: int) -> Sub:
        def sub(m: re.Match[bytes]) -> bytes:
            value = m.group(group)
            if not value.strip():
                return m.group(0)
            self.counts[kind] += 1
            token = self.pseudonym(kind, value)
            if group == 0:
                return token
            start, end = m.span(group)
            base = m.start(0)
            return m.group(0)[: start - base] + token + m.group(0)[end - base :]

        return sub

    def summary(self) -> dict[str, int]:
        """How many values of each kind were replaced (and, for pseudonyms, how many distinct)."""
        out = {kind: n for kind, n in sorted(self.counts.items())}
        for kind in self.optional:
            out.setdefault(kind, 0)
            out[f"distinct {kind}"] = sum(1 for k in self._tokens if k[0] == kind)
        return out


def parse_redact(text: str | None) -> frozenset[str]:
    """`hostnames,macs` -> the set; ValueError naming what is unknown."""
    if not text:
        return frozenset()
    kinds = {k.strip() for k in text.split(",") if k.strip()}
    unknown = kinds - set(OPTIONAL)
    if unknown:
        raise ValueError(
            f"unknown redaction {', '.join(sorted(unknown))}; choose from {', '.join(OPTIONAL)}"
        )
    return frozenset(kinds)


def redact_identity(redactor: Redactor, identity: Any) -> Any:
    """The manifest's `facts.identity` (machine-id, DMI serials) with each value a pseudonym
    when host names or serials are redacted: they name the machine as surely as its name."""
    if not isinstance(identity, dict) or not ({"hostnames", "serials"} & redactor.optional):
        return identity
    out: dict[str, Any] = {}
    for key, value in identity.items():
        if isinstance(value, str):
            redactor.counts["serials"] += 1
            value = redactor.pseudonym("serials", value.encode()).decode()
        out[key] = value
    return out
