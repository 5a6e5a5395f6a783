"""The locks match pyproject.toml and the installed environment (offline; `make lock-check` is exact)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<options>.*)$")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
RELOCK = "run `make lock`"


def read_lock(text: str) -> tuple[dict[str, str], list[str]]:
    """The pins of a lock (canonical name -> version) and what is wrong with its entries."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    for entry in text.replace("\\\n", " ").splitlines():
        entry = entry.split("#", 1)[0].strip()
        if not entry:
            continue
        match = PIN.match(entry)
        if match is None:
            problems.append(f"not an exact pin: {entry.split()[0]}")
            continue
        name = canonicalize_name(match["name"])
        pins[name] = match["version"]
        if not HASH.search(match["options"]):
            problems.append(f"{name}=={match['version']} has no --hash")
    return pins, problems


def declared(pyproject: dict[str, Any]) -> list[Requirement]:
    """The runtime requirements and those of every extra (all are locked)."""
    project = pyproject["project"]
    texts = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def range_problems(requirements: list[Requirement], pins: dict[str, str], lock: str) -> list[str]:
    """Each requirement that applies here must be pinned, inside its range."""
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is declared but not pinned in {lock}: {RELOCK}")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} in {lock} is outside {req}: {RELOCK}")
    return problems


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements pull in, read from the installed metadata."""
    seen: set[str] = set()
    todo = [(req, frozenset[str]()) for req in requirements]
    while todo:
        req, parent_extras = todo.pop()
        environments = [{"extra": extra} for extra in parent_extras or {""}]
        if req.marker is not None and not any(req.marker.evaluate(e) for e in environments):
            continue
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # declared but never installed: reported as missing from the lock
        todo.extend((Requirement(text), frozenset(req.extras)) for text in requires)
    return {key.split("[", 1)[0] for key in seen}


def pyproject() -> dict[str, Any]:
    """pyproject.toml as it is now (not as it was when the venv was installed)."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def lock_file(name: str) -> tuple[dict[str, str], list[str]]:
    """The pins and entry problems of one of the repository's locks."""
    return read_lock((REPO / name).read_text())


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-build.lock"])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    """Each entry of a lock is `name==version` with at least one sha256 hash."""
    pins, problems = lock_file(lock)
    assert problems == []
    assert pins


def test_declared_requirements_are_pinned_in_range() -> None:
    """Every dependency and extra of pyproject.toml has a pin its range allows."""
    pins, _ = lock_file("requirements.lock")
    assert range_problems(declared(pyproject()), pins, "requirements.lock") == []


def test_build_requirements_are_pinned_in_range() -> None:
    """pyproject's build-system requires and requirements-build.in are pinned by the build lock."""
    pins, _ = lock_file("requirements-build.lock")
    build_in = (REPO / "requirements-build.in").read_text().splitlines()
    wanted = [Requirement(line) for line in build_in if line.strip() and not line.startswith("#")]
    wanted += [Requirement(text) for text in pyproject()["build-system"]["requires"]]
    assert range_problems(wanted, pins, "requirements-build.lock") == []


def test_lock_holds_exactly_what_pyproject_pulls_in() -> None:
    """The lock pins the whole dependency closure of pyproject.toml and nothing else."""
    pins, _ = lock_file("requirements.lock")
    needed = closure(declared(pyproject()))
    assert {"missing": needed - set(pins), "unneeded": set(pins) - needed} == {
        "missing": set(),
        "unneeded": set(),
    }


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-build.lock"])
def test_installed_versions_are_the_pins(lock: str) -> None:
    """The environment the tests (and snapshots) run in is the locked one, version for version."""
    pins, _ = lock_file(lock)
    installed = {name: metadata.version(name) for name in pins}
    assert installed == pins, "the venv differs from the lock: run `make setup`"


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (
            "tomli-w>=1",
            "tomli-w>=1 is declared but not pinned in requirements.lock: run `make lock`",
        ),
        ("rich>=99", "rich==15.0.0 in requirements.lock is outside rich>=99: run `make lock`"),
    ],
)
def test_a_dependency_changed_without_relocking_is_named(requirement: str, expected: str) -> None:
    """A requirement added or raised in pyproject.toml but not relocked is reported by name."""
    project = pyproject()
    project["project"]["dependencies"].append(requirement)
    pins = {"rich": "15.0.0"}
    problems = range_problems(declared(project), pins, "requirements.lock")
    assert expected in problems


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("rich==15.0.0\n", "rich==15.0.0 has no --hash"),
        ("rich>=15 \\\n    --hash=sha256:" + "0" * 64 + "\n", "not an exact pin: rich>=15"),
    ],
)
def test_a_loose_lock_entry_is_named(entry: str, expected: str) -> None:
    """An entry without a hash or without `==` is reported."""
    assert read_lock(entry)[1] == [expected]
