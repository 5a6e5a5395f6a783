"""Whether a libvirt URI names another machine: its domains' devices, groups, files and QEMU
logs are that machine's, never to be judged from this one's."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from workbench.core.host import Host
from workbench.core.text import safe_text

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})


def machine_names(host: Host) -> set[str]:
    """The names the machine at `host` goes by (a recording's: its recorded hostname)."""
    names: set[str] = set()
    if host.live:
        names |= {socket.gethostname(), socket.getfqdn()}
    text, _ = host.try_read("proc/sys/kernel/hostname")
    if text:
        names.add(text.strip())
    return {n.lower() for n in names if n}


def remote_host(uri: str | None, names: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The other machine `uri` connects to, or None when it is this one (no host part,
    localhost, one of `names`) or the test driver (`test:///...`)."""
    if not uri:
        return None
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return None  # libvirt refuses it before any machine is reached
    if parts.scheme.split("+")[0] == "test" or not host:
        return None
    host = host.lower()
    if host in LOCAL_NAMES or host in names or any(n.split(".")[0] == host for n in names):
        return None
    return safe_text(host[:253])  # a recording's URI is anyone's: shown escaped, bounded
