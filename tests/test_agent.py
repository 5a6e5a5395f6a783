"""The guest-agent client against the real qemu-ga, and against agents that misbehave."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workbench.core.errors import GuestAgentError
from workbench.virt.agent import AgentSocket, agent_chain, ask_agent
from workbench.virt.hypervisor import AgentAnswer


def test_real_agent_answers_every_query(qga: Path) -> None:
    """guest-sync-delimited, then the read-only queries: version, OS, hostname, interfaces."""
    answers = AgentSocket(str(qga)).query()
    facts = AgentAnswer(answers, "socket", []).summary
    assert answers["guest-ping"] == {}
    assert facts["version"] and facts["version"][0].isdigit()
    assert facts["hostname"] == socket.gethostname()
    assert "lo" in [i["name"] for i in facts["interfaces"]]
    assert facts["os"]


def test_two_sessions_in_a_row(qga: Path) -> None:
    """A second client after the first gets its own answers (stale data is skipped by sync)."""
    first = AgentSocket(str(qga)).query(["guest-ping"])
    second = AgentSocket(str(qga)).query(["guest-get-host-name"])
    assert first == {"guest-ping": {}}
    assert second["guest-get-host-name"]["host-name"] == socket.gethostname()


def test_destructive_commands_are_never_sent(qga: Path) -> None:
    """Only the read-only queries may be sent: anything else is refused before connecting."""
    with pytest.raises(GuestAgentError) as info:
        AgentSocket(str(qga)).query(["guest-shutdown"])
    assert info.value.code == "GUEST_AGENT_REFUSED"


@pytest.fixture
def fake_agent(tmp_path: Path) -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A unix-socket peer whose behaviour a test chooses (an agent that hangs, lies, hangs up)."""
    servers: list[tuple[socket.socket, threading.Thread]] = []

    def start(behaviour: Callable[[socket.socket], None]) -> str:
        path = str(tmp_path / f"agent{len(servers)}.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)

        def serve() -> None:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                behaviour(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        servers.append((server, thread))
        return path

    yield start
    for server, thread in servers:
        server.close()
        thread.join(2)


def test_hung_agent_times_out(fake_agent: Callable[..., str]) -> None:
    """An agent that reads but never answers: GUEST_AGENT_TIMEOUT after the per-call limit."""
    done = threading.Event()
    path = fake_agent(lambda conn: done.wait(5))
    try:
        with pytest.raises(GuestAgentError) as info:
            AgentSocket(path, timeout_s=0.3).query(["guest-ping"])
    finally:
        done.set()
    assert info.value.code == "GUEST_AGENT_TIMEOUT"
    assert info.value.recoverable


def test_agent_that_hangs_up(fake_agent: Callable[..., str]) -> None:
    """A peer that closes at once: GUEST_AGENT_UNAVAILABLE with a remedy."""
    path = fake_agent(lambda conn: None)
    with pytest.raises(GuestAgentError) as info:
        AgentSocket(path, timeout_s=1).query(["guest-ping"])
    assert info.value.code == "GUEST_AGENT_UNAVAILABLE"
    assert "qemu-guest-agent" in (info.value.remedy or "")


def test_garbage_answers(fake_agent: Callable[..., str]) -> None:
    """Garbage before the sync delimiter is skipped; a garbage answer is GUEST_AGENT_PROTOCOL."""

    def liar(conn: socket.socket) -> None:
        request = conn.recv(4096)
        sync_id = request.split(b'"id": ')[1].split(b"}")[0]
        conn.sendall(b'\x00\x01noise\n\xff{"return": ' + sync_id + b"}\n")
        conn.recv(4096)
        conn.sendall(b"this is not json\n")

    path = fake_agent(liar)
    with pytest.raises(GuestAgentError) as info:
        AgentSocket(path, timeout_s=1).query(["guest-ping"])
    assert info.value.code == "GUEST_AGENT_PROTOCOL"


def test_missing_socket_is_unavailable(tmp_path: Path) -> None:
    """No socket at the path: unavailable, naming the path."""
    with pytest.raises(GuestAgentError, match="cannot connect"):
        AgentSocket(str(tmp_path / "none.sock")).query(["guest-ping"])


def test_chain_falls_back_from_libvirt_to_socket(qga: Path) -> None:
    """libvirt's agent API fails (as on the test driver): the socket serves, and says so."""

    def libvirt_fails() -> dict[str, object]:
        raise GuestAgentError(
            "not supported by the connection driver", code="GUEST_AGENT_LIBVIRT_FAILED"
        )

    answers, served_by, tried = ask_agent(agent_chain("win11", libvirt_fails, None, str(qga)))
    assert served_by == "socket"
    assert [t["name"] for t in tried] == ["libvirt"]
    assert answers["guest-ping"] == {}


def test_chain_with_nothing_left_is_unavailable(tmp_path: Path) -> None:
    """No libvirt path and no socket: GUEST_AGENT_UNAVAILABLE listing what was tried."""
    with pytest.raises(GuestAgentError) as info:
        ask_agent(agent_chain("win11", None, "read-only connection", str(tmp_path / "x.sock")))
    assert info.value.code == "GUEST_AGENT_UNAVAILABLE"
    assert [t["name"] for t in info.value.details["tried"]] == ["libvirt", "socket"]


def test_an_answer_nested_past_the_parsers_depth_is_a_protocol_error() -> None:
    """A guest answering JSON nested 100,000 deep: GUEST_AGENT_PROTOCOL, not a RecursionError
    escaping into the workbench."""
    from workbench.virt.agent import parse_response

    with pytest.raises(GuestAgentError) as info:
        parse_response('{"return": ' + "[" * 100_000, "guest-info", "/run/qga.sock")
    assert info.value.code == "GUEST_AGENT_PROTOCOL"
