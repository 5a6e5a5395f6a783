"""`workbench serve` answers only its own pages: foreign Origins (any web page the operator visits)
and foreign Hosts (DNS rebinding) are refused before a workbench is started."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serve_helpers import Served, first_frame, refused_ws, serving
from workbench.serve.access import Access

MakeRoot = Any


def loopback(port: int = 8000) -> Access:
    return Access.for_bind("127.0.0.1", port)


@pytest.mark.parametrize(
    ("access", "host", "origin", "allowed"),
    [
        (loopback(), "127.0.0.1:8000", "http://127.0.0.1:8000", True),
        (loopback(), "localhost:8000", "http://localhost:8000", True),
        (loopback(), "LOCALHOST:8000", "http://localhost:8000", True),
        (loopback(), "[::1]:8000", "http://[::1]:8000", True),
        (loopback(), "127.0.0.1:9000", "http://127.0.0.1:9000", True),  # ssh -L 9000:...:8000
        (loopback(), "127.0.0.1:8000", None, True),  # not a browser: no page behind it
        (loopback(), "evil.example:8000", "http://evil.example:8000", False),  # DNS rebinding
        (loopback(), "127.0.0.1:8000", "http://evil.example", False),
        (loopback(), "127.0.0.1:8000", "http://127.0.0.1:9000", False),  # another local page
        (loopback(), "127.0.0.1:8000", "null", False),
        (loopback(), "127.0.0.1:8000", "http://127.0.0.1:8000@evil.example", False),
        (loopback(), None, "http://127.0.0.1:8000", False),
        (loopback(), "", None, False),
        (loopback(), "127.0.0.1:8000@evil.example", None, False),
        (loopback(), "127.0.0.1:99999", None, False),
        (loopback(), "127.0.0.1:8000/x", None, False),
        (loopback(80), "127.0.0.1", "http://127.0.0.1", True),
        (Access.for_bind("192.0.2.7", 8000), "192.0.2.7:8000", "http://192.0.2.7:8000", True),
        (Access.for_bind("192.0.2.7", 8000), "127.0.0.1:8000", None, False),  # not listening
        (Access.for_bind("192.0.2.7", 8000), "192.0.2.7:9000", None, False),  # not our port
        (Access.for_bind("0.0.0.0", 8000), "127.0.0.1:8000", None, True),  # noqa: S104
        (Access.for_bind("0.0.0.0", 8000), f"{socket.gethostname()}:8000", None, True),  # noqa: S104
        (Access.for_bind("0.0.0.0", 8000), "evil.example:8000", None, False),  # noqa: S104
    ],
)
def test_who_is_answered(
    access: Access, host: str | None, origin: str | None, allowed: bool
) -> None:
    """Only the names the server listens on (and loopback names on loopback, any tunnel port)
    are accepted as Host, and only a page of that same Host as Origin."""
    assert (access.refusal(host, origin) is None) is allowed


@pytest.fixture
def served_root(tmp_path: Path, make_root: MakeRoot) -> Any:
    with serving(tmp_path, "--root", str(make_root("asrock-z170-gtx960"))) as served:
        yield served


async def test_a_foreign_origin_gets_no_session(served_root: Served) -> None:
    """A websocket from another page's Origin is refused with 403 and starts no workbench."""
    status = await refused_ws(served_root, origin="http://evil.example")
    assert status == 403
    await asyncio.sleep(1)
    assert served_root.sessions() == []


async def test_a_foreign_host_gets_nothing(served_root: Served) -> None:
    """DNS rebinding (a foreign name for our address) gets 403, for the page and the websocket."""
    rebound = {"Host": f"evil.example:{served_root.port}"}
    status = await refused_ws(
        served_root, origin=f"http://evil.example:{served_root.port}", headers=rebound
    )
    assert status == 403
    async with aiohttp.ClientSession() as http, http.get(served_root.url, headers=rebound) as page:
        assert page.status == 403
        text = await page.text()
    assert "Host" in text and len(text.splitlines()) == 1
    assert served_root.sessions() == []


async def test_the_own_page_gets_a_session(served_root: Served) -> None:
    """A websocket from the server's own origin starts a workbench that draws."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(served_root.ws, origin=served_root.origin) as ws,
    ):
        assert await first_frame(ws)
        assert len(served_root.sessions()) == 1


async def test_the_page_urls_follow_the_request_host(served_root: Served) -> None:
    """Through a tunnel (`ssh -L 9000:127.0.0.1:PORT`) the page's URLs are the tunnel's."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(served_root.url, headers={"Host": "127.0.0.1:9000"}) as page,
    ):
        assert page.status == 200
        html = await page.text()
    assert 'data-session-websocket-url="ws://127.0.0.1:9000/ws"' in html
    assert f":{served_root.port}" not in html


async def test_a_wildcard_bind_hands_the_browser_its_own_address(
    tmp_path: Path, make_root: MakeRoot
) -> None:
    """Served on 0.0.0.0, a browser on 127.0.0.1 gets ws://127.0.0.1:PORT, not ws://0.0.0.0."""
    root = make_root("asrock-z170-gtx960")
    with serving(tmp_path, "--root", str(root), host="0.0.0.0") as served:  # noqa: S104
        async with aiohttp.ClientSession() as http, http.get(served.url) as page:
            html = await page.text()
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in html
    assert "0.0.0.0" not in html  # noqa: S104
    assert "http://0.0.0.0" not in served.output()  # the operator is told a usable address


async def test_an_absurd_terminal_size_is_bounded(served_root: Served) -> None:
    """A tab asking for 100000x100000 cells (at start or by resizing) gets a bounded terminal,
    not a workbench that eats the machine's memory drawing it."""
    url = f"{served_root.ws}?width=100000&height=٣"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, origin=served_root.origin) as ws,
    ):
        await first_frame(ws)
        (session,) = served_root.sessions()
        env = session.environ()
        assert 1 <= int(env["COLUMNS"]) <= 1000 and env["ROWS"] == "24"
        await ws.send_json(["resize", {"width": 10**6, "height": 10**6}])
        await asyncio.sleep(5)
        assert session.memory_info().rss < 300 * 2**20
        await ws.send_json(["ping", "still there"])
        async with asyncio.timeout(20):
            while (msg := await ws.receive()).type != aiohttp.WSMsgType.TEXT:
                assert msg.type == aiohttp.WSMsgType.BINARY, msg
        assert msg.json() == ["pong", "still there"]
