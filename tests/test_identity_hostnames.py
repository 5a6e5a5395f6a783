"""core.identity: host names every unconfigured machine has are not an identity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_fleet_identity import _capture, _root
from workbench.core.host import Host
from workbench.core.identity import clean_hostname, identity


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("localhost", None),
        ("LOCALHOST.localdomain", None),
        ("localhost6.localdomain6", None),
        ("(none)", None),
        ("", None),
        ("  \n", None),
        ("node-7", "node-7"),
        ("localhost-7", "localhost-7"),  # a name that merely starts like one is a name
        ("db.localdomain", "db.localdomain"),
    ],
)
def test_clean_hostname(name: str, expected: str | None) -> None:
    """Placeholder host names are None (not recorded); real ones are kept as they are."""
    assert clean_hostname(name) == expected


@pytest.mark.parametrize("name", ["localhost", "localhost.localdomain", "(none)", ""])
def test_a_placeholder_hostname_is_not_recorded(make_root: Callable[..., Path], name: str) -> None:
    """A machine whose kernel host name is a placeholder has no recorded hostname."""
    root = _root(make_root, None, None)
    (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/kernel/hostname").write_text(name + "\n")
    assert identity(Host(root))["hostname"] is None


def test_two_localhost_machines_are_not_the_same_machine(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Two captures whose only identity is `localhost`: diff says the identity is not recorded
    rather than comparing them as one machine."""
    archives = []
    for name in ("a", "b"):
        root = _root(make_root, None, None)
        (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
        (root / "proc/sys/kernel/hostname").write_text("localhost\n")
        archives.append(_capture(root, tmp_path / f"{name}.tar.gz"))
    done = run_cli("diff", *map(str, archives))
    assert done.returncode == 0, done.stderr
    assert "identity not recorded" in done.stdout
