"""Opening libvirt connections that never prompt, never print and never hang the caller."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from workbench.core.deadline import call_with_deadline
from workbench.core.errors import (
    LibvirtError,
    PermissionDeniedError,
    VirtConnectionError,
    WorkbenchError,
)
from workbench.core.text import mask_uri
from workbench.virt.eventloop import ensure_event_loop

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0

# Error codes that say the link to the daemon broke or stalled: retrying may help.
_TRANSIENT = {
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
    libvirt.VIR_ERR_NO_CONNECT,
}
# Error codes of an open that no retry can fix: the URI names no driver or transport libvirt
# has, or the credentials were refused.
_BAD_URI = {libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT}
_AUTH = {
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_AUTH_CANCELLED,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
}
_quiet = False
# Opens that missed their deadline and still run, by (uri, flags): at most one each.
_opens_lock = threading.Lock()
_abandoned_opens: dict[tuple[str, int], threading.Thread] = {}


def silence_libvirt() -> None:
    """libvirt prints every error to stderr by default; errors are data here, never output."""
    global _quiet
    if not _quiet:
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _quiet = True


def _unquote_password(exc: libvirt.libvirtError, uri: str) -> str:
    """libvirt's message quotes the URI as given. Mask it, as a whole (`uri` is known exactly,
    whatever its password holds), in the exception itself too: it travels on as the cause."""
    shown = mask_uri(uri)
    if shown != uri:
        exc.args = tuple(a.replace(uri, shown) if isinstance(a, str) else a for a in exc.args)
        if exc.err is not None:
            fields = (f.replace(uri, shown) if isinstance(f, str) else f for f in exc.err)
            exc.err = tuple(fields)  # same shape, masked
    return exc.get_error_message() or str(exc)


def from_libvirt(exc: libvirt.libvirtError, operation: str, uri: str | None = None) -> LibvirtError:
    """A libvirtError as a WorkbenchError with a code, details and a remedy."""
    code = exc.get_error_code()
    message = _unquote_password(exc, uri) if uri else exc.get_error_message() or str(exc)
    details: dict[str, Any] = {
        "libvirt_code": code,
        "libvirt_domain": exc.get_error_domain(),
        "operation": operation,
    }
    if uri:
        details["uri"] = mask_uri(uri)
    remedy = None
    error_code = "LIBVIRT_ERROR"
    if code == libvirt.VIR_ERR_NO_DOMAIN:
        error_code = "VM_NOT_FOUND"
        remedy = "Check the name with `virsh list --all` (and the connection URI)."
    elif code == libvirt.VIR_ERR_OPERATION_DENIED or "access denied" in message.lower():
        error_code = "LIBVIRT_DENIED"
        remedy = "Add the user to the libvirt group, or run with the right --connect URI."
    elif code == libvirt.VIR_ERR_NO_SUPPORT:
        error_code = "LIBVIRT_UNSUPPORTED"
    elif code == libvirt.VIR_ERR_OPERATION_INVALID:
        error_code = "VM_INVALID_STATE"
    return LibvirtError(
        f"{operation}: {message}",
        code=error_code,
        details=details,
        cause=exc,
        recoverable=code in _TRANSIENT,
        remedy=remedy,
    )


def connect_error(exc: libvirt.libvirtError, uri: str) -> WorkbenchError:
    """Why a connection could not be opened, with what to do."""
    message = _unquote_password(exc, uri)
    uri = mask_uri(uri)
    lowered = message.lower()
    code = exc.get_error_code()
    details = {"uri": uri, "libvirt_code": code}
    # VIR_FROM_URI: libvirt could not parse the URI (a port that is no number, a bad escape,
    # a password with a '/' or '@' not percent-encoded): no retry changes the text.
    if code in _BAD_URI or exc.get_error_domain() == libvirt.VIR_FROM_URI:
        return VirtConnectionError(
            f"cannot connect to {uri}: {message}",
            code="LIBVIRT_BAD_URI",
            details=details,
            cause=exc,
            remedy="Check the URI: driver[+transport]://[user@][host]/path, such as "
            "qemu:///system or qemu+ssh://user@host/system; percent-encode '/', '@', ':', "
            "'?' and '#' in a user or password.",
            recoverable=False,
        )
    if (
        code in _AUTH
        or "permission denied" in lowered
        or "authentication" in lowered
        or "polkit" in lowered
    ):
        return PermissionDeniedError(
            f"cannot connect to {uri}: {message}",
            details=details,
            cause=exc,
            remedy="Add the user to the 'libvirt' group (then log in again), or use "
            "qemu:///session for your own VMs.",
        )
    remedy = (
        "Start the libvirt daemon (`sudo systemctl start libvirtd` or virtqemud.socket) and "
        "check the URI."
        if "no such file" in lowered
        or "connection refused" in lowered
        or "failed to connect" in lowered
        else "Check the URI and that the libvirt daemon runs."
    )
    return VirtConnectionError(
        f"cannot connect to {uri}: {message}",
        code="LIBVIRT_UNREACHABLE",
        details=details,
        cause=exc,
        remedy=remedy,
        recoverable=True,
    )


def call_with_timeout(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run a libvirt call that may block (a hung daemon) in a helper thread; give up after
    `timeout_s` with a recoverable OPERATION_TIMEOUT instead of hanging the caller."""
    return call_with_deadline(
        fn,
        timeout_s,
        lambda: VirtConnectionError(
            f"{what}: no answer within {timeout_s:g} s",
            code="OPERATION_TIMEOUT",
            details={"operation": what, "timeout_s": timeout_s},
            recoverable=True,
            remedy="The libvirt daemon is not answering: check `systemctl status libvirtd`.",
        ),
        name=f"libvirt:{what}",
    )


def guarded_call(fn: Callable[[], T], what: str, uri: str, timeout_s: float) -> T:
    """The one way a libvirt call is made: `fn` within `timeout_s` (OPERATION_TIMEOUT after),
    a libvirtError it raises turned into a LibvirtError saying `what` (password masked)."""

    def guarded() -> T:
        try:
            return fn()
        except libvirt.libvirtError as exc:
            raise from_libvirt(exc, what, uri) from exc

    return call_with_timeout(guarded, timeout_s, what)


def _no_interactive_auth(_creds: list[Any], _data: object) -> int:
    return -1  # never prompt: a diagnostic tool must not wait for a password


def open_connection(
    uri: str, *, readonly: bool = True, timeout_s: float = CALL_TIMEOUT_S
) -> libvirt.virConnect:
    """Open `uri` (read-only unless asked) without prompting, within `timeout_s`.

    An open that misses its deadline is abandoned, not forgotten: the connection it may still
    return is closed, and no new open of the same URI starts while it runs (a daemon that
    accepts and never answers would otherwise cost a thread and two fds per attempt)."""
    silence_libvirt()
    ensure_event_loop()  # before any connection, or its events and keepalives never arrive
    auth = [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], _no_interactive_auth, None]
    flags = libvirt.VIR_CONNECT_RO if readonly else 0
    key = (uri, flags)
    deadline = time.monotonic() + timeout_s
    shown = mask_uri(uri)
    with _opens_lock:
        earlier = _abandoned_opens.get(key)
    if earlier is not None:
        earlier.join(timeout_s)
        if earlier.is_alive():
            raise _open_timeout(shown, timeout_s, still_waiting=True)
    box: dict[str, Any] = {}

    def opener() -> None:
        try:
            conn = libvirt.openAuth(uri, auth, flags)
        except libvirt.libvirtError as exc:
            error = connect_error(exc, uri)
            with _opens_lock:
                box["exc"] = error
        else:
            with _opens_lock:
                keep = not box.get("abandoned")
                if keep:
                    box["conn"] = conn
            if not keep:  # its caller gave up on it: nobody else will close it
                with contextlib.suppress(libvirt.libvirtError):
                    conn.close()
        finally:
            with _opens_lock:
                if _abandoned_opens.get(key) is threading.current_thread():
                    del _abandoned_opens[key]

    thread = threading.Thread(target=opener, name=f"libvirt:connect {shown}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    with _opens_lock:  # decided under the lock the opener stores its result under
        if "conn" not in box and "exc" not in box:
            box["abandoned"] = True
            _abandoned_opens[key] = thread
            raise _open_timeout(shown, timeout_s, still_waiting=False)
    if "exc" in box:
        raise box["exc"]
    conn: libvirt.virConnect = box["conn"]
    return conn


def _open_timeout(shown: str, timeout_s: float, *, still_waiting: bool) -> VirtConnectionError:
    why = "an earlier attempt is still waiting for an answer" if still_waiting else "no answer"
    return VirtConnectionError(
        f"connect {shown}: {why} within {timeout_s:g} s",
        code="OPERATION_TIMEOUT",
        details={"operation": f"connect {shown}", "timeout_s": timeout_s},
        recoverable=True,
        remedy="The libvirt daemon is not answering: check `systemctl status libvirtd`.",
    )
