"""The demo: the composed demo machine, a test-driver hypervisor whose running VM passes its GPU
through, a real qemu-ga answering for that VM (when installed), and the app's own log. One of
its VMs did not start, for a real reason: the story (snapshots/hosts/demo-story.json) adds to
the workstation's facts the card, the kernel log of the boot and the VM's QEMU log that say why."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import workbench
from workbench.core.errors import DependencyError
from workbench.machines import build_root
from workbench.virt.testdriver import Domain, write_node

FACTS = (
    Path(workbench.__file__).resolve().parent.parent
    / "snapshots"
    / "hosts"
    / "demo-workstation.json"
)
STORY = FACTS.with_name("demo-story.json")
_DMESG_TIME = re.compile(r"\[ *([0-9]+\.[0-9]+)\]")
# The guest agent answers only read-only questions in the demo: everything that could change
# this machine is refused by qemu-ga itself.
BLOCKED_RPCS = (
    "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-exec,"
    "guest-exec-status,guest-file-open,guest-file-write,guest-fsfreeze-freeze,"
    "guest-fsfreeze-freeze-list,guest-set-time,guest-set-user-password,guest-set-vcpus,"
    "guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys"
)


@dataclass
class DemoEnv:
    root: Path
    uri: str
    agent_socket: Path | None
    log: Path  # the demo's own log (in its temporary directory), never the user's


def start_agent(workdir: Path) -> tuple[subprocess.Popen[bytes] | None, Path | None]:
    """A real qemu-ga on a unix socket in `workdir` (destructive commands refused); (None,
    None) when qemu-ga is not installed. The socket appears shortly after."""
    qga = shutil.which("qemu-ga") or (
        "/usr/sbin/qemu-ga" if Path("/usr/sbin/qemu-ga").exists() else None
    )
    if qga is None:
        return None, None
    sock = workdir / "qga.sock"
    with (workdir / "qga.log").open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own fixed command line
            [
                qga,
                "-m",
                "unix-listen",
                "-p",
                str(sock),
                "-t",
                str(workdir),
                "-f",
                str(workdir / "qga.pid"),
                "-b",
                BLOCKED_RPCS,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    # Not waited for: the agent is ready long before the guest.agent probe asks it, and the
    # first frame should not wait for it.
    return proc, sock


def _dmesg_time(line: str) -> float:
    found = _DMESG_TIME.match(line)
    return float(found.group(1)) if found else 0.0


def _iomem_blocks(lines: list[str]) -> list[list[str]]:
    """/proc/iomem's top-level ranges, each with the lines nested under it."""
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith(" ") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


def _iomem_start(block: list[str]) -> int:
    return int(block[0].split("-", 1)[0], 16)


def demo_facts() -> dict[str, Any]:
    """The demo machine's facts: the workstation's, with the story's card, command line, boot
    messages (in time order) and QEMU logs added."""
    facts: dict[str, Any] = json.loads(FACTS.read_text())
    story: dict[str, Any] = json.loads(STORY.read_text())
    facts["kernel_cmdline"] = story["kernel_cmdline"]
    facts["devices"] = sorted([*facts["devices"], *story["devices"]], key=lambda d: d["bdf"])
    blocks = _iomem_blocks(facts.get("iomem", [])) + _iomem_blocks(story["iomem"])
    facts["iomem"] = [line for block in sorted(blocks, key=_iomem_start) for line in block]
    boot = [*facts.get("kernel_log", []), *story["kernel_log"]]
    boot = [  # the boot's own record of its command line is the story's
        re.sub(r"(Command line: ).*", lambda m: m.group(1) + story["kernel_cmdline"], line)
        for line in boot
    ]
    facts["kernel_log"] = sorted(boot, key=_dmesg_time)  # stable: equal times keep their order
    facts["qemu_logs"] = story["qemu_logs"]
    facts["boot_time"] = story["boot_time"]
    facts["notes"] = f"{facts.get('notes', '')} {story['source']}".strip()
    return facts


def cached_root() -> Path:
    """The demo machine root, built once per version of its facts under the user's cache dir
    (a fresh build costs tens of milliseconds of every start); rebuilt when missing."""
    # the story's composition here and the root's builder count as much as the facts
    facts = FACTS.read_bytes() + STORY.read_bytes() + Path(__file__).read_bytes()
    facts += Path(build_root.__code__.co_filename).read_bytes()
    key = hashlib.sha256(facts + workbench.__version__.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    root = cache / f"demo-{key}"
    if (root / "manifest.json").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="demo-", dir=cache))
    build_root(demo_facts(), staging / "root")
    # Atomic: a half-built root is never seen; if another start won the race, its root is ours.
    with contextlib.suppress(OSError):
        (staging / "root").rename(root)
    shutil.rmtree(staging, ignore_errors=True)
    return root


@contextmanager
def demo_environment(workdir: Path | None = None, with_agent: bool = True) -> Iterator[DemoEnv]:
    """Build the demo in a private directory; stop its agent and remove it afterwards."""
    if not FACTS.exists():
        raise DependencyError(
            f"demo machine facts not found at {FACTS}",
            remedy="Run the demo from a checkout of the repository.",
        )
    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="workbench-demo-")) if workdir is None else workdir
    agent: subprocess.Popen[bytes] | None = None
    try:
        root = build_root(demo_facts(), base / "root") if workdir else cached_root()
        story = json.loads(STORY.read_text())
        agent, sock = start_agent(base) if with_agent else (None, None)
        node = write_node(
            base / "hypervisor.xml",
            [
                Domain(
                    "win11-gaming",
                    hostdevs=["0000:01:00.0", "0000:01:00.1"],
                    shmem_mib=32,
                    agent_socket=sock or base / "no-agent.sock",
                    spice_port=5900,
                ),
                Domain("ubuntu-dev", agent_socket=base / "ubuntu-dev-agent.sock"),
                Domain("truenas", running=False, hostdevs=["0000:02:00.0"]),
                # the VM that did not start: its QEMU log in the root says why
                Domain(story["vm"], running=False, hostdevs=list(story["hostdevs"])),
            ],
        )
        yield DemoEnv(
            root=root, uri=f"test://{node}", agent_socket=sock, log=base / "workbench.log"
        )
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(5)
            except subprocess.TimeoutExpired:  # an agent that ignores SIGTERM is killed
                agent.kill()
                agent.wait()
        if owned:
            shutil.rmtree(base, ignore_errors=True)
