"""The QEMU guest agent: through libvirt where it can, else straight over the channel's socket."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from workbench.core.errors import GuestAgentError, with_context
from workbench.core.recovery import Alternative, FallbackChain, NoAlternativeError

# Read-only questions: the only commands Workbench ever sends to a guest.
QUERIES = (
    "guest-ping",
    "guest-info",
    "guest-get-osinfo",
    "guest-get-host-name",
    "guest-network-get-interfaces",
)
DEFAULT_TIMEOUT_S = 3.0
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _socket_lock(path: str) -> threading.Lock:
    """The agent channel serves one client at a time: so do we, per socket."""
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


class AgentSocket:
    """A QGA client over a unix socket (the host side of an org.qemu.guest_agent.0 channel).

    Speaks the protocol as QEMU documents it: a 0xFF byte to reset the agent's parser, then
    guest-sync-delimited with a random id; the answer follows a 0xFF delimiter, and stale
    answers from an earlier client are skipped until the id matches. Every read has a deadline.
    """

    def __init__(self, path: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._buffer = b""

    @with_context("virt.agent", "query")
    def query(self, commands: Sequence[str] = QUERIES) -> dict[str, Any]:
        """Run read-only commands in one session; {command: return value}."""
        for command in commands:
            if command not in QUERIES:
                raise GuestAgentError(
                    f"{command} is not a read-only query",
                    code="GUEST_AGENT_REFUSED",
                    recoverable=False,
                    remedy=None,
                )
        lock = _socket_lock(self.path)
        if not lock.acquire(timeout=self.timeout_s):
            raise self._error("another client is using the agent channel", "GUEST_AGENT_BUSY")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout_s)
                try:
                    sock.connect(self.path)
                except OSError as exc:
                    raise self._error(
                        f"cannot connect: {exc.strerror or exc}", "GUEST_AGENT_UNAVAILABLE", exc
                    ) from exc
                self._buffer = b""
                self._sync(sock)
                return {command: self._command(sock, command) for command in commands}
        finally:
            lock.release()

    def _error(self, what: str, code: str, cause: BaseException | None = None) -> GuestAgentError:
        return GuestAgentError(
            f"guest agent at {self.path}: {what}",
            code=code,
            details={"socket": self.path},
            cause=cause,
        )

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        try:
            sock.sendall(payload)
        except OSError as exc:
            raise self._error(f"write failed: {exc}", "GUEST_AGENT_UNAVAILABLE", exc) from exc

    def _read_until(self, sock: socket.socket, marker: bytes, deadline: float) -> bytes:
        while marker not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._error(
                    f"no answer within {self.timeout_s:g} s (is the agent running in the guest?)",
                    "GUEST_AGENT_TIMEOUT",
                )
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise self._error(f"read failed: {exc}", "GUEST_AGENT_UNAVAILABLE", exc) from exc
            if not chunk:
                raise self._error("the agent closed the connection", "GUEST_AGENT_UNAVAILABLE")
            self._buffer += chunk
            if len(self._buffer) > 16 * 1024 * 1024:
                raise self._error("answer larger than 16 MiB", "GUEST_AGENT_PROTOCOL")
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _sync(self, sock: socket.socket) -> None:
        sync_id = random.randint(1, 2**31 - 1)  # noqa: S311 - a message id, not a secret
        request = {"execute": "guest-sync-delimited", "arguments": {"id": sync_id}}
        self._send(sock, b"\xff" + json.dumps(request).encode() + b"\n")
        deadline = time.monotonic() + self.timeout_s
        while True:
            self._read_until(sock, b"\xff", deadline)  # whatever came before is stale
            line = self._read_until(sock, b"\n", deadline)
            try:
                if json.loads(line).get("return") == sync_id:
                    return
            except (ValueError, AttributeError, RecursionError):
                continue  # garbage after a delimiter: wait for the next one

    def _command(self, sock: socket.socket, command: str) -> Any:
        self._send(sock, json.dumps({"execute": command}).encode() + b"\n")
        line = self._read_until(sock, b"\n", time.monotonic() + self.timeout_s)
        return parse_response(line.decode("utf-8", "replace"), command, self.path)


def parse_response(text: str, command: str, where: str) -> Any:
    """The `return` of a QGA answer; GuestAgentError for `error` answers or garbage."""
    try:
        answer = json.loads(text)
    except (ValueError, RecursionError) as exc:  # a guest may nest past the parser's depth
        raise GuestAgentError(
            f"{command}: the agent answered garbage: {text[:80]!r}",
            code="GUEST_AGENT_PROTOCOL",
            details={"at": where},
        ) from exc
    if isinstance(answer, dict) and "return" in answer:
        return answer["return"]
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        err = answer["error"]
        raise GuestAgentError(
            f"{command}: {err.get('class')}: {err.get('desc')}",
            code="GUEST_AGENT_COMMAND_FAILED",
            recoverable=False,
            details={"at": where, "class": err.get("class")},
            remedy=None,
        )
    raise GuestAgentError(
        f"{command}: unexpected answer {text[:80]!r}",
        code="GUEST_AGENT_PROTOCOL",
        details={"at": where},
    )


@with_context("virt.agent", "via_libvirt")
def via_libvirt(
    dom: Any, commands: Sequence[str] = QUERIES, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """The same queries through libvirt (needs a read-write connection; QEMU domains only)."""
    import libvirt
    import libvirt_qemu

    out: dict[str, Any] = {}
    for command in commands:
        try:
            text = libvirt_qemu.qemuAgentCommand(
                dom, json.dumps({"execute": command}), int(max(1, timeout_s)), 0
            )
        except libvirt.libvirtError as exc:
            unresponsive = exc.get_error_code() == libvirt.VIR_ERR_AGENT_UNRESPONSIVE
            raise GuestAgentError(
                f"{command} through libvirt: {exc.get_error_message()}",
                code="GUEST_AGENT_UNAVAILABLE" if unresponsive else "GUEST_AGENT_LIBVIRT_FAILED",
                details={"libvirt_code": exc.get_error_code()},
                cause=exc,
            ) from exc
        out[command] = parse_response(text, command, "libvirt")
    return out


def agent_chain(
    vm: str,
    libvirt_query: Callable[[], dict[str, Any]] | None,
    libvirt_unavailable: str | None,
    socket_path: str | None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> FallbackChain[dict[str, Any]]:
    """libvirt's agent API -> the channel's socket; `run()` raises NoAlternativeError if neither."""
    from pathlib import Path

    def socket_available() -> str | None:
        if socket_path is None:
            return "the domain has no unix-socket agent channel"
        if not Path(socket_path).exists():
            return f"{socket_path} does not exist (VM not running, or another host?)"
        return None

    return FallbackChain(
        f"guest agent of {vm}",
        [
            Alternative(
                "libvirt",
                libvirt_query or (lambda: {}),
                lambda: libvirt_unavailable if libvirt_query else "no libvirt domain",
            ),
            Alternative(
                "socket",
                lambda: AgentSocket(socket_path or "", timeout_s).query(),
                socket_available,
            ),
        ],
    )


@with_context("virt.agent", "ask")
def ask_agent(
    chain: FallbackChain[dict[str, Any]],
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """(answers, which alternative served, what was tried); GuestAgentError when none could."""
    try:
        result = chain.run()
    except NoAlternativeError as exc:
        tried = exc.details.get("tried", [])
        why = "; ".join(
            f"{t['name']}: {t['skipped'] if 'skipped' in t else t['error']['message']}"
            for t in tried
        )
        raise GuestAgentError(
            f"{chain.operation}: unavailable ({why})", details={"tried": tried}, cause=exc.cause
        ) from exc
    return result.value, result.served_by, result.tried
