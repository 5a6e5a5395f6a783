"""`workbench serve`: the workbench in a real headless Chromium, driven over the DevTools
protocol; the screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, WORKBENCH

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(WORKBENCH), "serve", "--demo", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        start_new_session=True,
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # the server and the workbench it started
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


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

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


def visible(output: str) -> str:
    """Terminal output without its escape sequences."""
    return re.sub(r"\x1b\[[0-9;?<>=]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>]", "", output)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
async def test_the_overview_renders_in_a_real_browser(served: str, chromium: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.ws_connect(chromium, max_msg_size=0) as ws:
        tools = DevTools(ws)
        await tools.call("Page.enable")
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
