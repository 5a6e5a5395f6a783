"""Real `workbench serve` processes on 127.0.0.1 for the serve tests, and what they spawned."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from tests.conftest import WORKBENCH


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


@dataclass
class Served:
    """A running server: its URL, port, process and log."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def sessions(self) -> list[psutil.Process]:
        """Every process the server started (sessions and whatever they started)."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def wait_sessions(self, at_most: int, timeout_s: float = 20) -> int:
        """Wait until no more than `at_most` processes are left; how many there are."""
        deadline = time.monotonic() + timeout_s
        while len(self.sessions()) > at_most and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.sessions())

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> Iterator[Served]:
    """`workbench serve ARGS --port P` in its own process group, stopped (group) afterwards."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(WORKBENCH), "serve", *args, "--host", host, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})},
            start_new_session=True,
        )
    try:
        wait_port(port)
        yield Served(f"http://127.0.0.1:{port}/", port, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # the server and the workbenches it started
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):  # no session may outlive its test
            os.killpg(proc.pid, signal.SIGKILL)


def visible(output: str) -> str:
    """Terminal output without its escape sequences."""
    return re.sub(r"\x1b\[[0-9;?<>=]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>]", "", output)


async def first_frame(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    """The first terminal bytes a session sends (its workbench started)."""
    async with asyncio.timeout(60):
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY:
                return bytes(msg.data)
            assert msg.type == aiohttp.WSMsgType.TEXT, f"session closed: {msg}"


async def shown_until(ws: aiohttp.ClientWebSocketResponse, text: str, timeout_s: float = 60) -> str:
    """What a session drew, read until `text` shows."""
    shown = ""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    async with asyncio.timeout(timeout_s):
        while text not in visible(shown):
            msg = await ws.receive()
            assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg
            if msg.type == aiohttp.WSMsgType.BINARY:
                shown += decoder.decode(msg.data)
    return visible(shown)


async def refused_ws(served: Served, **kwargs: Any) -> int:
    """The HTTP status a websocket handshake was refused with."""
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with http.ws_connect(served.ws, **kwargs):
                pass
    return refused.value.status
