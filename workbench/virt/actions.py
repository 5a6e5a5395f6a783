"""Operator actions on VMs, through the recovery layer: retries for transient errors, and the
KVM -> TCG fallback for a start, only when the operator asks for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libvirt

from workbench.core.errors import VMError, WorkbenchError
from workbench.core.lifecycle import VmLifecycle, state_name
from workbench.core.logging import get_logger
from workbench.core.recovery import (
    Alternative,
    Attempt,
    CancelToken,
    FallbackChain,
    NoAlternativeError,
    RetryPolicy,
    retry,
)
from workbench.core.text import mask_uri
from workbench.virt.connection import from_libvirt, open_connection

# action -> (virDomain method, the state it leads to). libvirt's "destroy" reads as "delete"
# to operators: the action is "force-off" (the CLI still takes "destroy" for scripts).
ACTIONS: dict[str, tuple[str, str]] = {
    "start": ("create", "running"),
    "shutdown": ("shutdown", "shutdown"),
    "force-off": ("destroy", "shutoff"),
    "reboot": ("reboot", "running"),
    "suspend": ("suspend", "paused"),
    "resume": ("resume", "running"),
}
DESTRUCTIVE = frozenset({"shutdown", "force-off", "reboot"})
# What an action is called where people read it (timelines, notices, confirms).
LABELS = {"force-off": "force off"}
# The question before a destructive action: what it does; only force off loses anything.
CONFIRMS = {
    "shutdown": "Shut down {vm}? Its guest is asked to power off and may take a while.",
    "reboot": "Reboot {vm}? Its guest is asked to restart.",
    "force-off": "Force off {vm}? Like pulling the plug: what the guest has not saved is "
    "lost. This cannot be undone.",
}


def action_label(action: str) -> str:
    """The words for `action` ("force off" for force-off)."""
    return LABELS.get(action, action)


TRANSIENT_CODES = frozenset(
    {"LIBVIRT_ERROR", "OPERATION_TIMEOUT", "LIBVIRT_DISCONNECTED", "LIBVIRT_UNREACHABLE"}
)


@dataclass
class ActionResult:
    vm: str
    action: str
    served_by: str
    attempts: list[Attempt] = field(default_factory=list)
    tried: list[dict[str, Any]] = field(default_factory=list)


def tcg_xml(xml: str) -> str:
    """The domain's XML for software emulation: type qemu, and no host-passthrough CPU (which
    needs KVM)."""
    out = re.sub(r"(<domain\b[^>]*\btype=)(['\"])kvm\2", r"\1\2qemu\2", xml, count=1)
    return re.sub(
        r"<cpu\b[^>]*mode=(['\"])host-(passthrough|model)\1[^>]*?(/>|>.*?</cpu>)",
        "",
        out,
        flags=re.S,
    )


def _already_running_is_final(start: Callable[[], None], dom: Any, vm: str) -> Callable[[], None]:
    """`start` that says VM_ALREADY_RUNNING when libvirt refused because the VM runs: no
    fallback can help then, and the operator should hear that, not a fallback's failure."""

    def run() -> None:
        try:
            start()
        except WorkbenchError as exc:
            if not _is_active(dom):  # libvirt's codes for this differ between drivers
                raise
            raise VMError(
                f"{vm} is already running",
                code="VM_ALREADY_RUNNING",
                details=exc.details,
                cause=exc,
                recoverable=False,
            ) from exc

    return run


def _state_of(dom: Any) -> str:
    """The domain's state by name, for the log ("unknown" when libvirt cannot say)."""
    try:
        return state_name(int(dom.state()[0]))
    except (libvirt.libvirtError, TypeError, IndexError, ValueError):
        return "unknown"


def _is_active(dom: Any) -> bool:
    try:
        return bool(dom.isActive())
    except libvirt.libvirtError:
        return False


def run_action(
    uri: str,
    action: str,
    vm: str,
    *,
    retries: int = 2,
    allow_tcg: bool = False,
    cancel: CancelToken | None = None,
    observer: Callable[[Attempt], None] | None = None,
    lifecycle: VmLifecycle | None = None,
    conn: Any = None,
) -> ActionResult:
    """Do `action` to `vm` on a read-write connection. Raises VMError (code VM_NOT_FOUND for an
    unknown name) or the last WorkbenchError when retries and fallbacks are spent, its context
    ending in `virt.actions::<action>`. With a `lifecycle`, the action's effect is recorded in
    the VM's history (cause `action`). With `conn`, that read-write connection is used (and
    left open) instead of a new one."""
    from workbench.core._structlog import structlog

    log = get_logger("virt.actions")
    seen: dict[str, str] = {}  # the VM's state before the action, once looked up
    # Every record of the action (each attempt's, from the recovery layer) names the VM.
    with structlog.contextvars.bound_contextvars(vm=vm, action=action):
        try:
            result = _act(
                uri,
                action,
                vm,
                retries=retries,
                allow_tcg=allow_tcg,
                cancel=cancel,
                observer=observer,
                lifecycle=lifecycle,
                conn=conn,
                seen=seen,
            )
        except WorkbenchError as exc:
            exc.add_context("virt.actions", action if action in ACTIONS else "run_action")
            # Callers show one line (the CLI) or a notice (the UI): the log keeps the whole error.
            log.warning("action.failed", vm=vm, action=action, error=exc)
            before = seen.get("from", "unknown")
            log.warning(
                "vm.action",
                vm=vm,
                action=action,
                outcome="failed",
                **{"from": before, "to": before},
                wanted=ACTIONS.get(action, ("", "unknown"))[1],
                cause=f"operator: {action_label(action)}",
                code=exc.code,
            )
            raise
        log.info(
            "vm.action",
            vm=vm,
            action=action,
            outcome="done",
            **{"from": seen.get("from", "unknown"), "to": ACTIONS[action][1]},
            cause=f"operator: {action_label(action)}",
            served_by=result.served_by,
            attempts=len(result.attempts),
        )
        return result


def _act(
    uri: str,
    action: str,
    vm: str,
    *,
    retries: int,
    allow_tcg: bool,
    cancel: CancelToken | None,
    observer: Callable[[Attempt], None] | None,
    lifecycle: VmLifecycle | None,
    conn: Any,
    seen: dict[str, str],
) -> ActionResult:
    if action not in ACTIONS:
        raise VMError(
            f"unknown action {action!r}",
            code="VM_UNKNOWN_ACTION",
            details={"actions": sorted(ACTIONS)},
        )
    attempts: list[Attempt] = []

    def observe(attempt: Attempt) -> None:
        attempts.append(attempt)
        if observer is not None:
            observer(attempt)

    policy = RetryPolicy(
        attempts=retries + 1, base_delay=0.5, max_delay=10.0, retry_on=TRANSIENT_CODES
    )
    own = conn is None
    conn = (
        conn
        if conn is not None
        else retry(
            lambda: open_connection(uri, readonly=False),
            policy,
            operation=f"connect {mask_uri(uri)}",
            cancel=cancel,
            observer=observe,
        )
    )
    try:
        try:
            dom = conn.lookupByName(vm)
        except libvirt.libvirtError as exc:
            raise from_libvirt(exc, f"look up {vm}", uri) from exc
        seen["from"] = lifecycle.state if lifecycle is not None else _state_of(dom)
        method, wanted = ACTIONS[action]
        # Before the call: an action that hangs (a stopped daemon) is in the log already.
        get_logger("virt.actions").info(
            "vm.action",
            vm=vm,
            action=action,
            outcome="requested",
            **{"from": seen["from"], "to": wanted},
            cause=f"operator: {action_label(action)}",
        )

        def call(fn: Callable[[], Any], what: str) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn()
                except libvirt.libvirtError as exc:
                    raise from_libvirt(exc, what, uri) from exc

            return lambda: retry(run, policy, operation=what, cancel=cancel, observer=observe)

        if lifecycle is not None:
            lifecycle.note("action", f"operator: {action_label(action)} requested")
        primary = call(getattr(dom, method), f"{action} {vm}")
        if action == "start":
            primary = _already_running_is_final(primary, dom, vm)
        target = ACTIONS[action][1]
        before = None if lifecycle is None else lifecycle.state
        if action != "start":
            primary()
            # The hypervisor's own event may have arrived already: then it has the last word.
            if lifecycle is not None and lifecycle.state == before:
                lifecycle.on_action(f"operator: {action_label(action)}", target)
            return ActionResult(vm, action, "libvirt", attempts)
        chain = FallbackChain(
            f"start {vm}",
            [
                Alternative("kvm", primary),
                Alternative(
                    "tcg",
                    call(
                        lambda: conn.createXML(tcg_xml(dom.XMLDesc(0)), 0), f"start {vm} with TCG"
                    ),
                    lambda: None if allow_tcg else "software emulation not chosen by the operator",
                ),
            ],
            final=lambda exc: exc.code == "VM_ALREADY_RUNNING",
        )
        try:
            result = chain.run()
        except NoAlternativeError as exc:
            if isinstance(exc.cause, WorkbenchError):
                # The primary failure is the error; what each alternative said goes in its
                # details. Not `from exc`: exc's cause is this error, and a cycle of causes
                # never ends for whatever walks it (a traceback renderer, to_dict).
                failed = exc.cause
                failed.details["fallbacks"] = exc.details.get("tried", [])
                raise failed from failed.__cause__
            raise
        if lifecycle is not None and lifecycle.state == before:
            lifecycle.on_action(f"operator: start ({result.served_by})", target)
        return ActionResult(vm, action, result.served_by, attempts, result.tried)
    finally:
        if own:
            conn.close()
