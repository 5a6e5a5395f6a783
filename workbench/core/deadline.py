"""Calls that may hang (a stuck sysfs read, a silent daemon), run with a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def call_with_deadline(
    fn: Callable[[], T], timeout_s: float, on_timeout: Callable[[], Exception], name: str
) -> T:
    """Run `fn` on a daemon thread and return its result or raise its exception. When it has
    not finished after `timeout_s`, it is abandoned (never waited for) and `on_timeout()` is
    raised instead."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread as data
            box["exc"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise on_timeout()
    if "exc" in box:
        raise box["exc"]
    value: T = box["value"]
    return value
