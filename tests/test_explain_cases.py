"""The shared real cases (../shared/evidence/cases.jsonl): each one's confirmed cause is named
first; a case whose log holds an ambiguous line has its cause among the first three."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from workbench.explain.catalogue import catalogue
from workbench.explain.matcher import explain_text

CASES_FILE = SHARED / "evidence" / "cases.jsonl"
CAUSES_FILE = SHARED / "evidence" / "causes.json"


def _cases() -> list[dict[str, Any]]:
    if not CASES_FILE.exists():
        return []
    lines = CASES_FILE.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


CASES = _cases()
needs_shared = pytest.mark.skipif(not CASES, reason=f"{CASES_FILE} not present")


def _ambiguous(log: str) -> bool:
    """Whether a line of the log matches one of the catalogue's ambiguous patterns."""
    from workbench.explain.lines import message

    patterns = [p for p in catalogue().patterns if p.ambiguous]
    return any(p.regex.search(message(line)) for line in log.splitlines() for p in patterns)


@needs_shared
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_cause_is_named(case: dict[str, Any]) -> None:
    """The case's confirmed cause is first (among the first three for an ambiguous line)."""
    codes = [m.code for m in explain_text(case["log"]).causes]
    if _ambiguous(case["log"]) and codes[:1] != [case["cause_code"]]:
        assert case["cause_code"] in codes[:3], codes
    else:
        assert codes[:1] == [case["cause_code"]], codes


@needs_shared
def test_most_cases_are_right_first(record_property: Any) -> None:
    """At least 28 of the 29 shared cases name their cause first (the closing note's number)."""
    right = [
        c["id"]
        for c in CASES
        if [m.code for m in explain_text(c["log"]).causes[:1]] == [c["cause_code"]]
    ]
    record_property("right_first", f"{len(right)}/{len(CASES)}")
    print(f"shared cases right first: {len(right)}/{len(CASES)}")
    assert len(right) >= len(CASES) - 1


@pytest.mark.skipif(not CAUSES_FILE.exists(), reason=f"{CAUSES_FILE} not present")
def test_every_shared_cause_has_an_entry() -> None:
    """Every code of causes.json has a catalogue entry with the same benign flag."""
    shared = json.loads(CAUSES_FILE.read_text("utf-8"))["causes"]
    causes = catalogue().causes
    missing = [c["code"] for c in shared if c["code"] not in causes]
    assert missing == []
    assert {c["code"]: c["benign"] for c in shared} == {
        c["code"]: causes[c["code"]].benign for c in shared
    }


@needs_shared
def test_case_sources_are_referenced() -> None:
    """Each case's public thread is among its cause's references (a support engineer can read
    the confirmed fix)."""
    causes = catalogue().causes
    missing = []
    for case in CASES:
        owner_repo, _, number = case["source"].partition("#")
        url = f"https://github.com/{owner_repo}/issues/{number}"
        if url not in causes[case["cause_code"]].references:
            missing.append((case["cause_code"], url))
    assert missing == []


def test_cases_file_is_not_in_the_repository() -> None:
    """The shared cases are read from ../shared, never copied into the repository."""
    repo = Path(__file__).resolve().parent.parent
    assert not list((repo / "tests").rglob("cases.jsonl"))
