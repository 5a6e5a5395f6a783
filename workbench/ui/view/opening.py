"""The merged view's sources from `open_source` specs (`-`, `kernel`, `qemu:NAME`,
`journal:UNIT`, `workbench`, a path): a file is read in place (a compressed one decoded into the
spool), a stream (stdin, the live kernel log, a journal) spooled by a thread into a private file
the view follows, so the timeline's random access works on every source."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from workbench.core.errors import ConfigError
from workbench.logs.opensource import open_source
from workbench.logs.source import open_log
from workbench.logs.sourcefiles import FileSource as LogsFileSource
from workbench.ui.view.filesource import FileSource
from workbench.ui.view.spool import Spool, label_of

if TYPE_CHECKING:
    from workbench.core.host import Host


def open_view_sources(
    specs: list[str],
    host: Host | None,
    spool: Spool,
    stdin: BinaryIO | None = None,
    names: Sequence[str] = (),
) -> list[FileSource]:
    """The view's sources for `specs` (`open_source` specs; `names` their labels when given),
    closed again if one of them cannot be opened: ConfigError or LogFileError (exit 2)."""
    from workbench.ui.view.timeline import unique_labels

    sources: list[FileSource] = []
    try:
        labels = unique_labels(list(names) if names else [_label(spec) for spec in specs])
        for spec, label in zip(specs, labels, strict=True):
            sources.append(_open(spec, label, host, spool, stdin))
    except BaseException:
        for source in sources:
            source.close()
        raise
    return sources


def _label(spec: str) -> str:
    if spec in ("-", "kernel", "workbench") or spec.startswith(("qemu:", "journal:")):
        return spec
    return label_of(spec)


def _open(
    spec: str, label: str, host: Host | None, spool: Spool, stdin: BinaryIO | None
) -> FileSource:
    """A file read in place (decoded into the spool when compressed); a stream spooled."""
    if spec == "-":
        if stdin is None:
            raise ConfigError("view: - (standard input) is read by `workbench view -` only")
        return FileSource(spool.piped(stdin), label, growing=True)
    boot_time = None
    if spec in ("kernel", "workbench") or spec.startswith(("qemu:", "journal:")):
        opened = open_source(spec, host)
        if not isinstance(opened, LogsFileSource):
            return FileSource(spool.streamed(opened), label, growing=True)
        path = opened.path  # a file (it holds no descriptor): read in place below
        if spec == "kernel" and host is not None:  # a recorded dmesg: its boot, if recorded
            boot_time = recorded_boot_time(host)
    else:
        path = spec
    os.close(open_log(path))  # refused here (one line, exit 2) if unreadable
    copy = spool.decoded(path)
    return FileSource(copy or path, label, growing=copy is not None, boot_time=boot_time)


def recorded_boot_time(host: Host) -> float | None:
    """When a recorded machine booted (its `proc/stat` btime): its kernel log's seconds since
    boot become times merged with the others'. None when not recorded or unreadable."""
    from workbench.core.errors import WorkbenchError
    from workbench.logs.linetimes import boot_time_from_stat

    try:
        stat = host.read_text("proc/stat")
    except WorkbenchError:
        return None
    return None if stat is None else boot_time_from_stat(stat[:65536])
