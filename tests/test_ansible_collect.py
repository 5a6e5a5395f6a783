"""contrib/ansible/workbench-capture.yml, run by the real `ansible-playbook` on local hosts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, WORKBENCH, load_facts
from workbench.machines import build_root

PLAYBOOK = REPO / "contrib" / "ansible" / "workbench-capture.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
MACHINES = ("asrock-z170-gtx960", "ashtonian-adl-dual-radeon", "benbaker-renoir-acs-override")
# What ansible-playbook exits with when a host failed: the summary's last task fails whenever a
# host was not collected (an unreachable one included: the play ignores unreachable hosts, so
# Ansible's own 4 for them never ends the run before the summary).
RUN_FAILED_HOSTS = 2


def machine_root(name: str, root: Path) -> Path:
    """A machine root made from one of the recorded real machines (snapshots/hosts)."""
    return build_root(load_facts(name), root)


def local_host(args: list[str] | str, **more: Any) -> dict[str, Any]:
    """An inventory host on the local connection whose capture gets `args`."""
    return {"ansible_connection": "local", "workbench_args": args, **more}


def run_playbook(
    tmp_path: Path, hosts: dict[str, dict[str, Any]], *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The playbook on this inventory, from tmp_path, with every Ansible and remote temp in it."""
    inventory = tmp_path / "inventory.yml"  # JSON is YAML: no quoting of paths by hand
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_python_interpreter": sys.executable,
                        "workbench_bin": str(WORKBENCH),
                    },
                }
            }
        )
    )
    remote = tmp_path / "remote"  # the "remote" hosts' TMPDIR: where the archives are made
    remote.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(tmp_path / "no-ansible.cfg"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_NOCOWS": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_SSH_RETRIES": "0",
        "ANSIBLE_TIMEOUT": "5",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "TMPDIR": str(remote),
        **(env or {}),
    }
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(PLAYBOOK), *extra],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def probe(*args: str) -> dict[str, dict[str, Any]]:
    """`workbench probe --json` on a machine: its probes by id."""
    out = subprocess.run(
        [str(WORKBENCH), "probe", "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    return {p["id"]: p for p in json.loads(out.stdout)["probes"]}


def summary_line(stdout: str, start: str) -> str:
    """The summary play's line that starts with `start` (collected / not collected)."""
    return next(line.strip().strip('",') for line in stdout.splitlines() if start in line)


def test_three_local_hosts_are_collected_and_the_unreachable_one_is_reported(
    tmp_path: Path,
) -> None:
    """Three hosts, each with its own root, land in captures/<host>/ and read as `probe --root`
    does; the ssh host on a closed port is named, ansible-playbook exits 2, no remote copy stays."""
    roots = {f"hv{i}": machine_root(name, tmp_path / f"root{i}") for i, name in enumerate(MACHINES)}
    # A root whose path a shell would run: the playbook hands argv to workbench, never to sh.
    hostile = tmp_path / "root $(touch PWNED); `touch PWNED2`"
    roots["hv-quoted"] = machine_root(MACHINES[0], hostile)
    hosts = {
        "hv0": local_host(f"--root {roots['hv0']}"),  # a string, split on whitespace
        "hv1": local_host(["--root", str(roots["hv1"])]),
        "hv2": local_host(["--root", str(roots["hv2"]), "--redact", "hostnames"]),
        "hv-quoted": local_host(["--root", str(hostile)]),
        "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1},
    }
    run = run_playbook(tmp_path, hosts)
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert summary_line(run.stdout, "collected 4") == (
        "collected 4 host(s): hv0, hv1, hv2, hv-quoted"
    )
    assert summary_line(run.stdout, "not collected") == (
        "not collected 1 host(s) (unreachable or failed): gone"
    )
    assert '"msg": "gone: unreachable: ' in run.stdout  # and why
    dest = tmp_path / "captures"  # the default: ./captures/ where ansible-playbook runs
    assert sorted(p.name for p in dest.iterdir()) == ["hv-quoted", "hv0", "hv1", "hv2"]
    gpus = set()
    for host, root in roots.items():
        archives = list((dest / host).iterdir())
        assert [a.name for a in archives] == [f"workbench-{host}.tar.gz"]
        recorded, live = probe("--capture", str(archives[0])), probe("--root", str(root))
        assert {k: p["status"] for k, p in recorded.items()} == {
            k: p["status"] for k, p in live.items()
        }
        assert {k: p["summary"] for k, p in recorded.items() if p["status"] != "skip"} == {
            k: p["summary"] for k, p in live.items() if p["status"] != "skip"
        }
        gpus.add(recorded["pci.gpus"]["summary"])
    assert len(gpus) == len(MACHINES)  # each host was its own machine
    assert list((tmp_path / "remote").iterdir()) == []  # every remote copy removed
    assert not list(tmp_path.rglob("PWNED*"))


def test_a_failed_capture_is_reported_and_its_remote_folder_removed(tmp_path: Path) -> None:
    """Hosts whose capture exits 2 (no such root) or whose workbench_bin is not there are named
    as not collected, the other is collected into workbench_dest, the temp folders go, and
    ansible-playbook exits 2."""
    good = machine_root(MACHINES[1], tmp_path / "good")
    hosts = {
        "ok": local_host(["--root", str(good)]),
        "broken": local_host(["--root", str(tmp_path / "no such root")]),
        "no-workbench": local_host([], workbench_bin=str(tmp_path / "not installed")),
    }
    dest = tmp_path / "elsewhere"
    run = run_playbook(tmp_path, hosts, "-e", json.dumps({"workbench_dest": str(dest)}))
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): ok"
    assert summary_line(run.stdout, "not collected") == (
        "not collected 2 host(s) (unreachable or failed): broken, no-workbench"
    )
    assert '"msg": "broken: workbench: ' in run.stdout  # the capture's own line
    assert '"msg": "no-workbench: ' in run.stdout
    assert [p.name for p in dest.iterdir()] == ["ok"]
    assert [p.name for p in (dest / "ok").iterdir()] == ["workbench-ok.tar.gz"]
    assert not (tmp_path / "captures").exists()
    assert list((tmp_path / "remote").iterdir()) == []


def test_a_host_name_that_is_no_file_name_gets_its_own_folder_inside_dest(tmp_path: Path) -> None:
    """Inventory names with a slash or a leading dot never write outside workbench_dest, and two
    that make the same safe name still get a folder each."""
    root = machine_root(MACHINES[2], tmp_path / "root")
    hosts = {name: local_host(["--root", str(root)]) for name in ("../up", ".._up", "a/b", "a_b")}
    run = run_playbook(tmp_path, hosts)
    assert run.returncode == 0, run.stdout + run.stderr

    def folder(name: str, safe: str) -> str:
        return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"  # noqa: S324

    expected = {folder("../up", "_._up"), folder(".._up", "_._up"), folder("a/b", "a_b"), "a_b"}
    dest = tmp_path / "captures"
    assert {p.name for p in dest.iterdir()} == expected
    for name in expected:
        assert [p.name for p in (dest / name).iterdir()] == [f"workbench-{name}.tar.gz"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("workbench")] == []


def test_ansible_stays_behind_the_subprocess_boundary() -> None:
    """ansible-core is GPL-3.0: no module of workbench/ or probes/ imports it."""
    sources = [*(REPO / "workbench").rglob("*.py"), *(REPO / "probes").rglob("*.py")]
    importing = [
        str(path.relative_to(REPO))
        for path in sources
        for line in path.read_text().splitlines()
        if line.strip().startswith(("import ansible", "from ansible"))
    ]
    assert importing == []


def logged_su(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """The real su behind a script that first notes each call in its own log."""
    script, log = tmp_path / f"{name}-su", tmp_path / f"{name}-su.log"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec su "$@"\n')
    script.chmod(0o755)
    return script, log


def test_workbench_become_decides_whether_the_tasks_go_through_become(tmp_path: Path) -> None:
    """With workbench_become the host's tasks run through Ansible's become (su to another user
    here), without it they do not; the host that did not become is collected."""
    root = machine_root(MACHINES[0], tmp_path / "root")
    hosts = {}
    for name, become in (("elevated", True), ("plain", False)):
        su, _ = logged_su(tmp_path, name)
        hosts[name] = local_host(
            ["--root", str(root)],
            workbench_become=become,
            ansible_become_method="su",
            ansible_become_exe=str(su),
            ansible_become_user="nobody",  # Ansible skips become to the user it already is
            ansible_become_flags="-s /bin/sh",
        )
    run = run_playbook(tmp_path, hosts)
    assert not (tmp_path / "plain-su.log").exists()
    assert "nobody -c " in (tmp_path / "elevated-su.log").read_text()
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): plain"
    assert [p.name for p in (tmp_path / "captures").iterdir()] == ["plain"]
    # nobody cannot run this checkout's Python: the elevated host is reported, not collected.
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert summary_line(run.stdout, "not collected") == (
        "not collected 1 host(s) (unreachable or failed): elevated"
    )


def test_a_capture_that_outlives_workbench_timeout_fails_its_host(tmp_path: Path) -> None:
    """A workbench that never answers is stopped after workbench_timeout (a host variable) and
    its host reported; the others are collected and our remote folders removed."""
    root = machine_root(MACHINES[0], tmp_path / "root")
    slow = tmp_path / "slow-workbench"  # a workbench that never answers
    slow.write_text("#!/bin/sh\nexec sleep 15\n")
    slow.chmod(0o755)
    hosts = {
        "fine": local_host(["--root", str(root)]),
        "stuck": local_host([], workbench_bin=str(slow), workbench_timeout=2),
    }
    run = run_playbook(tmp_path, hosts)
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): fine"
    assert summary_line(run.stdout, "not collected") == (
        "not collected 1 host(s) (unreachable or failed): stuck"
    )
    assert "timed out" in run.stdout.lower() or "timeout" in run.stdout.lower()
    assert [p.name for p in (tmp_path / "captures" / "fine").iterdir()] == ["workbench-fine.tar.gz"]
    # Ours are gone; Ansible's own module payload of the killed task may stay.
    assert [p for p in (tmp_path / "remote").iterdir() if p.name.startswith("workbench.")] == []


def test_bad_variables_fail_their_host_with_one_message(tmp_path: Path) -> None:
    """workbench_args that is a mapping or holds a non-string fails that host with the one
    assert message, before anything runs on it; the good host is collected."""
    root = machine_root(MACHINES[1], tmp_path / "root")
    hosts = {
        "good": local_host(["--root", str(root)]),
        "mapping": local_host({"--root": str(root)}),
        "number": local_host(["--root", 7]),
    }
    run = run_playbook(tmp_path, hosts)
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert "workbench_args a string or a list of strings" in run.stdout
    assert "fatal: [mapping]" in run.stdout and "fatal: [number]" in run.stdout
    assert summary_line(run.stdout, "not collected") == (
        "not collected 2 host(s) (unreachable or failed): mapping, number"
    )
    assert [p.name for p in (tmp_path / "captures").iterdir()] == ["good"]
    assert list((tmp_path / "remote").iterdir()) == []


def test_limit_narrows_the_summary_to_the_hosts_aimed_at(tmp_path: Path) -> None:
    """With --limit, the hosts left out are neither collected nor reported as missing."""
    root = machine_root(MACHINES[2], tmp_path / "root")
    hosts = {"one": local_host(["--root", str(root)]), "other": local_host(["--root", "x"])}
    run = run_playbook(tmp_path, hosts, "--limit", "one,localhost")
    assert run.returncode == 0, run.stdout + run.stderr
    assert summary_line(run.stdout, "collected 1") == "collected 1 host(s): one"
    assert summary_line(run.stdout, "not collected") == (
        "not collected 0 host(s) (unreachable or failed): "
    )
    assert [p.name for p in (tmp_path / "captures").iterdir()] == ["one"]


def test_no_host_collected_still_gets_its_summary(tmp_path: Path) -> None:
    """One host unreachable and one failing: nothing is collected, the summary names both, and
    ansible-playbook exits 2."""
    hosts = {
        "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1},
        "broken": local_host(["--root", str(tmp_path / "no such root")]),
    }
    run = run_playbook(tmp_path, hosts)
    assert run.returncode == RUN_FAILED_HOSTS, run.stdout + run.stderr
    assert summary_line(run.stdout, "collected 0") == "collected 0 host(s): "
    assert summary_line(run.stdout, "not collected") == (
        "not collected 2 host(s) (unreachable or failed): gone, broken"
    )
    assert not (tmp_path / "captures").exists()
    assert list((tmp_path / "remote").iterdir()) == []
