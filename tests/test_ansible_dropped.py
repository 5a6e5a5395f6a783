"""contrib/ansible/workbench-capture.yml when a host's connection drops mid-way (real
ansible-playbook, a connection plugin that loses the link on a chosen step)."""

from __future__ import annotations

from pathlib import Path

from tests.test_ansible_collect import (
    MACHINES,
    RUN_FAILED_HOSTS,
    local_host,
    machine_root,
    run_playbook,
    summary_line,
)

# The local connection, except that one step loses the link as a dropped ssh session does:
# AnsibleConnectionFailure is what Ansible reports as "unreachable".
PLUGIN = """
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import DOCUMENTATION as LOCAL
from ansible.plugins.connection.local import Connection as Local

DOCUMENTATION = LOCAL.replace("name: local", "name: NAME", 1)


class Connection(Local):
    transport = "NAME"
"""
# `flaky` loses it on the fetch; `dropcapture` when the `command` module (the capture) runs:
# the module's payload file names the module in the command line.
FETCH = """
    def fetch_file(self, in_path, out_path):
        raise AnsibleConnectionFailure("the link dropped while fetching " + in_path)
"""
CAPTURE = """
    def exec_command(self, cmd, in_data=None, sudoable=True):
        if "AnsiballZ_command" in cmd:
            raise AnsibleConnectionFailure("the link dropped during the capture")
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
"""


def flaky_plugins(tmp_path: Path) -> dict[str, str]:
    """The environment that gives ansible-playbook the `flaky` and `dropcapture` connections
    from tmp_path."""
    plugins = tmp_path / "connection_plugins"
    plugins.mkdir()
    for name, method in (("flaky", FETCH), ("dropcapture", CAPTURE)):
        (plugins / f"{name}.py").write_text(PLUGIN.replace("NAME", name) + method)
    return {"ANSIBLE_CONNECTION_PLUGINS": str(plugins)}


def test_a_host_that_drops_during_the_fetch_is_unreachable_not_collected(tmp_path: Path) -> None:
    """The capture runs on `flaky` but its fetch loses the link: the summary lists it as not
    collected with the unreachable message, the good host alone as collected, exit non-zero."""
    root = machine_root(MACHINES[0], tmp_path / "root")
    hosts = {
        "good": local_host(["--root", str(root)]),
        "flaky": local_host(["--root", str(root)], ansible_connection="flaky"),
    }
    run = run_playbook(tmp_path, hosts, env=flaky_plugins(tmp_path))
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): good"
    assert summary_line(run.stdout, "not collected") == (
        "not collected 1 host(s) (unreachable or failed): flaky"
    )
    assert '"msg": "flaky: unreachable during the fetch: ' in run.stdout
    assert "the link dropped while fetching" in run.stdout
    dest = tmp_path / "captures"
    assert list(dest.glob("flaky/*")) == []  # nothing arrived for the dropped host
    assert [p.name for p in (dest / "good").iterdir()] == ["workbench-good.tar.gz"]
    assert list((tmp_path / "remote").iterdir()) == []  # its remote copy removed all the same


def test_a_host_that_drops_during_the_capture_is_unreachable_not_collected(
    tmp_path: Path,
) -> None:
    """The link drops as the capture runs: the host is named as unreachable during the capture,
    nothing is fetched for it, the good host is collected, exit non-zero."""
    root = machine_root(MACHINES[1], tmp_path / "root")
    hosts = {
        "good": local_host(["--root", str(root)]),
        "dropped": local_host(["--root", str(root)], ansible_connection="dropcapture"),
    }
    run = run_playbook(tmp_path, hosts, env=flaky_plugins(tmp_path))
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): good"
    assert summary_line(run.stdout, "not collected") == (
        "not collected 1 host(s) (unreachable or failed): dropped"
    )
    assert '"msg": "dropped: unreachable during the capture: ' in run.stdout
    assert "the link dropped during the capture" in run.stdout
    assert not (tmp_path / "captures" / "dropped").exists()
