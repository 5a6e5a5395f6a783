"""VM actions through the recovery layer, recorded in the VM's lifecycle."""

from __future__ import annotations

import pytest

from workbench.core.errors import WorkbenchError
from workbench.core.lifecycle import VmLifecycle
from workbench.core.recovery import Attempt
from workbench.virt.actions import run_action
from workbench.virt.connection import open_connection


def test_action_is_recorded_as_an_operator_transition() -> None:
    """A suspend succeeds on the first attempt and the history says the operator did it."""
    keep = open_connection("test:///default")  # one shared driver instance for this test
    lifecycle = VmLifecycle("test")
    lifecycle.resync("running")
    seen: list[Attempt] = []
    try:
        result = run_action(
            "test:///default", "suspend", "test", observer=seen.append, lifecycle=lifecycle
        )
        assert (result.served_by, [a.ok for a in seen]) == ("libvirt", [True, True])
        last = lifecycle.history[-1]
        assert (last.to_state, last.cause, last.detail) == ("paused", "action", "operator: suspend")
        run_action("test:///default", "resume", "test")
    finally:
        keep.close()


def test_start_of_a_running_vm_fails_without_fallback() -> None:
    """Starting a running VM is a permanent error: no retry, TCG not tried unless chosen."""
    keep = open_connection("test:///default")
    seen: list[Attempt] = []
    try:
        with pytest.raises(WorkbenchError) as info:
            run_action("test:///default", "start", "test", observer=seen.append)
    finally:
        keep.close()
    assert "already running" in info.value.message
    assert [a.ok for a in seen] == [True, False]  # the connect, then one start attempt
    assert info.value.details["fallbacks"][0]["name"] == "kvm"
    assert info.value.details["fallbacks"][1] == {
        "name": "tcg",
        "skipped": "software emulation not chosen by the operator",
    }


def test_unknown_vm() -> None:
    """An unknown name is VM_NOT_FOUND (the CLI's exit 2)."""
    with pytest.raises(WorkbenchError) as info:
        run_action("test:///default", "start", "nosuch")
    assert info.value.code == "VM_NOT_FOUND"


def test_start_of_a_running_vm_with_tcg_chosen_says_it_is_running() -> None:
    """A running VM is not started again through TCG: the error is VM_ALREADY_RUNNING, from
    the primary, and the fallback is recorded as not tried."""
    keep = open_connection("test:///default")
    try:
        with pytest.raises(WorkbenchError) as info:
            run_action("test:///default", "start", "test", allow_tcg=True)
    finally:
        keep.close()
    assert info.value.code == "VM_ALREADY_RUNNING"
    assert "already running" in info.value.message
    assert "TCG" not in info.value.message
    assert info.value.details["fallbacks"][1]["name"] == "tcg"
    assert "not tried" in info.value.details["fallbacks"][1]["skipped"]
