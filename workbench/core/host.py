"""A machine root: `/` for the live machine, or a directory laid out like `/` (a recorded machine).

Probes read only through a Host. Under a directory root every path is resolved inside the root
(symlinks included, absolute ones relative to the root), so a hostile or broken root can never
make a probe read the live machine or hang on a FIFO.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import HostReadError, RootNotUsableError, error_context, with_context
from workbench.core.pci import PciInventory
from workbench.core.pciscan import scan_pci
from workbench.core.text import parse_uint

SOSREPORT = "sosreport"  # the manifest's `source` of a root made from a sosreport (recorded_by)

MAX_FILE_BYTES = 16 * 1024 * 1024
_MAX_LINK_HOPS = 40
_MAX_COMPONENTS = 1024  # PATH_MAX (4096) allows at most 2048; real sysfs paths have about 10
_CHUNK = 1 << 16
MAX_SIZE = 1 << 62  # bytes: more than any machine has; larger recorded sizes are not believed
MAX_PID = 1 << 22  # the kernel's pid_max limit
SCAN_WAIT_S = 5.0
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
# Processes the probes ask about; the live table keeps only these (psutil reads each one's owner).
WATCHED_PROCESSES = (
    "qemu-system",
    "qemu-kvm",
    "libvirtd",
    "virtqemud",
    "looking-glass",
    "virtlogd",
)


@dataclass(frozen=True)
class DeviceNode:
    """What is known about a device node such as /dev/kvm. None means not known."""

    path: str
    kind: str  # "char", "block", "file", "dir", "other"
    mode: str | None = None  # octal permission bits, "0660"
    owner: str | None = None
    group: str | None = None
    accessible: bool | None = None  # can this user open it read-write
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """As recorded in a manifest's `facts.device_nodes` (the path is the key there)."""
        return {
            "kind": self.kind,
            "mode": self.mode,
            "owner": self.owner,
            "group": self.group,
            "accessible": self.accessible,
            "size": self.size,
        }


@dataclass(frozen=True)
class ProcessInfo:
    pid: int | None  # None when a recording holds no usable pid
    name: str
    user: str | None


class Host:
    """Read-only access to a machine, live (`/`) or recorded (any directory laid out like `/`)."""

    @with_context("core.host", "open")
    def __init__(self, root: str | os.PathLike[str] = "/") -> None:
        path = Path(root)
        if not path.exists():
            raise RootNotUsableError(
                f"machine root {str(path)!r} does not exist", details={"root": str(path)}
            )
        if not path.is_dir():
            capture = path.name.endswith((".tar.gz", ".tgz"))
            raise RootNotUsableError(
                f"machine root {str(path)!r} is not a directory",
                details={"root": str(path)},
                # A capture given as a root is the likeliest slip: name the option it needs.
                remedy=f"{path.name} looks like a capture: open it with --capture {path.name}."
                if capture
                else None,
            )
        self.root = path.resolve()
        self.live = self.root == Path("/")
        self._rootstr = "" if self.live else str(self.root)
        self._resolved: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._scan_hung = False
        self._inventory: PciInventory | None = None
        self._manifest: dict[str, Any] | None = None
        self._process_table: list[ProcessInfo] | None = None
        self.problems: list[str] = []

    def __repr__(self) -> str:
        return f"Host({str(self.root)!r})"

    # --- paths ------------------------------------------------------------------------------

    @with_context("core.host", "path")
    def path(self, rel: str) -> Path:
        """The real path of `rel` (a path relative to the root, such as `sys/bus/pci`)."""
        return Path(self._real(rel))

    def _real(self, rel: str) -> str:
        # Plain strings, not pathlib: a 300-device scan resolves thousands of paths.
        if self.live:
            return "/" + rel.lstrip("/")
        return self._join(self._resolve(_parts(rel)))

    def _join(self, parts: tuple[str, ...]) -> str:
        return self._rootstr + "/" + "/".join(parts) if parts else self._rootstr

    def _resolve(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        """Resolve `parts` below the root as if the root were `/` (a chroot, in user space)."""
        return resolve_confined(parts, self.link_at, cache=self._resolved)[0]

    def link_at(self, parts: tuple[str, ...]) -> str | None:
        """What the link at `parts` (already resolved) points to; None when it is not a link;
        OSError when nothing is there. The resolver's view of this root."""
        candidate = self._join(parts)
        if stat.S_ISLNK(os.lstat(candidate).st_mode):  # OSError: it does not exist
            return os.readlink(candidate)
        return None

    def resolved_parts(self, rel: str) -> tuple[str, ...] | None:
        """The components of `rel` with every link followed, relative to the root (where a
        sysfs device really sits); None when it cannot be resolved."""
        try:
            if self.live:
                return _parts(os.path.realpath("/" + rel.lstrip("/")))
            return self._resolve(_parts(rel))
        except (HostReadError, OSError):
            return None

    def exists(self, rel: str) -> bool:
        try:
            return os.path.exists(self._real(rel))
        except (HostReadError, OSError):
            return False

    def is_dir(self, rel: str) -> bool:
        try:
            return os.path.isdir(self._real(rel))
        except (HostReadError, OSError):
            return False

    @with_context("core.host", "listdir")
    def listdir(self, rel: str) -> list[str]:
        """Sorted names in a directory; [] when it does not exist."""
        try:
            return sorted(os.listdir(self._real(rel)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError as exc:
            raise self._read_error(rel, "permission", exc) from exc
        except OSError as exc:
            raise self._read_error(rel, "io", exc) from exc

    def link_name(self, rel: str) -> str | None:
        """The last component of a symlink's target (a driver or group name); None if no link."""
        try:
            if self.live:
                target = os.readlink(Path("/", rel))
            else:
                parts = _parts(rel)
                parent = self._resolve(parts[:-1])
                target = os.readlink(self._join((*parent, parts[-1])))
        except (OSError, HostReadError):
            return None
        name = target.rstrip("/").rsplit("/", 1)[-1]
        return name or None

    def read_text(self, rel: str, *, missing_ok: bool = True) -> str | None:
        """A file's text; None when it does not exist (and `missing_ok`).

        Raises HostReadError when it exists but cannot be read or is not a regular file.
        """
        # The frame by hand, not @with_context: this is the probes' hot path (a wrapper's call
        # costs ~0.2 µs a read; a try nothing until an error passes).
        try:
            data = self._read_bytes(rel, missing_ok)
        except HostReadError as exc:
            exc.add_context("core.host", "read_text")
            raise
        return None if data is None else data.decode("utf-8", errors="replace")

    def read_bytes(self, rel: str, *, missing_ok: bool = True) -> bytes | None:
        """A file's bytes, exactly (a capture copies them so); as `read_text` otherwise."""
        try:
            return self._read_bytes(rel, missing_ok)
        except HostReadError as exc:
            exc.add_context("core.host", "read_bytes")
            raise

    def _read_bytes(self, rel: str, missing_ok: bool) -> bytes | None:
        """The read itself; each public read adds its own frame (one, not one per layer)."""
        try:
            fd = self._open(rel)
        except FileNotFoundError as exc:
            if missing_ok:
                return None
            raise self._read_error(rel, "missing", exc) from exc
        except PermissionError as exc:
            raise self._read_error(rel, "permission", exc) from exc
        except OSError as exc:
            raise self._read_error(rel, "io", exc) from exc
        try:
            try:
                chunk = os.read(fd, _CHUNK)
            except OSError:
                self._require_regular(fd, rel)  # a directory or a FIFO says so, not "io"
                raise
            if not chunk or len(chunk) == _CHUNK:
                # Empty or more to come: make sure it is a regular file (not a FIFO, a device
                # that never ends) before trusting the read. Most sysfs reads skip this fstat,
                # which matters where a system call costs 15 µs.
                self._require_regular(fd, rel)
            chunks = [chunk]
            size = len(chunk)
            while len(chunk) == _CHUNK:  # a short read of a regular file is its end
                chunk = os.read(fd, _CHUNK)
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise self._read_error(rel, "too large", None)
            data = b"".join(chunks)
        except OSError as exc:
            raise self._read_error(rel, "io", exc) from exc
        finally:
            os.close(fd)
        return data

    def _require_regular(self, fd: int, rel: str) -> None:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise self._read_error(rel, "not a regular file", None)

    def _open(self, rel: str) -> int:
        """Open `rel` read-only without following a final symlink and without blocking."""
        if self.live:
            return os.open(self._real(rel), _OPEN_FLAGS)
        parts = _parts(rel)
        if parts and parts[-1] != "..":
            # Fast path: resolve the directory (cached), open the name itself; only a name that is
            # a symlink (ELOOP under O_NOFOLLOW) needs the full resolution.
            try:
                return os.open(self._join((*self._resolve(parts[:-1]), parts[-1])), _OPEN_FLAGS)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
        return os.open(self._join(self._resolve(parts)), _OPEN_FLAGS)

    def read_required(self, rel: str) -> str:
        """A file's text; HostReadError when it is missing too. `read_text` under another
        name: its error's frame is `core.host::read_text`."""
        text = self.read_text(rel, missing_ok=False)
        if text is None:  # pragma: no cover - read_text raises instead when missing_ok=False
            raise self._read_error(rel, "missing", None)
        return text

    def _read_error(self, rel: str, reason: str, exc: BaseException | None) -> HostReadError:
        shown = f"/{rel}" if self.live else f"{self.root}/{rel}"
        detail = f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else ""
        return HostReadError(
            f"cannot read {shown} ({reason}{detail})",
            details={"path": rel, "root": str(self.root), "reason": reason},
            cause=exc,
        )

    def try_read(self, rel: str) -> tuple[str | None, str | None]:
        """(text, problem): never raises; the problem says why a present file gave no text."""
        try:
            return self.read_text(rel), None
        except HostReadError as exc:
            return None, exc.message

    # --- facts that are not plain files ----------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """`manifest.json` of a recorded machine ({} when absent or live)."""
        if self._manifest is None:
            self._manifest = {}
            if not self.live:
                text, problem = self.try_read("manifest.json")
                if problem:
                    self.problems.append(problem)
                elif text is not None:
                    try:
                        loaded = json.loads(text)
                    except ValueError as exc:
                        self.problems.append(f"manifest.json is not valid JSON: {exc}")
                    except RecursionError:
                        self.problems.append("manifest.json is nested too deeply to read")
                    else:
                        if isinstance(loaded, dict):
                            self._manifest = loaded
                        else:
                            self.problems.append("manifest.json is not a JSON object")
        return self._manifest

    @property
    def recorded_by(self) -> str | None:
        """What recorded this machine, as its manifest says: "capture" (`workbench capture`),
        "sosreport" (a root workbench.sos made of one), None (live, or a root laid out by
        hand). What a recording lacks is `record_hint`'s: this says only whose words to use."""
        if self.live:
            return None
        source = self.manifest.get("source")
        if source == SOSREPORT:
            return "sosreport"
        if isinstance(source, dict) and isinstance(self.manifest.get("collectors"), dict):
            return "capture"
        return None

    def record_hint(self, rel: str) -> str | None:
        """Why the recorded machine does not hold `rel` and what would record it, as its
        manifest says (`not_recorded`: a sosreport's root says "not in this sosreport: needs
        ..."); the entry of the longest path that is `rel` or holds it. None: nothing said."""
        said = self.manifest.get("not_recorded") if not self.live else None
        if not isinstance(said, dict):
            return None
        parts = _parts(rel)
        for n in range(len(parts), 0, -1):
            hint = said.get("/".join(parts[:n]))
            if isinstance(hint, str) and hint:
                return hint[:300]
        return None

    def _facts(self, key: str) -> Any:
        facts = self.manifest.get("facts")
        return facts.get(key) if isinstance(facts, dict) else None

    def device_recorded(self, path: str) -> bool:
        """Whether this machine says anything about /dev node `path` (present or absent)."""
        if self.live:
            return True
        recorded = self._facts("device_nodes")
        if isinstance(recorded, dict) and path in recorded:
            return True
        try:
            real = self._real(path.lstrip("/"))
        except HostReadError:
            return False
        return os.path.lexists(real)

    def device_node(self, path: str) -> DeviceNode | None:
        """A /dev node: stat on the live machine; the manifest's facts or the file in a root.

        None when it does not exist, or is not recorded (see `device_recorded`).
        """
        if self.live:
            return _stat_node(path, Path(path), check_access=True)
        recorded = self._facts("device_nodes")
        if isinstance(recorded, dict) and path in recorded:
            entry = recorded[path]
            if not isinstance(entry, dict):
                return None  # recorded as absent
            return DeviceNode(
                path=path,
                kind=str(entry.get("kind", "other")),
                mode=_opt_str(entry.get("mode")),
                owner=_opt_str(entry.get("owner")),
                group=_opt_str(entry.get("group")),
                accessible=entry.get("accessible")
                if isinstance(entry.get("accessible"), bool)
                else None,
                size=self._fact_uint(entry.get("size"), MAX_SIZE, f"device_nodes[{path!r}].size"),
            )
        try:
            real = self._real(path.lstrip("/"))
        except HostReadError:
            return None
        return _stat_node(path, real, check_access=False)

    def processes(self, names: tuple[str, ...]) -> list[ProcessInfo] | None:
        """Running processes whose name starts with one of `names` (each a prefix of one of
        WATCHED_PROCESSES on the live machine); None when not known."""
        if self.live:
            return [p for p in self._live_processes() if p.name.startswith(names)]
        recorded = self._facts("processes")
        if not isinstance(recorded, list):
            return None
        return [
            ProcessInfo(
                self._fact_uint(p.get("pid"), MAX_PID, f"processes[{n}].pid"),
                p["name"],
                _opt_str(p.get("user")),
            )
            for n, p in enumerate(recorded)
            if isinstance(p, dict)
            and isinstance(p.get("name"), str)
            and p["name"].startswith(names)
        ]

    def _fact_uint(self, value: Any, limit: int, where: str) -> int | None:
        """A manifest number (an int, or a string of ASCII digits) up to `limit`; anything else
        is None and a problem of this machine, never a crash further on."""
        if value is None:
            return None
        number = value if type(value) is int else parse_uint(str(value)[:60], limit=limit)
        if number is None or not 0 <= number <= limit:
            self._problem(f"manifest.json facts.{where}: {str(value)[:40]!r} is not a number")
            return None
        return number

    def _problem(self, text: str) -> None:
        if text not in self.problems:  # probes in threads may meet the same fact twice
            self.problems.append(text)

    def _live_processes(self) -> list[ProcessInfo]:
        """The live process table, read once per Host (names first; owners only for those kept)."""
        with self._lock:
            if self._process_table is None:
                import psutil  # live-only: never imported for recorded machines

                table = []
                for proc in psutil.process_iter(["pid", "name"]):
                    name = proc.info.get("name") or ""
                    if not name.startswith(WATCHED_PROCESSES):
                        continue
                    try:
                        user: str | None = proc.username()
                    except (psutil.Error, KeyError):
                        user = None
                    table.append(ProcessInfo(proc.info["pid"], name, user))
                self._process_table = table
            return self._process_table

    def qemu_processes(self) -> dict[str, dict[str, Any]] | None:
        """Running QEMU processes by guest name (libvirt starts them with `-name guest=NAME`):
        pid, user, average CPU % since start, resident memory, threads. None off the live host."""
        if not self.live:
            return None
        import psutil

        found: dict[str, dict[str, Any]] = {}
        for proc in self._live_processes():
            if not proc.name.startswith(("qemu-system", "qemu-kvm")):
                continue
            try:
                handle = psutil.Process(proc.pid)
                with handle.oneshot():
                    cmdline = handle.cmdline()
                    times = handle.cpu_times()
                    age = max(1e-6, time.time() - handle.create_time())
                    rss = handle.memory_info().rss
                    threads = handle.num_threads()
            except (psutil.Error, OSError):
                continue  # gone or not ours to read
            name = _guest_name(cmdline)
            if name:
                found[name] = {
                    "pid": proc.pid,
                    "user": proc.user,
                    "cpu_percent_avg": round(100 * (times.user + times.system) / age, 1),
                    "rss_bytes": rss,
                    "threads": threads,
                }
        return found

    def memory_total_bytes(self) -> int | None:
        if self.live:
            import psutil

            return int(psutil.virtual_memory().total)
        text, _ = self.try_read("proc/meminfo")
        for line in (text or "").splitlines():
            key, _, rest = line.partition(":")
            if key == "MemTotal":
                fields = rest.split()
                kib = parse_uint(fields[0] if fields else None, limit=MAX_SIZE >> 10)
                if kib is not None:
                    return kib * 1024
        return None

    # --- PCI ----------------------------------------------------------------------------------

    def pci(self) -> PciInventory:
        """Every PCI function and IOMMU group, read once per Host.

        Raises HostReadError (reason "hung") when an earlier scan is still stuck in a read: the
        first caller waits SCAN_WAIT_S for it, later ones are told at once.
        """
        with error_context("core.host", "scan_pci"):
            if self._scan_hung or not self._scan_lock.acquire(timeout=SCAN_WAIT_S):
                self._scan_hung = True
                raise HostReadError(
                    "the PCI scan of this machine has not finished (a hung sysfs read?)",
                    details={"root": str(self.root), "reason": "hung", "waited_s": SCAN_WAIT_S},
                    recoverable=True,
                )
            try:
                if self._inventory is None:
                    self._inventory = scan_pci(self)
                return self._inventory
            finally:
                self._scan_lock.release()


def _parts(rel: str) -> tuple[str, ...]:
    return tuple(p for p in rel.split("/") if p and p != ".")


def resolve_confined(
    parts: tuple[str, ...],
    link_at: Callable[[tuple[str, ...]], str | None],
    *,
    cache: dict[tuple[str, ...], tuple[str, ...]] | None = None,
    on_link: Callable[[tuple[str, ...], str], None] | None = None,
    follow_last: bool = True,
    hops: int = 0,
) -> tuple[tuple[str, ...], bool]:
    """(`parts` resolved inside a root as if it were `/`, whether every component exists): the
    one symlink-confined resolver of a Host, a capture's copier and a capture's tree.

    `link_at(resolved)` says what the link at those parts points to (None: not a link) and
    raises OSError when nothing is there. `on_link(link, target)` is told of every link
    followed; `follow_last=False` leaves a link in the last component as it is. `..` never
    leaves the root; a link's absolute target is relative to the root.

    Components are walked in a loop; only a link recurses, at most _MAX_LINK_HOPS deep, so a
    hostile root (a target of thousands of components, a chain of 5,000 links) gets a
    HostReadError, never a RecursionError. Prefixes whose components all exist are cached in
    `cache`; a missing one may appear later.
    """
    if not parts:
        return (), True
    cached = cache.get(parts) if cache is not None else None
    if cached is not None:
        return cached, True
    if len(parts) > _MAX_COMPONENTS:
        raise _too_deep(parts)
    known = 0
    if cache is not None:
        known = len(parts) - 1
        while known and parts[:known] not in cache:
            known -= 1
    resolved = cache[parts[:known]] if cache is not None and known else ()
    complete = True
    last = len(parts) - 1
    for i in range(known, len(parts)):
        name = parts[i]
        if name == "..":
            resolved = resolved[:-1]
        else:
            here = (*resolved, name)
            target = None
            if i < last or follow_last:
                try:
                    target = link_at(here)
                except OSError:
                    complete = False  # does not exist (yet): reading it says so
            if target is None:
                resolved = here
            else:
                if hops >= _MAX_LINK_HOPS:
                    raise HostReadError(
                        f"too many levels of symbolic links at {'/'.join(parts[: i + 1])}",
                        details={"path": "/".join(parts[: i + 1]), "reason": "loop"},
                    )
                if on_link is not None:
                    on_link(here, target)
                base = () if target.startswith("/") else resolved
                resolved, exists = resolve_confined(
                    (*base, *_parts(target)),
                    link_at,
                    cache=cache,
                    on_link=on_link,
                    hops=hops + 1,
                )
                complete = complete and exists
        if complete and cache is not None:
            cache[parts[: i + 1]] = resolved
    return resolved, complete


def _too_deep(parts: tuple[str, ...]) -> HostReadError:
    shown = "/".join(parts[:8]) + ("/…" if len(parts) > 8 else "")
    return HostReadError(
        f"path too deep at {shown} (more than {_MAX_COMPONENTS} components)",
        details={"path": shown, "reason": "too deep"},
    )


def _guest_name(cmdline: list[str]) -> str | None:
    """`-name guest=win11,debug-threads=on` (or `-name win11`) -> `win11`."""
    for flag, value in itertools.pairwise(cmdline):
        if flag == "-name":
            first = value.split(",", 1)[0]
            return first.removeprefix("guest=") or None
    return None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _stat_node(shown: str, real: str | Path, *, check_access: bool) -> DeviceNode | None:
    try:
        st = os.stat(real)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "char"
    elif stat.S_ISBLK(st.st_mode):
        kind = "block"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISDIR(st.st_mode):
        kind = "dir"
    else:
        kind = "other"
    owner = group = None
    if check_access:
        import grp
        import pwd

        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = str(st.st_uid)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
    return DeviceNode(
        path=shown,
        kind=kind,
        mode=f"{stat.S_IMODE(st.st_mode):04o}",
        owner=owner,
        group=group,
        accessible=os.access(real, os.R_OK | os.W_OK) if check_access else None,
        size=st.st_size if kind == "file" else None,
    )
