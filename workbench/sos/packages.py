"""Which version of a package a sosreport's package lists show installed (dpkg -l, rpm -qa)."""

from __future__ import annotations

import re

from workbench.core.errors import HostReadError
from workbench.core.host import Host

DPKG = "sos_commands/dpkg/dpkg_-l"
RPM_LISTS = ("installed-rpms",)
RPM_DIR = "sos_commands/rpm"
_VERSION = re.compile(r"(?P<major>[0-9]{1,4})\.(?P<minor>[0-9]{1,4})")


def package_version(report: Host, name: str) -> tuple[tuple[int, int], str] | None:
    """((major, minor), the list it came from) of the installed package `name`; None when no
    package list of the report names it (not installed, or the list was not collected)."""
    text, _ = report.try_read(DPKG)
    if text:
        for line in text.splitlines():
            fields = line.split()
            # `ii  pciutils  1:3.7.0-6  amd64  ...`: installed rows only; the arch may be `:amd64`.
            if len(fields) >= 3 and fields[0] == "ii" and fields[1].split(":")[0] == name:
                found = _version(fields[2].split(":", 1)[-1])
                if found is not None:
                    return found, DPKG
    try:
        rpm_names = [f"{RPM_DIR}/{n}" for n in report.listdir(RPM_DIR)[:20]]
    except HostReadError:
        rpm_names = []
    rpm = re.compile(rf"^{re.escape(name)}-(?P<version>[0-9][^-\s]*)-")
    for rel in (*RPM_LISTS, *rpm_names):
        text, _ = report.try_read(rel)
        for line in (text or "").splitlines():
            match = rpm.match(line.strip())
            if match is not None:
                found = _version(match["version"])
                if found is not None:
                    return found, rel
    return None


def _version(text: str) -> tuple[int, int] | None:
    match = _VERSION.match(text)
    return None if match is None else (int(match["major"]), int(match["minor"]))
