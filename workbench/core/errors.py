"""One exception hierarchy with stable codes, remedies and a context chain (errors as data)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, ParamSpec, TypeVar

from workbench.core.text import mask_uris, mask_uris_in

P = ParamSpec("P")
R = TypeVar("R")


class WorkbenchError(Exception):
    """Base of every error Workbench raises on purpose.

    `code` is stable (scripts match on it), `details` holds machine-readable facts, `cause` the
    underlying exception, `recoverable` whether retrying or a fallback can help, `remedy` what the
    operator should do, and `context` the module::operation frames it crossed, innermost first.
    """

    code: ClassVar[str] = "WORKBENCH_ERROR"
    default_recoverable: ClassVar[bool] = False
    default_remedy: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        cause: BaseException | None = None,
        recoverable: bool | None = None,
        remedy: str | None = None,
    ) -> None:
        # Errors reach the log, --json and stderr: a URI's password is masked as it enters.
        message = mask_uris(message)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may narrow its class's code
        self.details: dict[str, Any] = mask_uris_in(dict(details or {}))
        self.cause = cause
        self.recoverable = self.default_recoverable if recoverable is None else recoverable
        self.remedy = remedy if remedy is not None else self.default_remedy
        self.context: list[str] = []
        if cause is not None:
            self.__cause__ = cause

    def add_context(self, module: str, operation: str) -> None:
        """Record that the error crossed `module::operation` (outer frames are appended)."""
        frame = f"{module}::{operation}"
        if not self.context or self.context[-1] != frame:
            self.context.append(frame)

    def to_dict(self, _outer: frozenset[int] = frozenset()) -> dict[str, Any]:
        """The error as data, as written to logs and to `workbench probe --json`."""
        outer = _outer | {id(self)}
        return {
            "error": self.code,
            "message": self.message,
            "details": self.details,
            "recoverable": self.recoverable,
            "remedy": self.remedy,
            "context": list(self.context),
            "cause": _cause_to_dict(self.cause, outer),
        }

    def __str__(self) -> str:
        return self.message


def _cause_to_dict(cause: BaseException | None, outer: frozenset[int]) -> dict[str, Any] | None:
    if cause is None:
        return None
    if id(cause) in outer:  # a cycle of causes: said once, not followed for ever
        return {"type": type(cause).__name__, "message": "(the error above)"}
    if isinstance(cause, WorkbenchError):
        return cause.to_dict(outer)
    return {"type": type(cause).__name__, "message": mask_uris(str(cause))}


# --- one family per area -------------------------------------------------------------------


class HardwareError(WorkbenchError):
    code = "HARDWARE_ERROR"


class HostReadError(HardwareError):
    """A file of the machine root is missing, unreadable or not what it should be."""

    code = "HOST_READ_ERROR"
    default_remedy = (
        "Check that the machine root is complete and readable; on a live machine run as a user "
        "that can read /sys and /proc."
    )


class VMError(WorkbenchError):
    code = "VM_ERROR"


class DependencyError(WorkbenchError):
    """Something Workbench needs is not installed."""

    code = "DEPENDENCY_MISSING"


class VirtConnectionError(WorkbenchError):
    code = "CONNECTION_ERROR"
    default_recoverable = True


class LibvirtError(VirtConnectionError):
    code = "LIBVIRT_ERROR"


class GuestAgentError(VirtConnectionError):
    code = "GUEST_AGENT_UNAVAILABLE"
    default_remedy = (
        "Install and start qemu-guest-agent in the guest, and give the domain an "
        "org.qemu.guest_agent.0 virtio channel."
    )


class ConfigError(WorkbenchError):
    """Bad input from the operator: arguments, settings, a machine root."""

    code = "CONFIG_ERROR"


class RootNotUsableError(ConfigError):
    code = "ROOT_NOT_USABLE"
    default_remedy = "Pass --root a directory laid out like / (with sys/ and proc/ inside)."


class PermissionDeniedError(WorkbenchError):
    code = "PERMISSION_DENIED"
    default_remedy = (
        "Run as a user with access (for example in the kvm or libvirt group) or as root."
    )


class CaptureError(WorkbenchError):
    code = "CAPTURE_INVALID"


class ProbeError(WorkbenchError):
    """A probe itself broke (as opposed to finding a problem on the machine)."""

    code = "PROBE_FAILED"
    default_remedy = "This is a bug in the probe: report it with the log file attached."


class ProbeTimeoutError(ProbeError):
    code = "PROBE_TIMEOUT"
    default_recoverable = True
    default_remedy = (
        "Something on the machine answered too slowly (a hung filesystem or device); "
        "rerun the probe, or look for processes stuck in D state."
    )


# --- context ---------------------------------------------------------------------------------


@contextmanager
def error_context(module: str, operation: str) -> Iterator[None]:
    """Add `module::operation` to any WorkbenchError that leaves the block."""
    try:
        yield
    except WorkbenchError as exc:
        exc.add_context(module, operation)
        raise


def with_context(module: str, operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of `error_context`, for functions on hot paths (a Host read): a plain
    try costs nothing until an error passes, where a generator context manager costs ~1 µs a
    call."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except WorkbenchError as exc:
                exc.add_context(module, operation)
                raise

        return inner

    return wrap
