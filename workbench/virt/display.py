"""How to see a VM's screen: Looking Glass -> virt-viewer/remote-viewer -> the SPICE/VNC URI.

The chain only plans (which command, or which URI to show); starting a viewer is an operator
action that the front end performs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from workbench.core.recovery import Alternative, FallbackChain
from workbench.virt.domains import DomainConfig


@dataclass(frozen=True)
class DisplayPlan:
    via: str  # "looking-glass", "viewer", "uri"
    argv: tuple[str, ...] | None  # the command to start, None when only a URI can be shown
    uri: str | None = None


def _graphics_uri(config: DomainConfig) -> str | None:
    for graphics in config.graphics:
        if graphics.kind in ("spice", "vnc") and graphics.port and graphics.port > 0:
            wildcard = graphics.listen in (None, "0.0.0.0", "::")  # noqa: S104 - read, not bound
            host = None if wildcard else graphics.listen
            return f"{graphics.kind}://{host or '127.0.0.1'}:{graphics.port}"
    return None


def display_chain(
    config: DomainConfig,
    connect_uri: str,
    search_path: str | None = None,
    shm_path: str = "/dev/kvmfr0",
) -> FallbackChain[DisplayPlan]:
    """The ways to show `config`'s screen, best first, each saying why it is unavailable."""

    def which(name: str) -> str | None:
        return shutil.which(name, path=search_path)

    has_lg = any(s.name.startswith("looking-glass") for s in config.shmem)
    has_graphics = any(g.kind in ("spice", "vnc") for g in config.graphics)
    viewer = which("virt-viewer") or which("remote-viewer")

    def lg_available() -> str | None:
        if not has_lg:
            return "the domain has no looking-glass shmem device"
        return None if which("looking-glass-client") else "looking-glass-client is not installed"

    def viewer_available() -> str | None:
        if not has_graphics:
            return "the domain has no SPICE or VNC display"
        return None if viewer else "neither virt-viewer nor remote-viewer is installed"

    def viewer_plan() -> DisplayPlan:
        argv: tuple[str, ...]
        if viewer is not None and viewer.endswith("virt-viewer"):
            argv = (viewer, "--connect", connect_uri, "--attach", config.name)
        else:
            argv = (viewer or "remote-viewer", _graphics_uri(config) or "")
        return DisplayPlan("viewer", argv, _graphics_uri(config))

    uri = _graphics_uri(config)
    return FallbackChain(
        f"display of {config.name}",
        [
            Alternative(
                "looking-glass",
                lambda: DisplayPlan(
                    "looking-glass", (which("looking-glass-client") or "", "-f", shm_path)
                ),
                lg_available,
            ),
            Alternative("viewer", viewer_plan, viewer_available),
            Alternative(
                "uri",
                lambda: DisplayPlan("uri", None, uri),
                lambda: None if uri else "no SPICE or VNC port (VM not running?)",
            ),
        ],
    )
