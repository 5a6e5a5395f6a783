"""Following a log through rotation, truncation and deletion: no line lost, none repeated."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workbench.core import logging as wlog
from workbench.logs.follow import Follower


def collect(
    follower: Follower, until: Callable[[list[bytes]], bool], timeout_s: float = 30
) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while not until(got) and time.monotonic() < deadline:
        got += follower.poll()
        time.sleep(0.001)
    return got


def numbers(lines: list[bytes]) -> list[int]:
    return [json.loads(line)["n"] for line in lines]


def numbered_writer(path: Path, count: int, rotate_every: int, how: str) -> threading.Thread:
    """Writes {"n": i} lines, rotating every `rotate_every` lines by `how`:
    rename (logrotate create), copytruncate, or delete (and re-create)."""

    def run() -> None:
        fh = path.open("a")
        for i in range(count):
            fh.write(json.dumps({"n": i}) + "\n")
            fh.flush()
            if i % rotate_every == rotate_every - 1:
                if how == "rename":
                    fh.close()
                    path.rename(path.with_name(f"{path.name}.{i}"))
                    fh = path.open("a")
                elif how == "delete":
                    fh.close()
                    path.unlink()
                    time.sleep(0.02)
                    fh = path.open("a")
            if i % 50 == 0:
                time.sleep(0.001)
        fh.close()

    return threading.Thread(target=run)


def test_rotation_by_rename_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """20,000 numbered lines, the file renamed away and re-created every 997 lines: the follower
    sees 0..19999 exactly once, in order."""
    path = tmp_path / "app.log"
    path.touch()
    follower = Follower(path, from_start=True, poll_s=0.001)
    writer = numbered_writer(path, 20_000, 997, "rename")
    writer.start()
    got = collect(follower, lambda g: len(g) >= 20_000)
    writer.join()
    got += follower.poll()
    assert numbers(got) == list(range(20_000))


def test_deletion_and_recreation(tmp_path: Path) -> None:
    """The file deleted and created again: lines before and after all arrive once."""
    path = tmp_path / "app.log"
    path.touch()
    follower = Follower(path, from_start=True, poll_s=0.001)
    writer = numbered_writer(path, 3_000, 1000, "delete")
    writer.start()
    got = collect(follower, lambda g: len(g) >= 3_000)
    writer.join()
    assert numbers(got) == list(range(3_000))


def test_truncation_starts_again_from_the_top(tmp_path: Path) -> None:
    """copytruncate: after the file is cut to zero and written again, the new lines arrive and
    the follower says it noticed."""
    path = tmp_path / "app.log"
    path.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(5)))
    notes: list[str] = []
    follower = Follower(path, from_start=True, notice=notes.append)
    assert numbers(follower.poll()) == [0, 1, 2, 3, 4]
    path.write_text(json.dumps({"n": 100}) + "\n" + json.dumps({"n": 101}) + "\n")
    assert numbers(follower.poll()) == [100, 101]
    assert notes == ["truncated: reading from the start"]


def test_truncated_and_refilled_past_our_position(tmp_path: Path) -> None:
    """Truncated and refilled beyond where we were before we looked: still noticed (the byte
    before our position is no longer a newline)."""
    path = tmp_path / "app.log"
    path.write_text('{"n": 0}\n')
    follower = Follower(path, from_start=True)
    assert numbers(follower.poll()) == [0]
    path.write_text('{"n": 1, "pad": "xxxxxxxx"}\n')
    assert numbers(follower.poll()) == [1]


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    """Half a line is held back until the rest arrives."""
    path = tmp_path / "app.log"
    path.write_text("")
    follower = Follower(path, from_start=True)
    with path.open("a") as fh:
        fh.write('{"n": 7')
        fh.flush()
        assert follower.poll() == []
        fh.write("}\n")
    assert numbers(follower.poll()) == [7]


def test_starts_at_the_end_by_default(tmp_path: Path) -> None:
    """Like tail -f: existing lines are not repeated, new ones come."""
    path = tmp_path / "app.log"
    path.write_text('{"n": 0}\n')
    follower = Follower(path)
    assert follower.poll() == []
    with path.open("a") as fh:
        fh.write('{"n": 1}\n')
    assert numbers(follower.poll()) == [1]


def test_our_own_rotating_log_never_loses_a_record(tmp_path: Path) -> None:
    """Workbench's structlog file, rotated by size while a follower reads: every record, once."""
    path = tmp_path / "workbench.log"
    wlog.configure_logging(path, max_bytes=20_000, backups=1000)
    follower = Follower(path, from_start=True, poll_s=0.001)
    log = wlog.get_logger("followtest")

    def write() -> None:
        for n in range(5_000):
            log.info("tick", n=n)

    writer = threading.Thread(target=write)
    writer.start()
    got = collect(follower, lambda g: len([x for x in g if b'"tick"' in x]) >= 5_000)
    writer.join()
    ticks = [json.loads(x)["n"] for x in got if b'"tick"' in x]
    assert ticks == list(range(5_000))
    assert len(list(tmp_path.glob("workbench.log.*"))) > 10


def test_rewrite_within_one_poll_is_read_from_the_start(tmp_path: Path) -> None:
    """Truncated and rewritten between two polls with lines of the same length (so the byte
    before our position is a newline again): every new line arrives, tried 4 times."""
    path = tmp_path / "app.log"
    path.write_text("".join(json.dumps({"n": 100 + i}) + "\n" for i in range(10)))
    follower = Follower(path, from_start=True)
    assert len(follower.poll()) == 10
    for attempt in range(4):
        first = 200 + attempt * 100
        with path.open("r+") as fh:  # copytruncate's truncate, then the writer's next lines
            fh.truncate(0)
            fh.write("".join(json.dumps({"n": first + i}) + "\n" for i in range(15)))
        assert numbers(follower.poll()) == list(range(first, first + 15)), attempt


def test_rewrite_to_the_same_size_is_noticed(tmp_path: Path) -> None:
    """Rewritten to exactly the size we had read: the new lines arrive (size alone says
    nothing changed)."""
    path = tmp_path / "app.log"
    path.write_text(json.dumps({"n": 10}) + "\n" + json.dumps({"n": 11}) + "\n")
    follower = Follower(path, from_start=True)
    assert numbers(follower.poll()) == [10, 11]
    path.write_text(json.dumps({"n": 12}) + "\n" + json.dumps({"n": 13}) + "\n")
    assert numbers(follower.poll()) == [12, 13]


def test_cli_follow_started_on_a_partial_last_line_prints_each_line_once(tmp_path: Path) -> None:
    """`logs --follow` started while the last line lacks its newline: the complete lines once,
    then the finished line and later ones once; nothing printed twice."""
    import subprocess

    from tests.conftest import WORKBENCH

    path = tmp_path / "wb.log"
    path.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(3)) + '{"n": 3')
    proc = subprocess.Popen(
        [str(WORKBENCH), "logs", str(path), "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        got = [json.loads(proc.stdout.readline())["n"] for _ in range(3)]
        with path.open("a") as fh:
            fh.write("}\n" + json.dumps({"n": 4}) + "\n")
        got += [json.loads(proc.stdout.readline())["n"] for _ in range(2)]
        with path.open("a") as fh:
            fh.write(json.dumps({"n": 5}) + "\n")
        got.append(json.loads(proc.stdout.readline())["n"])
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert got == [0, 1, 2, 3, 4, 5]


def test_files_rotated_between_two_polls_are_all_read(tmp_path: Path) -> None:
    """Numbered rotation twice between two polls (log -> log.1 -> log.2): the file that lived
    only between the polls (now log.1) is read too, in order, nothing lost or repeated."""
    path = tmp_path / "app.log"

    def write(numbers: range) -> None:
        with path.open("a") as fh:
            fh.write("".join(json.dumps({"n": i}) + "\n" for i in numbers))

    def rotate() -> None:
        for number in (2, 1):
            older = path.with_name(f"app.log.{number}")
            if older.exists():
                older.rename(path.with_name(f"app.log.{number + 1}"))
        path.rename(path.with_name("app.log.1"))

    write(range(0, 5))
    follower = Follower(path, from_start=True)
    assert numbers(follower.poll()) == list(range(5))
    write(range(5, 8))
    rotate()
    write(range(8, 12))
    rotate()
    write(range(12, 15))
    assert numbers(follower.poll()) == list(range(5, 15))


def test_files_rotated_while_the_path_was_missing_are_read(tmp_path: Path) -> None:
    """Seen missing (renamed, not yet re-created), then re-created and rotated again before the
    next poll: the file in between (now log.1) is read too."""
    path = tmp_path / "app.log"
    path.write_text(json.dumps({"n": 0}) + "\n")
    follower = Follower(path, from_start=True)
    assert numbers(follower.poll()) == [0]
    path.rename(tmp_path / "app.log.1")
    assert follower.poll() == []  # the path is missing: waiting for it
    path.write_text(json.dumps({"n": 1}) + "\n")
    (tmp_path / "app.log.1").rename(tmp_path / "app.log.2")
    path.rename(tmp_path / "app.log.1")
    path.write_text(json.dumps({"n": 2}) + "\n")
    assert numbers(follower.poll()) == [1, 2]


def test_index_notices_a_rewrite_to_a_larger_size(tmp_path: Path) -> None:
    """The log view's index: truncated and rewritten longer between two refreshes (lines of the
    same length), it starts again and shows the new lines, not the old offsets."""
    from workbench.logs.index import LogIndex

    path = tmp_path / "app.log"
    path.write_text("".join(json.dumps({"n": 100 + i}) + "\n" for i in range(10)))
    index = LogIndex(path, following=True)
    index.index_all()
    new = [json.dumps({"n": 2000 + i, "pad": "x" * (i % 3)}).encode() for i in range(15)]
    with path.open("r+b") as fh:
        fh.truncate(0)
        fh.write(b"".join(line + b"\n" for line in new))
    assert index.refresh()
    index.index_all()
    assert [index.line(i) for i in range(index.line_count)] == new
    assert index.truncations == 1
