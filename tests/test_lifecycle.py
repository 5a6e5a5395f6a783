"""VM lifecycle machines: valid transitions, missed events healed and recorded, stuck states."""

from __future__ import annotations

import pytest

from workbench.core.lifecycle import (
    EVENT_FROM,
    EVENT_TARGET,
    STATES,
    Lifecycles,
    Transition,
    VmLifecycle,
    event_name,
    state_name,
)


def machine(state: str) -> VmLifecycle:
    vm = VmLifecycle("win11")
    vm.resync(state, "test start")
    vm.history.clear()
    return vm


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        ("shutoff", "started", "running"),
        ("running", "suspended", "paused"),
        ("paused", "resumed", "running"),
        ("running", "shutdown", "shutdown"),
        ("shutdown", "stopped", "shutoff"),
        ("running", "crashed", "crashed"),
        ("running", "pmsuspended", "pmsuspended"),
        ("shutoff", "undefined", "undefined"),
        ("undefined", "defined", "shutoff"),
    ],
)
def test_events_move_the_machine(start: str, event: str, end: str) -> None:
    """Each lifecycle event moves the VM to its state, recorded as cause `event`."""
    vm = machine(start)
    made = vm.on_event(event, "detail")
    assert vm.state == end
    assert [(t.from_state, t.to_state, t.cause) for t in made] == [(start, end, "event")]
    assert made[0].detail == f"{event}: detail"


def test_missed_event_is_healed_and_recorded() -> None:
    """`resumed` while shut off means `started` was missed: the true state is re-read and the
    repair is a `resync` in the history, not hidden."""
    vm = machine("shutoff")
    made = vm.on_event("resumed", "unpaused", reread=lambda: "running")
    assert vm.state == "running"
    assert [(t.from_state, t.to_state, t.cause) for t in made] == [("shutoff", "running", "resync")]
    assert "missed event" in (made[0].detail or "")


def test_reread_disagreeing_with_the_event_wins() -> None:
    """When the re-read state differs from the event's target, the re-read state stands."""
    vm = machine("shutoff")
    vm.on_event("suspended", "paused", reread=lambda: "shutoff")
    assert vm.state == "shutoff"
    assert vm.history == []


def test_listeners_see_transitions_in_order() -> None:
    """Listeners of the collection get every VM's transitions as they happen."""
    vms = Lifecycles()
    seen: list[Transition] = []
    vms.listeners.append(seen.append)
    vms.get("a").resync("shutoff")
    vms.get("a").on_event("started")
    vms.get("a").on_action("shutdown requested", "shutdown")
    assert [(t.to_state, t.cause) for t in seen] == [
        ("shutoff", "resync"),
        ("running", "event"),
        ("shutdown", "action"),
    ]
    assert seen[1].to_dict()["from"] == "shutoff"


def test_resync_all_marks_vanished_domains() -> None:
    """After a reconnect, states are adopted and domains that are gone become `undefined`."""
    vms = Lifecycles()
    vms.get("a").resync("running")
    vms.get("b").resync("running")
    made = vms.resync_all({"a": "paused", "c": "shutoff"})
    assert {(t.vm, t.to_state) for t in made} == {
        ("a", "paused"),
        ("b", "undefined"),
        ("c", "shutoff"),
    }
    assert all(t.cause == "resync" for t in made)


def test_stuck_in_shutdown() -> None:
    """A VM in `shutdown` past its limit is reported stuck; running never is."""
    vms = Lifecycles()
    vms.get("a").resync("shutdown")
    vms.get("b").resync("running")
    since = vms.get("a").since
    assert vms.stuck(now=since + 10) == {}
    stuck = vms.stuck(now=since + 500)
    assert list(stuck) == ["a"]
    assert stuck["a"][0] == "shutdown"


def test_tables_are_consistent() -> None:
    """Every event has a target and source states; all are known states; names map by number."""
    known = set(STATES) | {"undefined"}
    assert set(EVENT_FROM) == set(EVENT_TARGET)
    assert {t for t in EVENT_TARGET.values() if t} <= known
    assert set().union(*EVENT_FROM.values()) <= known
    assert (state_name(1), state_name(99), event_name(2), event_name(42)) == (
        "running",
        "nostate",
        "started",
        "event-42",
    )
