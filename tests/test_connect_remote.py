"""Remote URIs among several --connect: libvirt's own transport, secrets never shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_virt_cli import Lines

REMOTE = "qemu+ssh://nobody@host.invalid/system?no_tty=1"


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client for libvirt to run")
def test_a_qemu_ssh_uri_goes_through_libvirts_own_ssh_transport() -> None:
    """`qemu+ssh://` is handed to libvirt, which runs ssh (its resolver error is in the
    report); the test driver's report beside it passes."""
    proc = run_cli(
        "probe", "--json", "--root", "/", "--only", "libvirt.connection",
        "--connect", REMOTE, "--connect", "test:///default",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    remote, local = json.loads(proc.stdout)
    (conn,) = remote["probes"]
    assert conn["status"] == "fail"
    assert "ssh" in json.dumps(conn).lower()
    assert [p["status"] for p in local["probes"]] == ["pass"]


def test_every_events_record_masks_the_password_of_its_uri(tmp_path: Path) -> None:
    """A URI with a password: each record's `uri` shows `***`, never the secret."""
    hidden = "s3cr3t-pw"
    uri = f"test+tcp://admin:{hidden}@127.0.0.1:1/default"
    other = f"test+unix:///default?socket={tmp_path / 'none'}"
    events = Lines("events", "--json", "--connect", uri, "--connect", other)
    try:
        events.until(lambda r: r.get("connection") == "reconnecting" and "admin" in r["uri"])
        events.until(lambda r: r.get("connection") == "reconnecting" and r["uri"] == other)
    finally:
        code, err = events.stop()
    assert code == 0, err
    shown = {r["uri"] for r in events.seen}
    assert shown == {"test+tcp://admin:***@127.0.0.1:1/default", other}
    assert hidden not in err
