"""`workbench serve`: the workbench in a real headless Chromium, driven over the DevTools
protocol; the screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from tests.conftest import REPO, WORKBENCH, run_cli
from tests.serve_helpers import (
    first_frame,
    free_port,
    refused_ws,
    serving,
    shown_until,
    visible,
    wait_port,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"

# Before the page's own scripts: keep a copy of what the app sends over the websocket (the
# terminal output xterm.js draws on a canvas, where the DOM cannot read it).
RECORD_OUTPUT = """
(() => {
  const Native = window.WebSocket;
  window.__wbOutput = "";
  const decoder = new TextDecoder();
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") window.__wbOutput += decoder.decode(e.data, {stream: true});
    });
    return ws;
  };
  Object.assign(window.WebSocket, Native);
  window.WebSocket.prototype = Native.prototype;
})();
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, "--demo") as server:
        yield server.url


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium; yields the DevTools websocket URL of its page."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (make setup installs it as root)")
    port = free_port()
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",  # tests may run as root
            "--disable-gpu",
            "--no-first-run",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1280,800",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port)
        deadline = time.monotonic() + 20
        while True:
            import urllib.request

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as resp:
                pages = [t for t in json.load(resp) if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert pages, "chromium opened no page"
        yield str(pages[0]["webSocketDebuggerUrl"])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class DevTools:
    """Just enough of the Chrome DevTools protocol: send a command, await its answer."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.requested: list[str] = []  # every URL the page asked for (Network.enable)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("method") == "Network.requestWillBeSent":
                self.requested.append(msg["params"]["request"]["url"])
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
async def test_the_overview_renders_in_a_real_browser(served: str, chromium: str) -> None:
    """The demo's overview arrives in Chromium, and no request leaves the server's origin."""
    import aiohttp

    async with aiohttp.ClientSession() as http, http.ws_connect(chromium, max_msg_size=0) as ws:
        tools = DevTools(ws)
        await tools.call("Page.enable")
        await tools.call("Network.enable")
        await tools.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_OUTPUT)
        await tools.call("Page.navigate", url=served)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        shown = ""
        while loop.time() < deadline:
            shown = visible(await tools.evaluate("window.__wbOutput || ''") or "")
            if "guest.agent" in shown and "running…" not in shown[-4000:] and "answer" in shown:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the overview never arrived; the page got:\n{shown[-2000:]}")
        assert "Workbench — demo machine" in shown
        assert "pci.gpus" in shown and "passthrough-ready: 0000:01:00.0" in shown
        assert await tools.evaluate("document.body.classList.contains('-first-byte')")
        await asyncio.sleep(0.5)  # let xterm.js paint the last frame
        shot = await tools.call("Page.captureScreenshot", format="png")
    # Support hosts are often air-gapped: the page, its scripts, styles and font all come from
    # the server itself.
    origin = served.rstrip("/")
    ws_origin = origin.replace("http://", "ws://", 1)
    local = (f"{origin}/", f"{ws_origin}/", "data:", "blob:")
    foreign = [u for u in tools.requested if not u.startswith(local)]
    assert tools.requested and foreign == []
    assert any(u.endswith(".ttf") for u in tools.requested), tools.requested
    import base64

    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "serve-overview.png"
    png.write_bytes(base64.b64decode(shot["data"]))
    assert png.stat().st_size > 10_000  # a drawn terminal, not an empty page


def test_serving_beyond_loopback_warns(tmp_path: Path) -> None:
    """Binding elsewhere than loopback says loudly that there is no password."""
    port = free_port()
    proc = subprocess.Popen(
        [str(WORKBENCH), "serve", "--demo", "--host", "0.0.0.0", "--port", str(port)],  # noqa: S104
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_port(port)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert "WARNING: serving on 0.0.0.0" in err and "without a password" in err


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [str(WORKBENCH), "serve", "--demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


MakeRoot = Callable[..., Path]


async def test_sessions_beyond_the_limit_are_refused(tmp_path: Path, make_root: MakeRoot) -> None:
    """With --max-sessions 2 a third tab gets a clear 503, not a third workbench; closing a tab
    frees its place."""
    root = make_root("asrock-z170-gtx960")
    with serving(tmp_path, "--root", str(root), "--max-sessions", "2") as served:
        async with aiohttp.ClientSession() as http:
            first = await http.ws_connect(served.ws, origin=served.origin)
            second = await http.ws_connect(served.ws, origin=served.origin)
            await first_frame(first)
            await first_frame(second)
            assert await refused_ws(served, origin=served.origin) == 503
            async with http.get(served.url) as page:
                assert page.status == 503
                assert "2 sessions" in await page.text()
            assert len(served.sessions()) == 2
            await first.close()
            assert await asyncio.to_thread(served.wait_sessions, 1) == 1
            async with http.ws_connect(served.ws, origin=served.origin) as third:
                assert await first_frame(third)
                assert len(served.sessions()) == 2
            await second.close()


def python_sessions(served: Any) -> list[psutil.Process]:
    return [p for p in served.sessions() if "workbench" in " ".join(p.cmdline())]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])  # kill; a closed terminal
async def test_a_capture_is_unpacked_once_and_removed_on_exit(
    tmp_path: Path, make_root: MakeRoot, stop: signal.Signals
) -> None:
    """Two tabs on a served capture share one unpacked copy; SIGTERM or SIGHUP stops the
    sessions and removes it."""
    archive = tmp_path / "machine.tar.gz"
    made = run_cli("capture", "--root", str(make_root("asrock-z170-gtx960")), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    temp = tmp_path / "temp"
    temp.mkdir()
    with serving(tmp_path, "--capture", str(archive), env={"TMPDIR": str(temp)}) as served:
        async with aiohttp.ClientSession() as http:
            tabs = [await http.ws_connect(served.ws, origin=served.origin) for _ in range(2)]
            for tab in tabs:
                await shown_until(tab, "capture machine.tar.gz")
            assert len(list(temp.glob("workbench-capture-*"))) == 1
            sessions = python_sessions(served)
            assert len(sessions) == 2
            assert all(str(archive) not in " ".join(p.cmdline()) for p in sessions)
            served.proc.send_signal(stop)
            assert served.proc.wait(20) == 0
            for tab in tabs:
                await tab.close()
        _, alive = psutil.wait_procs(sessions, timeout=10)
        assert alive == []
        assert list(temp.iterdir()) == []


async def test_a_connect_password_stays_out_of_argv(tmp_path: Path, make_root: MakeRoot) -> None:
    """A password in --connect reaches the session through its environment, never its argv
    (which every local user can read) nor the server's output."""
    uri = "qemu+tcp://admin:s3cret-pw@127.0.0.1:1/system"
    root = make_root("asrock-z170-gtx960")
    with serving(tmp_path, "--root", str(root), "--connect", uri) as served:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(served.ws, origin=served.origin) as ws,
        ):
            await first_frame(ws)
            (session,) = python_sessions(served)
            assert all("s3cret-pw" not in " ".join(p.cmdline()) for p in served.sessions())
            assert uri in session.environ().values()
    assert "s3cret-pw" not in served.output()


async def test_a_session_connects_where_serve_was_told(tmp_path: Path, make_root: MakeRoot) -> None:
    """The --connect URI handed over out of argv is the one the session's workbench uses."""
    root = make_root("asrock-z170-gtx960")
    with serving(tmp_path, "--root", str(root), "--connect", "test:///default") as served:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(served.ws, origin=served.origin) as ws,
        ):
            # The libvirt.connection probe's verdict: connected to the test driver.
            assert "test:///default: TEST" in await shown_until(ws, "test:///default: TEST")


@pytest.mark.parametrize("value", ["0", "-1", "٣", "lots", "100000"])
def test_a_bad_session_limit_is_bad_usage(value: str) -> None:
    """--max-sessions takes 1 to 64 in ASCII digits; anything else is one line and exit 2."""
    out = run_cli("serve", "--demo", "--max-sessions", value)
    assert out.returncode == 2
    assert "--max-sessions" in out.stderr and len(out.stderr.splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_a_bad_capture_is_refused_before_serving(tmp_path: Path) -> None:
    """A file that is not a capture is one line and exit 2 at start (not a broken tab each
    time), and leaves no temporary copy behind."""
    bogus = tmp_path / "not-a-capture.tar.gz"
    bogus.write_bytes(b"this is not gzip")
    temp = tmp_path / "temp"
    temp.mkdir()
    port = free_port()
    out = run_cli("serve", "--capture", str(bogus), "--port", str(port), env={"TMPDIR": str(temp)})
    assert out.returncode == 2
    assert "not-a-capture.tar.gz" in out.stderr and len(out.stderr.splitlines()) == 1
    assert "Traceback" not in out.stderr
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"demo": True, "allow_actions": True}, ["--demo", "--allow-actions"]),
        ({"root": "/r", "allow_actions": True}, ["--root", "/r", "--allow-actions"]),
        ({"root": "/r"}, ["--root", "/r"]),
        # A served capture is read-only, whatever serve was told.
        ({"root": "/u", "capture_name": "c.tar.gz", "allow_actions": True},
         ["--root", "/u", "--capture-name", "c.tar.gz"]),
    ],
)  # fmt: skip
def test_what_a_tab_runs(kwargs: dict[str, Any], expected: list[str]) -> None:
    """A tab runs this Python's workbench.serve.child with only these options (never a URI)."""
    from workbench.serve.child import child_argv

    assert child_argv(**kwargs) == [sys.executable, "-m", "workbench.serve.child", *expected]
