"""Who `workbench serve` answers: a Host it listens on (DNS rebinding gets nothing) and, when a
browser says where a request comes from, a page of that same Host (other pages get nothing)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
HOST_REFUSED = "Host is not a name this server listens on (use the address given to --host)"
ORIGIN_REFUSED = "the request comes from another web page (Origin)"
WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _machine_names() -> set[str]:
    """Every name and address of this machine: what a wildcard bind listens on."""
    import psutil

    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                names.add(addr.address.split("%", 1)[0].lower())  # fe80::1%eth0
    return names


def _addresses_of(host: str) -> set[str]:
    """The addresses a name resolves to (the server listens on those); none if it does not."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return set()
    return {str(info[4][0]).split("%", 1)[0].lower() for info in infos}


def split_host(value: str | None) -> tuple[str, int | None] | None:
    """`name:port` of a Host header (or an Origin's netloc) as (lowercase name, port or None);
    None for anything that is not exactly that."""
    if not value or any(c in value for c in "/?#@\\ \t") or not value.isascii():
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    name = parts.hostname
    if not name:
        return None
    return name.lower(), port


@dataclass(frozen=True)
class Access:
    """The names a server answers to, and its port."""

    names: frozenset[str]
    port: int
    # On loopback only this machine (or an SSH tunnel, whose local port is the user's choice)
    # can reach the server, so a loopback name is accepted with any port.
    loopback: bool

    @classmethod
    def for_bind(cls, host: str, port: int) -> Access:
        """What a server bound to `host`:`port` answers to: that name, its addresses, and on
        loopback the loopback names; bound to every address, this machine's names."""
        names = {host.lower().strip("[]")}
        if host in WILDCARDS:
            names |= _machine_names()
        elif not _is_address(host):
            names |= _addresses_of(host)
        loopback = any(is_loopback(n) for n in names)
        if loopback:
            names |= LOOPBACK_NAMES
        return cls(frozenset(names - WILDCARDS), port, loopback)

    def refusal(self, host: str | None, origin: str | None) -> str | None:
        """Why a request with these Host and Origin headers is refused; None when it is not."""
        own = split_host(host)
        if own is None or own[0] not in self.names:
            return HOST_REFUSED
        port = 80 if own[1] is None else own[1]
        if port != self.port and not (self.loopback and is_loopback(own[0])):
            return HOST_REFUSED
        if origin is None:  # not sent by a browser: no web page is behind it
            return None
        try:
            parts = urlsplit(origin)
        except ValueError:
            return ORIGIN_REFUSED
        default = {"http": 80, "https": 443}.get(parts.scheme)
        theirs = split_host(parts.netloc) if parts.path == "" and default else None
        if theirs is None or (theirs[0], theirs[1] or default) != (own[0], own[1] or default):
            return ORIGIN_REFUSED
        return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
