"""Retry policies and fallback chains: counted attempts, backoff, cancel, observers."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import ConfigError, GuestAgentError, WorkbenchError
from workbench.core.recovery import (
    Alternative,
    Attempt,
    CancelledError,
    CancelToken,
    FallbackChain,
    NoAlternativeError,
    RetryPolicy,
    retry,
    retry_async,
)

FAST = RetryPolicy(attempts=4, base_delay=0.001, factor=2, max_delay=0.01, jitter=0)


class Flaky:
    """Fails `failures` times with `error`, then returns 'ok'."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.error = error or GuestAgentError("not yet")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 30.0), (20, 30.0)]
)
def test_backoff_is_exponential_and_capped(attempt: int, expected: float) -> None:
    """Delay after try n is base * factor^(n-1), capped at max_delay."""
    assert RetryPolicy(base_delay=0.5, max_delay=30, jitter=0).delay(attempt) == expected


@given(st.integers(1, 40), st.floats(0, 0.99))
def test_jitter_stays_within_its_fraction(attempt: int, jitter: float) -> None:
    """Jitter spreads the delay by at most +-jitter of it, never below zero."""
    policy = RetryPolicy(base_delay=1, max_delay=60, jitter=jitter)
    plain = RetryPolicy(base_delay=1, max_delay=60, jitter=0).delay(attempt)
    delay = policy.delay(attempt, random.Random(attempt))
    assert plain * (1 - jitter) - 1e-9 <= delay <= plain * (1 + jitter) + 1e-9


def test_bad_policy_is_refused() -> None:
    """Nonsense policies fail at construction."""
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


def test_retry_until_success_with_observed_attempts() -> None:
    """Two failures then success: three attempts observed, the failures carry the next delay."""
    seen: list[Attempt] = []
    assert retry(Flaky(2), FAST, operation="ping", observer=seen.append) == "ok"
    assert [(a.number, a.ok) for a in seen] == [(1, False), (2, False), (3, True)]
    assert seen[0].delay_s == pytest.approx(0.001)
    assert seen[0].error is not None and seen[0].error["error"] == "GUEST_AGENT_UNAVAILABLE"
    assert seen[2].delay_s is None


def test_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    """When every attempt fails, the last error is raised with the attempt count."""
    flaky = Flaky(10)
    with pytest.raises(GuestAgentError) as info:
        retry(flaky, FAST)
    assert flaky.calls == 4
    assert info.value.details["attempts"] == 4


def test_non_recoverable_and_unlisted_codes_are_not_retried() -> None:
    """A non-recoverable error, or a code outside retry_on, fails on the first try."""
    flaky = Flaky(1, ConfigError("bad"))
    with pytest.raises(ConfigError):
        retry(flaky, FAST)
    assert flaky.calls == 1
    only = RetryPolicy(attempts=3, base_delay=0, jitter=0, retry_on=frozenset({"OTHER"}))
    flaky = Flaky(1)
    with pytest.raises(GuestAgentError):
        retry(flaky, only)
    assert flaky.calls == 1


def test_cancel_during_the_wait_stops_at_once() -> None:
    """Cancelling while a retry waits ends it with CancelledError, without another attempt."""
    token = CancelToken()
    flaky = Flaky(10)
    slow = RetryPolicy(attempts=5, base_delay=30, jitter=0)
    timer = threading.Timer(0.05, token.cancel)
    timer.start()
    with pytest.raises(CancelledError):
        retry(flaky, slow, cancel=token)
    assert flaky.calls == 1


def test_async_retry_counts_and_cancels() -> None:
    """The coroutine form retries the same way and honours cancel."""

    async def scenario() -> tuple[str, int]:
        flaky = Flaky(2)

        async def call() -> str:
            return flaky()

        value = await retry_async(call, FAST)
        token = CancelToken()
        token.cancel()
        with pytest.raises(CancelledError):
            await retry_async(call, FAST, cancel=token)
        return value, flaky.calls

    assert asyncio.run(scenario()) == ("ok", 3)


def test_fallback_serves_with_the_first_that_works() -> None:
    """Unavailable alternatives are skipped with their reason, failing ones recorded."""

    def broken() -> str:
        raise GuestAgentError("libvirt cannot")

    chain = FallbackChain(
        "agent",
        [
            Alternative("libvirt", broken),
            Alternative("socket", lambda: "answers", lambda: None),
            Alternative("never", lambda: "x"),
        ],
    )
    result = chain.run()
    assert (result.value, result.served_by) == ("answers", "socket")
    assert [t["name"] for t in result.tried] == ["libvirt"]
    assert chain.availability() == [("libvirt", None), ("socket", None), ("never", None)]


def test_fallback_start_at_and_none_left() -> None:
    """The operator can start further down the chain; when none work, NO_ALTERNATIVE says why."""
    chain: FallbackChain[str] = FallbackChain(
        "display",
        [
            Alternative("looking-glass", lambda: "lg", lambda: "client not installed"),
            Alternative("spice", lambda: "spice"),
        ],
    )
    assert chain.run(start_at="spice").served_by == "spice"
    with pytest.raises(NoAlternativeError):
        chain.run(start_at="vnc")
    dead: FallbackChain[str] = FallbackChain(
        "display", [Alternative("looking-glass", lambda: "lg", lambda: "client not installed")]
    )
    with pytest.raises(WorkbenchError) as info:
        dead.run()
    assert info.value.details["tried"] == [
        {"name": "looking-glass", "skipped": "client not installed"}
    ]


def test_delay_after_thousands_of_attempts_does_not_overflow() -> None:
    """A reconnect loop that has failed for hours still gets its capped delay, not an
    OverflowError from factor**n."""
    policy = RetryPolicy(attempts=10**9, base_delay=0.5, factor=2, max_delay=10, jitter=0)
    assert policy.delay(5000) == 10
    assert policy.delay(10**8) == 10


def test_a_failed_chain_names_the_primary_failure_as_its_cause() -> None:
    """When every alternative fails, the cause is the first (primary) failure; the fallbacks'
    failures are beside it in `tried`."""

    def fails(message: str) -> Callable[[], str]:
        def run() -> str:
            raise WorkbenchError(message, code=message.upper())

        return run

    chain = FallbackChain(
        "start", [Alternative("kvm", fails("kvm")), Alternative("tcg", fails("tcg"))]
    )
    with pytest.raises(NoAlternativeError) as info:
        chain.run()
    assert isinstance(info.value.cause, WorkbenchError)
    assert info.value.cause.code == "KVM"
    assert [t["error"]["error"] for t in info.value.details["tried"]] == ["KVM", "TCG"]


def test_a_final_error_ends_the_chain_without_trying_fallbacks() -> None:
    """An error no alternative can fix (a VM already running) is not followed by fallbacks."""
    tried: list[str] = []

    def primary() -> str:
        raise WorkbenchError("already running", code="VM_ALREADY_RUNNING")

    def fallback() -> str:
        tried.append("tcg")
        return "tcg"

    chain = FallbackChain(
        "start",
        [Alternative("kvm", primary), Alternative("tcg", fallback)],
        final=lambda exc: exc.code == "VM_ALREADY_RUNNING",
    )
    with pytest.raises(NoAlternativeError) as info:
        chain.run()
    assert tried == []
    assert isinstance(info.value.cause, WorkbenchError)
    assert info.value.cause.code == "VM_ALREADY_RUNNING"
    assert info.value.details["tried"][1]["name"] == "tcg"
    assert "not tried" in info.value.details["tried"][1]["skipped"]
