"""`open_source(spec, host)`: the LogSource a spec names. Specs: `-` (stdin), `kernel`,
`qemu:NAME`, `journal:UNIT`, `workbench` (our own log), anything else a file's path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.errors import ConfigError
from workbench.logs.sources import LogSource

if TYPE_CHECKING:
    from workbench.core.host import Host


def open_source(spec: str, host: Host | None = None) -> LogSource:
    """The source `spec` names on `host` (the live machine when None); ConfigError or
    LogFileError (exit 2) when it cannot be read."""
    from workbench.logs.sourcefiles import FileSource, StdinSource, vm_name

    if spec == "-":
        return StdinSource()
    if spec == "kernel":
        if host is not None and not host.live:  # what the capture recorded, dmesg style
            from workbench.core.machinelogs import KERNEL_LOG

            return FileSource(str(host.path(KERNEL_LOG)), label="kernel")
        from workbench.logs.kernelsource import KernelSource

        return KernelSource()
    if spec.startswith("qemu:"):
        from workbench.core.machinelogs import qemu_log_path

        name = vm_name(spec.removeprefix("qemu:"))
        rel = qemu_log_path(name)
        sos = host is not None and host.recorded_by == "sosreport"
        if host is not None and sos and not host.exists(rel):  # its root is a temp dir
            raise ConfigError(f"--qemu {name}: {_recorded_qemu(host, name)}")
        path = f"/{rel}" if host is None or host.live else str(host.path(rel))
        return FileSource(path, label=f"qemu:{name}")
    if spec.startswith("journal:"):
        if host is not None and not host.live:
            raise ConfigError("--journal: a recorded machine has no journal to ask")
        from workbench.logs.journalsource import JournalSource

        return JournalSource(spec.removeprefix("journal:"))
    if spec == "workbench":
        from workbench.core.logging import default_log_path

        own = default_log_path()
        if not own.exists():
            raise ConfigError(
                f"logs: no Workbench log yet at {own} (it is written when Workbench runs); "
                "give a log FILE, or --kernel, --qemu NAME, --journal UNIT"
            )
        return FileSource(str(own), label="workbench")
    return FileSource(spec)


def _recorded_qemu(host: Host, name: str) -> str:
    """Why a recorded machine has no QEMU log of `name`, and the ones it has."""
    from workbench.core.machinelogs import QEMU_LOG_DIR, qemu_log
    from workbench.core.text import safe_text

    why = qemu_log(host, name).why or "not recorded"
    held = sorted(n[: -len(".log")] for n in host.listdir(QEMU_LOG_DIR) if n.endswith(".log"))
    shown = ", ".join(held[:10]) + (", ..." if len(held) > 10 else "")
    return why + (f" (QEMU logs recorded: {safe_text(shown)})" if held else "")
