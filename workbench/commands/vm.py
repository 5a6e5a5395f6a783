"""`workbench vm ACTION NAME`: act on a VM, with retries and (on request) a TCG fallback."""

from __future__ import annotations

import argparse

from workbench.commands.common import say, text_stdout, usage_error


def run(args: argparse.Namespace) -> int:
    from workbench.target import open_target

    with open_target(connect=args.connect) as target:
        return _act(args, target.require_connect())


def _act(args: argparse.Namespace, uri: str) -> int:
    from workbench.core.errors import WorkbenchError
    from workbench.core.logging import configure_logging
    from workbench.core.recovery import Attempt
    from workbench.core.text import mask_uri, safe_text
    from workbench.virt.actions import run_action

    configure_logging()

    def show(attempt: Attempt) -> None:
        if not attempt.ok and attempt.delay_s is not None and attempt.error:
            say(
                f"attempt {attempt.number}/{attempt.attempts} failed: "
                f"{attempt.error['message']}; retrying in {attempt.delay_s:.1f} s"
            )

    try:
        result = run_action(
            uri,
            args.action,
            args.name,
            retries=args.retries,
            allow_tcg=args.fallback == "tcg",
            observer=show,
        )
    except WorkbenchError as exc:
        if exc.code == "VM_NOT_FOUND":
            return usage_error(f"no VM named {args.name!r} on {mask_uri(uri)}")
        if exc.code == "LIBVIRT_BAD_URI":  # no retry or fallback can use it
            return usage_error(f"{exc.message} ({exc.remedy})")
        if exc.code == "VM_ALREADY_RUNNING":
            say(f"{exc.message}; nothing started")
            return 1
        # The primary failure is the cause; what the fallbacks said comes beside it.
        say(f"{args.action} {args.name} failed: {exc.message}")
        for fallback in exc.details.get("fallbacks", [])[1:]:
            if "error" in fallback:
                say(f"fallback {fallback['name']} failed too: {fallback['error']['message']}")
        if exc.remedy:
            say(f"→ {exc.remedy}")
        return 1
    via = " (software emulation, TCG)" if result.served_by == "tcg" else ""
    text_stdout()
    print(f"{args.action} {safe_text(args.name)}: done{via}")
    return 0
