"""textual-serve's Server, made safe to open: only its own Host and Origin are answered, the
page's URLs follow the request's Host, sessions are limited, and a session is one process
started without a shell, its secrets in its environment rather than its argv."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import socket
from asyncio.subprocess import PIPE, Process
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
from aiohttp import WSCloseCode, hdrs, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from workbench.core.text import parse_uint, safe_text
from workbench.serve.access import WILDCARDS, Access

log = logging.getLogger("workbench.serve")

TEMPLATES = Path(__file__).parent / "templates"
# A tab's terminal: what a browser can show, not what a request asks (100000x100000 cells
# took a workbench past 1 GB within seconds).
MAX_COLUMNS, MAX_ROWS = 1000, 400
STOP_TIMEOUT_S = 10.0  # a session that does not quit when asked is killed after this

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Session(AppService):
    """One browser tab's workbench: `argv` run directly (no shell, so one process, not two),
    with `env` added to its environment."""

    def __init__(
        self, argv: list[str], env: dict[str, str], websocket: web.WebSocketResponse, server: Server
    ) -> None:
        async def close() -> None:
            await websocket.close()

        super().__init__(
            shlex.join(argv),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=server.download_manager,
            debug=server.debug,
        )
        self.argv = argv
        self.extra_env = env

    async def set_terminal_size(self, width: object, height: object) -> None:
        await super().set_terminal_size(*terminal_size(width, height))

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        return {**super()._build_environment(width, height), **self.extra_env}

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        env = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env
        )
        self._stdin = process.stdin  # a pipe: never None
        return process

    async def stop(self) -> None:
        """Ask the workbench to quit; kill it if it does not, so its place is really free."""
        process = self._process
        try:
            await asyncio.wait_for(super().stop(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("session %s did not quit; killed", self.app_service_id)
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class WorkbenchServer(Server):
    """The server `workbench serve` runs."""

    def __init__(
        self,
        argv: list[str],
        *,
        host: str,
        port: int,
        title: str,
        max_sessions: int,
        env: dict[str, str],
    ) -> None:
        super().__init__(
            shlex.join(argv), host=host, port=port, title=title, templates_path=TEMPLATES
        )
        # Printed at start-up (the page's own URLs follow each request's Host).
        self.public_url = f"http://{shown_host(host)}:{port}"
        self.argv = argv
        self.env = env
        self.access = Access.for_bind(host, port)
        self.max_sessions = max_sessions
        self.sessions = 0
        self.sockets: set[web.WebSocketResponse] = set()

    def serve(self, debug: bool = False) -> None:
        """Until SIGINT, SIGTERM or SIGHUP (a closed terminal): each stops every session, then
        returns, so what `workbench serve` unpacked is removed."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # the one Server.serve takes and adds SIGINT, SIGTERM to
        loop.add_signal_handler(signal.SIGHUP, self.request_exit)
        super().serve(debug)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse (403) a foreign Host or Origin before any handler runs."""
        host = request.headers.get(hdrs.HOST)
        origin = request.headers.get(hdrs.ORIGIN)
        why = self.access.refusal(host, origin)
        if why is not None:
            log.warning(
                "refused %s %s from %s: %s (Host %s, Origin %s)",
                request.method,
                safe_text(request.path),
                request.remote,
                why,
                safe_text(repr(host)),
                safe_text(repr(origin)),
            )
            return web.Response(status=403, text=f"workbench serve: refused: {why}.\n")
        return await handler(request)

    def full(self) -> web.Response | None:
        """The refusal when every session is taken."""
        if self.sessions < self.max_sessions:
            return None
        return web.Response(
            status=503,
            headers={"Retry-After": "10"},
            text=f"workbench serve: all {self.max_sessions} sessions are in use "
            "(--max-sessions); close another workbench tab, then reload.\n",
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its URLs on the Host the browser used (a tunnel's, not the bind address)."""
        if (refused := self.full()) is not None:
            return refused
        base = f"{request.scheme}://{request.headers[hdrs.HOST]}"  # checked by guard
        ws_base = ("wss" if request.scheme == "https" else "ws") + base[base.index(":") :]
        router = request.app.router
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{ws_base}{router['websocket'].url_for()}",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One workbench per websocket, at most `max_sessions` at once."""
        if (refused := self.full()) is not None:
            raise web.HTTPServiceUnavailable(text=refused.text, headers=refused.headers)
        self.sessions += 1
        try:
            return await self._session(request)
        finally:
            self.sessions -= 1

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        width, height = terminal_size(request.query.get("width"), request.query.get("height"))
        await websocket.prepare(request)
        self.sockets.add(websocket)
        session = Session(self.argv, self.env, websocket, self)
        try:
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            await websocket.close()
        except (OSError, ValueError, LookupError, TypeError, AssertionError) as exc:  # bad client
            log.warning("session ended: %s", exc)
        finally:
            self.sockets.discard(websocket)
            await session.stop()
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        """SIGINT/SIGTERM: close every tab, so each session is stopped (not waited for)."""
        for websocket in list(self.sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")


def shown_host(host: str) -> str:
    """`host` as a browser's address: this machine's name for a wildcard, IPv6 in brackets."""
    if host in WILDCARDS:
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def terminal_size(width: object, height: object) -> tuple[int, int]:
    """A size a tab may have: ASCII digits, at most MAX_COLUMNS x MAX_ROWS; 80x24 otherwise."""

    def one(value: object, default: int, limit: int) -> int:
        number = parse_uint(str(value)) if isinstance(value, str | int) else None
        return default if not number else min(number, limit)

    return one(width, 80, MAX_COLUMNS), one(height, 24, MAX_ROWS)
