"""Recovery: retry policies (backoff, jitter, cancel, observable attempts) and fallback chains."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workbench.core.errors import WorkbenchError
from workbench.core.logging import get_logger
from workbench.core.text import mask_uris

T = TypeVar("T")


class CancelledError(WorkbenchError):
    code = "CANCELLED"
    default_remedy = "The operator cancelled; run the step again when ready."


class NoAlternativeError(WorkbenchError):
    code = "NO_ALTERNATIVE"


class CancelToken:
    """A cancellation flag that a waiting retry wakes up for at once."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when cancelled meanwhile."""
        return self._event.wait(seconds)


@dataclass(frozen=True)
class Attempt:
    """One try, as observers and the log see it."""

    operation: str
    number: int
    attempts: int
    ok: bool
    error: dict[str, Any] | None = None
    delay_s: float | None = None  # wait before the next try; None when none follows


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    The delay before try n+1 is `base_delay * factor**(n-1)`, capped at `max_delay`, then spread
    by +-`jitter` (a fraction) so that many clients do not retry in step. Only recoverable
    WorkbenchErrors are retried, and, when `retry_on` is given, only those codes.
    """

    attempts: int = 5
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1
    retry_on: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("delays must be >= 0, factor >= 1 and 0 <= jitter < 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        try:
            raw = min(self.max_delay, self.base_delay * self.factor ** (attempt - 1))
        except OverflowError:  # factor**n leaves the floats after ~1000 tries (hours of reconnect)
            raw = self.max_delay
        if self.jitter:
            spread = (rng or _rng).uniform(-self.jitter, self.jitter)
            raw *= 1 + spread
        return max(0.0, raw)

    def retries(self, exc: BaseException) -> bool:
        if not isinstance(exc, WorkbenchError) or not exc.recoverable:
            return False
        return self.retry_on is None or exc.code in self.retry_on


_rng = random.Random()  # noqa: S311 - jitter, not cryptography
Observer = Callable[[Attempt], None]


def _record(
    operation: str,
    number: int,
    policy: RetryPolicy,
    exc: BaseException | None,
    delay: float | None,
    observer: Observer | None,
) -> None:
    error = (
        exc.to_dict()
        if isinstance(exc, WorkbenchError)
        else (None if exc is None else {"error": type(exc).__name__, "message": str(exc)})
    )
    operation = mask_uris(operation)  # "connect URI": the log and observers never see a password
    attempt = Attempt(operation, number, policy.attempts, exc is None, error, delay)
    log = get_logger("core.recovery")
    if exc is None:
        log.info("attempt.succeeded", operation=operation, attempt=number)
    else:
        log.warning(
            "attempt.failed",
            operation=operation,
            attempt=number,
            of=policy.attempts,
            error=exc,
            retry_in_s=None if delay is None else round(delay, 3),
        )
    if observer is not None:
        observer(attempt)


def _failed(
    exc: Exception, number: int, policy: RetryPolicy, operation: str, observer: Observer | None
) -> float:
    """Record failed try `number`; re-raise `exc` when no try follows, else return the delay."""
    last = number == policy.attempts or not policy.retries(exc)
    delay = None if last else policy.delay(number)
    _record(operation, number, policy, exc, delay, observer)
    if delay is None:
        if isinstance(exc, WorkbenchError):
            exc.details.setdefault("attempts", number)
        raise exc
    return delay


def retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    operation: str = "operation",
    cancel: CancelToken | None = None,
    observer: Observer | None = None,
) -> T:
    """Call `fn` until it succeeds, the policy gives up (the last error is raised, with the
    attempt count in its details) or `cancel` fires (CancelledError)."""
    token = cancel or CancelToken()
    for number in range(1, policy.attempts + 1):
        if token.cancelled:
            raise CancelledError(f"{operation} cancelled before attempt {number}")
        try:
            result = fn()
        except Exception as exc:
            delay = _failed(exc, number, policy, operation, observer)  # raises when it is over
            if token.wait(delay):
                raise CancelledError(f"{operation} cancelled after attempt {number}") from exc
            continue
        _record(operation, number, policy, None, None, observer)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    operation: str = "operation",
    cancel: CancelToken | None = None,
    observer: Observer | None = None,
) -> T:
    """`retry` for coroutines: waits with asyncio.sleep in short steps so cancel is prompt."""
    token = cancel or CancelToken()
    for number in range(1, policy.attempts + 1):
        if token.cancelled:
            raise CancelledError(f"{operation} cancelled before attempt {number}")
        try:
            result = await fn()
        except Exception as exc:
            delay = _failed(exc, number, policy, operation, observer)  # raises when it is over
            deadline = time.monotonic() + delay
            while (left := deadline - time.monotonic()) > 0:
                if token.cancelled:
                    raise CancelledError(f"{operation} cancelled after attempt {number}") from exc
                await asyncio.sleep(min(left, 0.05))
            continue
        _record(operation, number, policy, None, None, observer)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class Alternative(Generic[T]):
    """One way to do a job. `available` returns None when it can be tried, else why not."""

    name: str
    run: Callable[[], T]
    available: Callable[[], str | None] = lambda: None


@dataclass
class FallbackResult(Generic[T]):
    value: T
    served_by: str
    tried: list[dict[str, Any]] = field(default_factory=list)  # the alternatives that did not


class FallbackChain(Generic[T]):
    """Ordered alternatives: the first available one that succeeds serves, and the record says
    which served and why the others did not. An error for which `final` is true (the job
    itself cannot be done, whatever the way: a VM already running) ends the chain at once.
    When none serves, the cause is the first failure (the primary's), the others beside it."""

    def __init__(
        self,
        operation: str,
        alternatives: Sequence[Alternative[T]],
        *,
        final: Callable[[WorkbenchError], bool] = lambda _exc: False,
    ) -> None:
        self.operation = operation
        self.alternatives = list(alternatives)
        self.final = final

    def availability(self) -> list[tuple[str, str | None]]:
        """(name, None when available or the reason it is not), in order."""
        return [(alt.name, alt.available()) for alt in self.alternatives]

    def run(self, *, start_at: str | None = None) -> FallbackResult[T]:
        """Try the alternatives in order (from `start_at`, when the operator picked one)."""
        log = get_logger("core.recovery")
        names = [a.name for a in self.alternatives]
        if start_at is not None and start_at not in names:
            raise NoAlternativeError(
                f"{self.operation}: no alternative named {start_at!r}",
                details={"alternatives": names},
            )
        chosen = self.alternatives[names.index(start_at) :] if start_at else self.alternatives
        tried: list[dict[str, Any]] = []
        first: WorkbenchError | None = None
        ended: str | None = None  # why the rest are not tried
        for alt in chosen:
            reason = alt.available()
            if reason is None and ended is not None:
                reason = ended
            if reason is not None:
                tried.append({"name": alt.name, "skipped": reason})
                continue
            try:
                value = alt.run()
            except WorkbenchError as exc:
                first = first or exc
                tried.append({"name": alt.name, "error": exc.to_dict()})
                log.warning(
                    "fallback.failed", operation=self.operation, alternative=alt.name, error=exc
                )
                if self.final(exc):
                    ended = f"not tried: {alt.name} failed with {exc.code}, which no fallback fixes"
                continue
            log.info(
                "fallback.served",
                operation=self.operation,
                alternative=alt.name,
                tried=[t["name"] for t in tried],
            )
            return FallbackResult(value, alt.name, tried)
        raise NoAlternativeError(
            f"{self.operation}: no alternative worked ({', '.join(t['name'] for t in tried)})",
            details={"tried": tried},
            cause=first,
        )
