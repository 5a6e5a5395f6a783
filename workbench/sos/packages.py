"""Which version of a package a sosreport's package lists show installed (dpkg -l, rpm -qa)."""

from __future__ import annotations

import re

from workbench.core.errors import HostReadError
from workbench.core.host import Host

DPKG = "sos_commands/dpkg/dpkg_-l"
DPKG_LISTS = (DPKG, "installed-debs")  # sos links the second to the first at the report's top
RPM_LISTS = ("installed-rpms",)
RPM_DIR = "sos_commands/rpm"
MAX_LINES = 200_000  # a package list's rows read (a host has a few thousand packages)
# An upstream version as shown (`6.0.0` of `6.0.0-0ubuntu8`), never more than 40 characters.
_UPSTREAM = re.compile(r"[0-9][0-9A-Za-z.+~]{0,39}")
_VERSION = re.compile(r"(?P<major>[0-9]{1,4})\.(?P<minor>[0-9]{1,4})")


def package_version(report: Host, name: str) -> tuple[tuple[int, int], str] | None:
    """((major, minor), the list it came from) of the installed package `name`; None when no
    package list of the report names it (not installed, or the list was not collected)."""
    found = installed_version(report, name)
    if found is None:
        return None
    numbers = _version(found[0])
    return None if numbers is None else (numbers, found[1])


def installed_version(report: Host, name: str) -> tuple[str, str] | None:
    """(the upstream version, `3.7.0` of `1:3.7.0-6`; the list it came from) of the installed
    package `name`; None when no package list of the report names it with a version."""
    for deb in DPKG_LISTS:
        text, _ = report.try_read(deb)
        for line in (text or "").splitlines()[:MAX_LINES]:
            fields = line.split()
            # `ii  pciutils  1:3.7.0-6  amd64  ...`: installed rows only; the arch may be `:amd64`.
            if len(fields) >= 3 and fields[0] == "ii" and fields[1].split(":")[0] == name:
                upstream = _UPSTREAM.match(fields[2].split(":", 1)[-1])
                if upstream is not None:
                    return upstream[0], deb
        if text:
            break  # the link and its target are one list
    try:
        rpm_names = [f"{RPM_DIR}/{n}" for n in report.listdir(RPM_DIR)[:20]]
    except HostReadError:
        rpm_names = []
    rpm = re.compile(rf"^{re.escape(name)}-(?P<version>[0-9][^-\s]*)-")
    for rel in (*RPM_LISTS, *rpm_names):
        text, _ = report.try_read(rel)
        for line in (text or "").splitlines()[:MAX_LINES]:
            match = rpm.match(line.strip())
            if match is not None:
                upstream = _UPSTREAM.match(match["version"])
                if upstream is not None:
                    return upstream[0], rel
    return None


def _version(text: str) -> tuple[int, int] | None:
    match = _VERSION.match(text)
    return None if match is None else (int(match["major"]), int(match["minor"]))
