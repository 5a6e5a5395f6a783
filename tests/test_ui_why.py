"""A failed start's reason in a VM's row and the cause an overview row leads with: the likeliest
real cause, a failing one before a warning as likely, its title's first clause, bounded."""

from __future__ import annotations

from typing import Any

import pytest

from workbench.ui.causes import WHY_CHARS, failed_why, ordered, short_title, top_cause

GROUP = {
    "code": "GROUP_MEMBER_NOT_VFIO",
    "severity": "fail",
    "confidence": 1.0,
    "title": "Another device of the IOMMU group is on a host driver, so the group is not viable",
}
CARD = {
    "code": "INCOMPLETE_DEVICE_FUNCTIONS",
    "severity": "warn",
    "confidence": 1.0,
    "title": "Not every function of the (i)GPU's card was passed to the VM",
}
HARMLESS = {"code": "CPU_MODEL_FEATURE_MISMATCH", "benign": True, "confidence": 1.0}


@pytest.mark.parametrize(
    ("causes", "first"),
    [
        ([CARD, GROUP], "GROUP_MEMBER_NOT_VFIO"),  # as likely: the failing one
        ([GROUP, CARD], "GROUP_MEMBER_NOT_VFIO"),
        (
            [{**CARD, "confidence": 1.0}, {**GROUP, "confidence": 0.5}],
            "INCOMPLETE_DEVICE_FUNCTIONS",
        ),
        ([HARMLESS, CARD], "INCOMPLETE_DEVICE_FUNCTIONS"),  # harmless ones last
        ([{**CARD, "severity": None}, {**GROUP, "severity": "info"}], "GROUP_MEMBER_NOT_VFIO"),
    ],
)
def test_the_likeliest_cause_then_the_failing_one(causes: list[dict[str, Any]], first: str) -> None:
    """Confidence ranks first; at equal confidence a fail comes before a warn (an unknown
    severity last); harmless causes after every real one."""
    top = top_cause(causes)
    assert top is not None and top["code"] == first
    assert ordered([HARMLESS, *causes])[-1] is HARMLESS


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (GROUP["title"], "Another device of the IOMMU group is on a host driver"),
        ("Short", "Short"),
        ("x" * 100, "x" * (WHY_CHARS - 1) + "…"),
        (None, "CODE"),
    ],
)
def test_a_short_title_is_its_first_clause_bounded(title: str | None, shown: str) -> None:
    """The title up to `, so `, at most WHY_CHARS characters; the code when it has none."""
    assert short_title({"code": "CODE", "title": title}) == shown


def test_a_failed_start_without_a_cause_says_so() -> None:
    """No real cause: the row says its logs do not explain it (never blank, never a guess)."""
    assert failed_why([HARMLESS]).plain == "not explained by its logs"
    assert failed_why([CARD, GROUP]).plain == short_title(GROUP)


def test_a_hostile_title_is_text() -> None:
    """A title from a hostile capture is shown as text: markup and control codes escaped."""
    shown = failed_why([{**GROUP, "title": "[bold]x[/] \x1b[31mred"}]).plain
    assert "[bold]x[/]" in shown and "\x1b" not in shown
