"""What the user names (this machine, a root, a capture, the demo) turned into what the code
reads: a Host, a Hypervisor or none, a label, and the cleanup of whatever had to be made.

`open_target` is the only place that decides which hypervisor a machine has by default:
qemu:///system on the live machine, none on a root, a capture or a sosreport (whose recording
answers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench.core.errors import ConfigError

if TYPE_CHECKING:  # imported when a target is opened: the CLI reads LIVE_URI at start-up
    from workbench.core.host import Host
    from workbench.virt.hypervisor import Hypervisor

LIVE_URI = "qemu:///system"  # the live machine's own hypervisor, when none is named
CAPTURE_CONNECT = "the workbench on a capture shows its recorded hypervisor: no --connect"

TargetKind = Literal["live", "root", "capture", "sos", "demo"]
SOS_CONNECT = "the workbench on a sosreport shows its recorded hypervisor: no --connect"


def default_uri(host: Host, connect: str | None) -> str | None:
    """The URI the live parts use: the one named, else the live machine's own, else none (a
    recorded machine's hypervisor is its recording, never this machine's)."""
    if connect is not None:
        return connect
    return LIVE_URI if host.live else None


@dataclass
class Target:
    """One machine as the commands, the UI and the API see it."""

    host: Host
    connect: str | None  # the URI of the live parts (UI session, VM actions, events); None: none
    label: str  # what the user named, in words: "this machine", "capture c.tar.gz"
    kind: TargetKind
    recorded_log: Path | None = None  # the workbench log a capture holds
    capture_file: str | None = None  # the capture as named (not its temporary unpacked root)
    captured_at: Any = None  # the capture's `created`, as recorded
    sos_file: str | None = None  # the sosreport as named (its machine root is temporary)
    _cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    # Every hypervisor named (repeated --connect), `connect` first; [] when there is none.
    connects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.connects and self.connect is not None:
            self.connects = [self.connect]

    def new_hypervisor(self, uri: str | None = None) -> Hypervisor | None:
        """A fresh, unopened hypervisor for one run (the gateway decides live, recorded or
        none); the run closes it, and the target closes it again on exit (closing is
        idempotent) in case the run never started. `uri`: one of `connects` (default the
        first)."""
        from workbench.virt.gateway import open_hypervisor

        hypervisor = open_hypervisor(self.host, uri if uri is not None else self.connect)
        if hypervisor is not None:
            self._cleanup.callback(hypervisor.close)
        return hypervisor

    def report_host(self) -> dict[str, Any]:
        """What a report's `host` adds: the capture it was judged from (its root is a temporary
        directory, gone after the command), nothing for a machine root."""
        if self.sos_file is not None:
            sos = self.host.manifest.get("sos")
            info = sos if isinstance(sos, dict) else {}
            return {
                "sosreport": self.sos_file,
                "sos_version": info.get("version"),
                "sos_hostname": info.get("hostname"),
                "sos_lacks": [str(w) for w in lacks][:10]
                if isinstance(lacks := info.get("lacks"), list)
                else [],
                "sos_ask_for": info.get("ask_for"),
                # What the translation could not read or understand (never a crash).
                "sos_problems": [str(p) for p in problems][:100]
                if isinstance(problems := self.host.manifest.get("problems"), list)
                else [],
            }
        if self.capture_file is None:
            return {}
        return {"capture": self.capture_file, "captured_at": self.captured_at}

    def require_connect(self) -> str:
        """The URI of a verb that needs a live hypervisor (vm, events)."""
        if self.connect is None:
            raise ConfigError(f"{self.label} has no live hypervisor", remedy="Give --connect URI.")
        return self.connect

    def require_connects(self) -> list[str]:
        """Every URI of a verb that watches live hypervisors (events), the first first."""
        return self.connects if self.connects else [self.require_connect()]

    def close(self) -> None:
        """Close every hypervisor it made, then remove what was made (unpacked capture, demo
        agent)."""
        self._cleanup.close()


def capture_target(root: Path, name: str) -> Target:
    """A capture already unpacked at `root` (by `open_target`, or once by `workbench serve`
    for all its tabs), shown as the capture `name`."""
    from workbench.capture.collectors import LOG_MEMBER
    from workbench.core.host import Host

    host = Host(root)
    log = root / LOG_MEMBER
    return Target(
        host=host,
        connect=None,  # its hypervisor is its recording (`open_target` refuses a --connect)
        label=f"capture {name}",
        kind="capture",
        recorded_log=log if log.is_file() else None,
        capture_file=name,
        captured_at=host.manifest.get("created"),
    )


def sos_target(root: Path, name: str) -> Target:
    """A sosreport already made into the machine root `root` (by `open_target`, or once by
    `workbench serve` for all its tabs), shown as the sosreport `name`."""
    from workbench.core.host import Host

    return Target(
        host=Host(root),
        connect=None,  # its hypervisor is what the report recorded
        label=f"sosreport {name}",
        kind="sos",
        sos_file=name,
    )


@contextlib.contextmanager
def open_target(
    root: str | Path | None = None,
    capture: str | Path | None = None,
    connect: str | None = None,
    demo: bool = False,
    sos: str | Path | None = None,
    connects: list[str] | None = None,
) -> Iterator[Target]:
    """The target the user named; on exit its hypervisors are closed and whatever was made for
    it (the unpacked capture, the demo's files and agent) removed. An unusable root or capture
    raises WorkbenchError (RootNotUsableError, CaptureError) before anything is started.
    `connects` names several hypervisors (repeated --connect); `connect` is then its first."""
    from workbench.core.host import Host

    if connects:
        connect = connect if connect is not None else connects[0]
        if connect != connects[0]:
            raise ConfigError("connect and connects name different first hypervisors")

    if sum((root is not None, capture is not None, sos is not None, demo)) > 1:
        raise ConfigError("name one machine: a root, a capture, a sosreport or the demo")
    if capture is not None and connect is not None:  # a silent swap would report on two machines
        raise ConfigError(CAPTURE_CONNECT)
    if sos is not None and connect is not None:
        raise ConfigError(SOS_CONNECT)
    own_log: Path | None = None  # the demo's: it never writes into the user's log
    with contextlib.ExitStack() as stack:
        if capture is not None:
            from workbench.capture.unpack import open_capture

            unpacked = stack.enter_context(open_capture(capture))
            target = capture_target(unpacked, str(capture))
        elif sos is not None:
            from workbench.sos.open import open_sos

            opened = stack.enter_context(open_sos(sos))
            target = sos_target(opened.root, str(sos))
        elif demo:
            from workbench.demo import demo_environment

            if connect is not None:
                raise ConfigError("the demo machine has its own hypervisor: no connect")
            env = stack.enter_context(demo_environment())
            target = Target(Host(env.root), env.uri, "the demo machine", "demo")
            own_log = env.log
        else:
            host = Host(root if root is not None else "/")
            label = "this machine" if host.live else f"root {host.root}"
            kind: TargetKind = "live" if host.live else "root"
            target = Target(host, default_uri(host, connect), label, kind)
            if connects:
                target.connects = list(connects)
        # Before the callback: the hypervisors' last records still go to this target's log.
        stack.enter_context(_log_origin(target, own_log))
        stack.callback(target.close)  # runs first: hypervisors close before files go
        yield target


def _log_origin(target: Target, log: Path | None) -> contextlib.AbstractContextManager[None]:
    """Our records say which machine they are about (this host's name on the live machine,
    else the target's label); the demo's go to its own log."""
    from workbench.core.logging import log_origin

    return log_origin(None if target.kind == "live" else target.label, log)
