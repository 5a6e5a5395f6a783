"""`workbench` (no command) and `workbench demo`: the Textual workbench."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands.common import usage_error

if TYPE_CHECKING:
    from workbench.ui.config import UiConfig


@contextlib.contextmanager
def ui_config(
    args: argparse.Namespace, ready: Callable[[], None] = lambda: None
) -> Iterator[UiConfig]:
    """The UiConfig of the target these arguments name (kept open around it). `ready` is
    called once what the user named is known usable, before anything is started (the CLI
    checks for a terminal there): for the demo, before its agent starts."""
    from workbench.target import open_target
    from workbench.ui.config import UiConfig

    demo = bool(getattr(args, "demo", False))
    if demo:
        ready()
    with open_target(
        root=getattr(args, "root", None),
        capture=getattr(args, "capture", None),
        sos=getattr(args, "sos", None),
        connect=getattr(args, "connect", None),
        connects=getattr(args, "connects", None),
        demo=demo,
    ) as target:  # a missing root or a bad capture is refused (exit 2) before the UI starts
        if not demo:
            ready()
        yield UiConfig.from_target(
            target, allow_actions=bool(getattr(args, "allow_actions", False))
        )


def require_terminal() -> None:
    """Refuse (exit 2, one line) where the workbench cannot be drawn: checked once what the
    user named is known to be usable, before anything is started."""
    from workbench.core.errors import ConfigError
    from workbench.ui.terminal import terminal_problem

    problem = terminal_problem()
    if problem is not None:
        raise ConfigError(
            f"the workbench needs a terminal ({problem})",
            code="NO_TERMINAL",
            remedy="for a report without one, run `workbench probe`",
        )


def run_app(config: UiConfig) -> int:
    """Run the workbench until it quits (the CLI's and each `workbench serve` tab's loop)."""
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.terminal import driver_class

    app = WorkbenchApp(config, driver_class=driver_class())
    # A closed terminal (SIGHUP) or a kill (SIGTERM) quits like `q`: the demo's agent is
    # stopped and its temporary files removed, nothing is left behind.
    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: app.exit())
    app.run()
    # Textual reports an exception inside the app and sets 1: a crash must not look like `q`.
    return app.return_code or 0


def route_open(args: argparse.Namespace) -> None:
    """`workbench open FILE`: what FILE is, by its content (never its name): a sosreport (a
    directory or an archive whose top directory holds sos_commands/) is opened as --sos, a
    capture stays a capture; anything else is refused, saying what it is not (exit 2)."""
    if getattr(args, "command", None) != "open" or args.capture is None:
        return
    from workbench.core.errors import CaptureError
    from workbench.sos.detect import archive_kind, report_top
    from workbench.sos.open import not_a_file

    path = Path(args.capture)
    remedy = (
        "Give a capture (`workbench capture` wrote it) or a sosreport (`sos report` wrote "
        "its archive; or its unpacked directory)."
    )
    if path.is_dir():
        if report_top(path) is None:
            raise CaptureError(
                f"{path}: a directory that is not a sosreport (no sos_commands/), and a "
                "capture is a file",
                code="SOS_NOT_A_REPORT",
                details={"path": str(path)},
                remedy=remedy + " A directory laid out like / is read with --root DIR.",
            )
        args.sos, args.capture = args.capture, None
        return
    if not path.is_file():
        raise not_a_file(path)
    head = _head(path)
    if head.startswith(GZIP):  # a capture's format too: unless it is a sosreport, a capture's
        with contextlib.suppress(CaptureError):  # own refusal says what is wrong with it
            if archive_kind(path, sos_only=True) == "sos":  # a capture: read past 2 members
                args.sos, args.capture = args.capture, None
        return
    if not _maybe_sos(head):  # garbage, empty: the capture's own refusal says why
        return
    try:
        kind = archive_kind(path)
    except CaptureError as exc:
        why = exc.message.split(": not a usable sosreport: ", 1)[-1]
        raise CaptureError(
            f"{path}: neither a capture nor a sosreport: {why}",
            code=exc.code,
            details={"path": str(path)},
            remedy=remedy,
        ) from exc
    if kind == "sos":
        args.sos, args.capture = args.capture, None
    elif kind == "tar":
        raise CaptureError(
            f"{path}: a tar archive, but neither a capture (no manifest.json) nor a "
            "sosreport (no sos_commands/ in its top directory)",
            code="SOS_NOT_A_REPORT",
            details={"path": str(path)},
            remedy=remedy,
        )


GZIP = b"\x1f\x8b"


def _head(path: Path) -> bytes:
    from workbench.sos.open import permission_denied

    try:
        with path.open("rb") as fh:
            return fh.read(512)
    except PermissionError as exc:  # what it is cannot be told: said so, never a crash
        raise permission_denied(path) from exc


def _maybe_sos(head: bytes) -> bool:
    """Whether a file that starts with `head` is an archive a sosreport can be (tar, xz,
    bzip2) or one a sosreport is sometimes mistaken for (zip, zstd): said as a sosreport's."""
    from workbench.sos.archive import COMPRESSIONS, REFUSED

    magics = [m for m, _ in COMPRESSIONS] + [m for m, _ in REFUSED]
    return any(head.startswith(m) for m in magics) or head[257:262] == b"ustar"


def demo_variant(args: argparse.Namespace) -> int | None:
    """`demo --sos`: the workbench on the demo machine's sosreport (args become `--sos
    ARCHIVE`); `demo --fleet`: the fleet of demo machines (the fleet command's run, its exit
    status returned); None for the demo itself. Both are built once, in the user's cache."""
    if getattr(args, "demo_sos", False) and getattr(args, "demo_fleet", False):
        return usage_error("demo: --sos or --fleet, not both")
    if getattr(args, "demo_sos", False):
        from workbench.demo_sos import cached_sos

        args.demo, args.sos = False, str(cached_sos())
        return None
    if getattr(args, "demo_fleet", False):
        from workbench.commands import fleet
        from workbench.demo_sos import cached_fleet

        fleet_args = argparse.Namespace(
            paths=[str(cached_fleet())],
            no_index=False,
            compare=None,
            json=False,
            text=False,
            workers=None,
            progress=False,
        )
        return fleet.run(fleet_args)
    return None


def run(args: argparse.Namespace) -> int:
    done = demo_variant(args)
    if done is not None:
        return done
    route_open(args)
    try:
        import workbench.ui.app  # noqa: F401 - said here, before the target is opened
    except ImportError as exc:  # pragma: no cover - textual is a dependency
        return usage_error(f"the workbench UI needs textual: {exc}")
    with ui_config(args, ready=require_terminal) as config:
        return run_app(config)
