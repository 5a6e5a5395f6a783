"""The machine part of a sosreport's root: /proc, modules, /dev, processes, the logs."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sos_machine_helpers import DEV_LANR, HOTSOS, LSMOD, probe_json, report, translate
from workbench.core.bounded import HEAD_BYTES, TAIL_BYTES
from workbench.core.machinelogs import kernel_log
from workbench.sos.devlisting import mode_bits, parse_listing
from workbench.sos.processes import parse_ps

JOURNAL_BOOT = "sos_commands/logs/journalctl_--no-pager_--catalog_--boot"
needs_hotsos = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared/peer-data absent")


@needs_hotsos
def test_hotsos_machine_facts(tmp_path: Path) -> None:
    """The hotsos slice gives /dev/kvm as listed, loaded modules, its dmesg, and says the rest is missing."""
    manifest, host = translate(HOTSOS, tmp_path)
    nodes = manifest["facts"]["device_nodes"]
    assert nodes["/dev/kvm"] == {
        "kind": "char",
        "mode": "0660",
        "owner": "root",
        "group": None,  # gid 108: sos holds no /etc/group to name it
        "uid": 0,
        "gid": 108,
        "accessible": None,
        "size": None,
    }
    assert nodes["/dev/kvmfr0"] is None  # listed /dev without it: absent
    assert {"kvm", "kvm_intel", "vhost_net"} <= set(host.listdir("sys/module"))
    # Its dmesg lost the boot's start (it begins at 4301 s): the journal holds the whole boot.
    assert manifest["facts"]["kernel_log"]["origin"] == JOURNAL_BOOT
    assert manifest["facts"]["kernel_log"]["lines"] == 1755
    assert host.read_text("proc/sys/kernel/osrelease") == "5.4.0-97-generic\n"
    assert "processes" in manifest["not_recorded"]
    assert "sos report -o" in manifest["not_recorded"]["sys/kernel/mm/hugepages"]


@needs_hotsos
def test_hotsos_own_probes(tmp_path: Path) -> None:
    """On the hotsos slice kvm.device judges the listed /dev/kvm and cpu says the host is a VM."""
    got = probe_json(HOTSOS, "cpu.virtualization", "kvm.device", "kernel.log")
    assert got["kvm.device"]["status"] == "pass"
    assert "modules: kvm, kvm_intel" in got["kvm.device"]["summary"]
    assert got["cpu.virtualization"]["status"] == "pass"
    assert "nested" in got["cpu.virtualization"]["summary"]
    assert got["kernel.log"]["facts"]["source"] == f"logs/kernel.log (from {JOURNAL_BOOT})"


@pytest.mark.parametrize(
    ("perm", "octal"),
    [
        ("crw-rw----", "0660"),
        ("drwxrwxrwt", "1777"),
        ("-rwsr-xr-x", "4755"),
        ("-rwSr--r--", "4644"),
        ("drwxr-sr-x", "2755"),
        ("crw-rw-rw-", "0666"),
    ],
)
def test_mode_bits(perm: str, octal: str) -> None:
    """ls's permission string becomes the octal mode a capture records."""
    assert mode_bits(perm) == octal


def test_selinux_listing() -> None:
    """An `ls -alZR /dev` listing (sos >= 4.8) gives names and skips the SELinux context."""
    text = (
        "/dev:\ntotal 0\n"
        "crw-rw-rw-. 1 root kvm system_u:object_r:kvm_device_t:s0 10, 232 Nov 29 10:00 kvm\n"
        "lrwxrwxrwx. 1 root root system_u:object_r:device_t:s0 4 Nov 29 10:00 kvm2 -> kvm\n"
        "\n/dev/vfio:\n"
        "crw-------. 1 root root system_u:object_r:vfio_device_t:s0 243, 0 Nov 29 10:00 14\n"
    )
    sections = parse_listing(text, selinux=True)
    kvm = sections["/dev"]["kvm"]
    assert (kvm.kind, kvm.mode, kvm.owner, kvm.group) == ("char", "0666", "root", "kvm")
    assert sections["/dev"]["kvm2"].target == "kvm"
    assert sections["/dev/vfio"]["14"].kind == "char"


def test_listing_without_vfio_dir(tmp_path: Path) -> None:
    """A listed /dev without a vfio directory records /dev/vfio/vfio absent; /dev/net/tun present."""
    top = report(tmp_path, {"sos_commands/block/ls_-lanR_.dev": DEV_LANR.format(shm_size=0)})
    manifest, _ = translate(top, tmp_path)
    nodes = manifest["facts"]["device_nodes"]
    assert nodes["/dev/vfio/vfio"] is None
    assert nodes["/dev/net/tun"]["mode"] == "0666"
    assert nodes["/dev/vhost-net"]["kind"] == "char"


def test_no_listing_is_not_recorded(tmp_path: Path) -> None:
    """Without a /dev listing kvm.device skips, naming the listing and the block plugin."""
    top = report(tmp_path, {"proc/cpuinfo": "processor : 0\nflags : vmx\n"})
    got = probe_json(top, "kvm.device")
    assert got["kvm.device"]["status"] == "skip"
    summary = got["kvm.device"]["summary"]
    assert "not in this sosreport" in summary and "block plugin" in summary


@pytest.mark.parametrize(("size_mib", "status"), [(32, "pass"), (16, "fail")])
def test_shm_file_is_judged(tmp_path: Path, size_mib: int, status: str) -> None:
    """A /dev/shm/looking-glass in the listing is judged by its listed size (1080p needs 32 MiB)."""
    listing = DEV_LANR.format(shm_size=size_mib * 1024 * 1024)
    top = report(
        tmp_path, {"sos_commands/block/ls_-lanR_.dev": listing, "sos_commands/kernel/lsmod": LSMOD}
    )
    got = probe_json(top, "display.looking_glass")["display.looking_glass"]
    assert got["status"] == status
    assert got["facts"]["shm_files"][0]["size"] == size_mib * 1024 * 1024


def test_without_lsmod_modules_are_unknown(tmp_path: Path) -> None:
    """Parameter dirs without lsmod never make "not loaded": the module list is not recorded."""
    top = report(
        tmp_path,
        {
            "sys/module/kvm_intel/parameters/nested": "Y\n",
            "sos_commands/block/ls_-lanR_.dev": DEV_LANR.format(shm_size=0),
        },
    )
    manifest, host = translate(top, tmp_path)
    assert "lsmod" in manifest["not_recorded"]["sys/module"]
    assert host.read_text("sys/module/kvm_intel/parameters/nested") == "Y\n"
    got = probe_json(top, "kvm.device", "display.looking_glass")
    assert got["kvm.device"]["facts"]["modules"] is None
    assert got["kvm.device"]["facts"]["nested"] == {"kvm_intel": True}
    assert "modules: not recorded" in got["kvm.device"]["summary"]
    # The listing has an empty /dev/shm/looking-glass: judged from it (a VM not started).
    assert got["display.looking_glass"]["status"] == "warn"
    bare = report(tmp_path, {"sys/module/kvmfr/parameters/static_size_mb": "64\n"}, name="bare")
    looking = probe_json(bare, "display.looking_glass")["display.looking_glass"]
    assert looking["status"] == "skip"  # kvmfr's parameters: loaded, but /dev not listed
    assert looking["facts"]["kvmfr_loaded"] is True


def test_hostile_names_stay_inside(tmp_path: Path) -> None:
    """Names from lsmod, modprobe.d and links in the report never become paths outside the root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret\n")
    top = report(
        tmp_path,
        {
            "sos_commands/kernel/lsmod": "Module Size Used by\n../../evil 1 0\nkvm 1 0\n",
            "etc/modprobe.d/ok.conf": "options kvm_intel nested=1\n",
            "etc/modprobe.d/bad\x1bname.conf": "x\n",
        },
    )
    (top / "proc").mkdir()
    (top / "proc" / "cmdline").symlink_to(outside / "secret")  # absolute: inside the report
    manifest, host = translate(top, tmp_path)
    assert host.listdir("sys/module") == ["kvm"]
    assert host.listdir("etc/modprobe.d") == ["ok.conf"]
    assert host.read_text("proc/cmdline") is None
    assert "proc/cmdline" in manifest["not_recorded"]
    for path in host.root.rglob("*"):
        assert path.resolve().is_relative_to(host.root)


def test_oversized_cpuinfo_is_left_out(tmp_path: Path) -> None:
    """A /proc file over the copy cap is left out and said, so cpu.virtualization skips."""
    top = report(tmp_path, {"proc/cpuinfo": "flags : vmx\n" * 400_000})
    manifest, _ = translate(top, tmp_path)
    assert any("proc/cpuinfo" in p for p in manifest["problems"])
    got = probe_json(top, "cpu.virtualization")["cpu.virtualization"]
    assert got["status"] == "skip"


def test_ps_parsing() -> None:
    """ps auxwww gives the watched processes by name; cut user names, kernel threads are left out."""
    text = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "root 1200 0.0 0.1 100000 9000 ? Ssl Nov28 0:01 /usr/sbin/libvirtd --timeout 120\n"
        "libvirt+ 3001 10.0 20.0 900000 80000 ? Sl Nov28 10:00 /usr/bin/qemu-system-x86_64 -name w\n"
        "root 99 0.0 0.0 0 0 ? S Nov28 0:00 [kvm-pit/3001]\n"
        "root 500 0.0 0.0 1000 100 ? S Nov28 0:00 /bin/bash\n"
    )
    assert parse_ps(text) == [
        {"pid": 1200, "name": "libvirtd", "user": "root"},
        {"pid": 3001, "name": "qemu-system-x86", "user": None},
    ]


def test_ps_threads_once() -> None:
    """ps -elfL lists a process once per thread; it is recorded once."""
    text = (
        "F S UID PID PPID LWP C NLWP PRI NI ADDR SZ WCHAN STIME TTY TIME CMD\n"
        "4 S root 1200 1 1200 0 2 80 0 - 1000 - Nov28 ? 00:00:01 /usr/sbin/libvirtd\n"
        "1 S root 1200 1 1201 0 2 80 0 - 1000 - Nov28 ? 00:00:00 /usr/sbin/libvirtd\n"
    )
    assert parse_ps(text) == [{"pid": 1200, "name": "libvirtd", "user": None}]


def test_processes_recorded(tmp_path: Path) -> None:
    """The report's ps becomes facts.processes, which kvm.device shows."""
    text = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "root 1200 0.0 0.1 100000 9000 ? Ssl Nov28 0:01 /usr/sbin/libvirtd\n"
    )
    top = report(tmp_path, {"sos_commands/process/ps_auxwww": text})
    got = probe_json(top, "kvm.device")["kvm.device"]
    assert got["facts"]["processes"] == [{"pid": 1200, "name": "libvirtd", "user": "root"}]


JOURNAL = (
    "-- Logs begin at Mon 2026-11-23 10:00:00 UTC. --\n"
    "Nov 29 10:00:00 host kernel: Linux version 6.1.0 (gcc)\n"
    "Nov 29 10:00:01 host systemd[1]: Started something.\n"
    "Nov 29 10:00:02 host kernel: kvm: disabled by bios\n"
)


@pytest.mark.parametrize(
    "name", ["journalctl_--no-pager_--catalog_--boot", "journalctl_--no-pager_--boot"]
)
def test_journal_fallback(tmp_path: Path, name: str) -> None:
    """Without dmesg, the journal's kernel lines of this boot (either sos naming) are the kernel log."""
    top = report(tmp_path, {f"sos_commands/logs/{name}": JOURNAL})
    manifest, host = translate(top, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"] == f"sos_commands/logs/{name}"
    assert host.read_text("logs/kernel.log") == "Linux version 6.1.0 (gcc)\nkvm: disabled by bios\n"
    got = probe_json(top, "kernel.log")["kernel.log"]
    assert got["status"] == "fail"
    assert "KVM_DISABLED_BIOS" in got["summary"]


def test_kern_log_this_boot(tmp_path: Path) -> None:
    """/var/log/kern.log gives this boot's kernel lines: those before the last boot start are left out."""
    text = (
        "Nov 28 09:00:00 host kernel: [    0.000000] Linux version 6.0.0\n"
        "Nov 28 09:00:05 host kernel: [    5.000000] kvm: disabled by bios\n"
        "Nov 29 10:00:00 host kernel: [    0.000000] Linux version 6.1.0\n"
        "Nov 29 10:00:01 host kernel: [    1.000000] all well\n"
    )
    top = report(tmp_path, {"var/log/kern.log": text})
    _, host = translate(top, tmp_path)
    assert host.read_text("logs/kernel.log") == (
        "[    0.000000] Linux version 6.1.0\n[    1.000000] all well\n"
    )


def test_big_journal_is_bounded(tmp_path: Path) -> None:
    """A journal far over the limits is read as its first part and newest, with a gap line."""
    line = "Nov 29 10:00:01 host kernel: usb 1-1: new device number %d\n"
    body = "".join(line % n for n in range(300_000))  # ~17 MiB
    top = report(tmp_path, {"sos_commands/logs/journalctl_--no-pager_--boot": body})
    manifest, host = translate(top, tmp_path)
    facts = manifest["facts"]["kernel_log"]
    assert facts["truncated"] is True
    assert (host.root / "logs/kernel.log").stat().st_size <= HEAD_BYTES + TAIL_BYTES + 200
    log = kernel_log(host)
    assert log.gap() is not None
    assert log.text is not None and log.text.rstrip().endswith("number 299999")


def test_no_kernel_log_says_plugins(tmp_path: Path) -> None:
    """Without dmesg, journal or syslog, kernel.log skips naming the kernel and logs plugins."""
    top = report(tmp_path, {})
    got = probe_json(top, "kernel.log")["kernel.log"]
    assert got["status"] == "skip"
    assert "not in this sosreport" in got["summary"] and "logs plugin" in got["summary"]


def test_libvirt_daemon_log(tmp_path: Path) -> None:
    """libvirt's daemon log becomes logs/libvirt.log with its facts."""
    top = report(
        tmp_path, {"var/log/libvirt/libvirtd.log": "2026-11-29 10:00:00.000+0000: 1: error : x\n"}
    )
    manifest, host = translate(top, tmp_path)
    assert manifest["facts"]["libvirt_log"]["origin"] == "var/log/libvirt/libvirtd.log"
    assert host.read_text("logs/libvirt.log") is not None


def test_hugepages_judged(tmp_path: Path) -> None:
    """The report's hugepages and meminfo are judged as on the machine."""
    base = "sys/kernel/mm/hugepages/hugepages-1048576kB"
    top = report(
        tmp_path,
        {
            f"{base}/nr_hugepages": "15\n",
            f"{base}/free_hugepages": "15\n",
            f"{base}/resv_hugepages": "0\n",
            "sys/kernel/mm/hugepages/hugepages-x/nr_hugepages": "1\n",
            "proc/meminfo": "MemTotal:       16384000 kB\n",
        },
    )
    got = probe_json(top, "memory.hugepages")["memory.hugepages"]
    assert got["status"] == "fail"  # 15 GiB of 15.6 GiB
    assert [s["page_size"] for s in got["facts"]["sizes"]] == ["1G"]


@pytest.mark.skipif(
    shutil.which("sos") is None or os.geteuid() != 0, reason="needs Debian's sosreport, as root"
)
def test_real_sos_report(tmp_path: Path) -> None:
    """A real `sos report` of this machine: /dev nodes and processes as the machine has them."""
    plugins = "kernel,block,process,processor,memory,host"
    done = subprocess.run(
        ["sos", "report", "--batch", "--build", "-o", plugins, "--tmp-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (top,) = [p for p in tmp_path.iterdir() if p.name.startswith("sosreport-") and p.is_dir()]
    manifest, _ = translate(top, tmp_path)
    nodes = manifest["facts"]["device_nodes"]
    for path in ("/dev/kvm", "/dev/net/tun"):
        if not Path(path).exists():
            assert nodes[path] is None
            continue
        info = Path(path).stat()
        assert nodes[path]["mode"] == f"{stat.S_IMODE(info.st_mode):04o}"
        assert nodes[path]["uid"] == info.st_uid
        assert nodes[path]["owner"] in (None, pwd.getpwuid(info.st_uid).pw_name)
    assert isinstance(manifest["facts"]["processes"], list)
    assert manifest["facts"]["kernel_log"]["origin"] == "sos_commands/kernel/dmesg"
    if not (top / "sos_commands/kernel/lsmod").exists():  # kmod not installed here
        assert "sys/module" in manifest["not_recorded"]
    got = probe_json(top, "kvm.device", "memory.hugepages", "kernel.cmdline")
    assert got["kernel.cmdline"]["status"] != "skip"
    assert got["memory.hugepages"]["status"] != "skip"
    assert got["kvm.device"]["status"] == ("pass" if Path("/dev/kvm").exists() else "fail")


def test_manifest_says_not_installed(tmp_path: Path) -> None:
    """The report's own manifest tells a command that was not installed from one not collected."""
    said = {
        "components": {
            "report": {
                "plugins": {
                    "kernel": {
                        "commands": [{"exec": "lsmod", "filepath": None, "return_code": 127}]
                    }
                }
            }
        }
    }
    top = report(tmp_path, {"sos_reports/manifest.json": json.dumps(said)})
    manifest, _ = translate(top, tmp_path)
    assert (
        "`lsmod` was not installed on the machine (exit 127)"
        in manifest["not_recorded"]["sys/module"]
    )
    assert "the block plugin did not run" in manifest["not_recorded"]["dev/kvm"]


@pytest.mark.parametrize("command", ["ls -alZR /dev", "ls -lanR /dev"])
def test_manifest_status_of_the_listing_command_the_report_ran(
    tmp_path: Path, command: str
) -> None:
    """The /dev listing's hint gives the manifest's word on the command sos ran (4.8+: -alZR)."""
    ran = {"exec": command, "filepath": None, "return_code": 2}
    said = {"components": {"report": {"plugins": {"block": {"commands": [ran]}}}}}
    top = report(tmp_path, {"sos_reports/manifest.json": json.dumps(said)})
    manifest, _ = translate(top, tmp_path)
    hint = manifest["not_recorded"]["dev/kvm"]
    assert f"`{command}` failed on the machine (exit 2)" in hint
    assert f"the /dev listing ({command})" in hint


@pytest.mark.parametrize("commands", ["garbage", [1, None, {"exec": ["ls"]}], {"exec": "x"}])
def test_a_hostile_manifest_leaves_the_listing_hint_plain(tmp_path: Path, commands: object) -> None:
    """A block plugin whose `commands` is not a list of dicts: no status, the plain hint."""
    said = {"components": {"report": {"plugins": {"block": {"commands": commands}}}}}
    top = report(tmp_path, {"sos_reports/manifest.json": json.dumps(said)})
    manifest, _ = translate(top, tmp_path)
    hint = manifest["not_recorded"]["dev/kvm"]
    assert "the /dev listing (ls -alZR /dev)" in hint and "block plugin" in hint


def test_proc_modules_without_lsmod(tmp_path: Path) -> None:
    """/proc/modules (what lsmod reads) gives the loaded modules when lsmod's output is absent."""
    text = "kvm_intel 282624 3 - Live 0x0000000000000000\nkvm 663552 1 kvm_intel, Live 0x0\n"
    top = report(tmp_path, {"proc/modules": text})
    manifest, host = translate(top, tmp_path)
    assert "sys/module" not in manifest["not_recorded"]
    assert host.listdir("sys/module") == ["kvm", "kvm_intel"]


def test_ps_hostile_fields() -> None:
    """Control codes or markup in ps output never become a process's name or user."""
    text = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "ro\x1b[31mot 1200 0.0 0.1 1 1 ? Ssl Nov28 0:01 /usr/sbin/libvirtd\n"
        "root 1300 0.0 0.1 1 1 ? Ssl Nov28 0:01 /usr/bin/qemu-system-[b]x\x1b]0;\n"
        "root \u0661\u0662 0.0 0.1 1 1 ? Ssl Nov28 0:01 /usr/sbin/virtqemud\n"
    )
    assert parse_ps(text) == [{"pid": 1200, "name": "libvirtd", "user": None}]


def test_listing_hostile_owner() -> None:
    """An owner with control codes in a /dev listing is recorded as unknown (None)."""
    text = "/dev:\ncrw-rw---- 1 r\x1b[2Joot kvm 10, 232 Nov 29 10:00 kvm\n"
    entry = parse_listing(text, selinux=False)["/dev"]["kvm"]
    assert (entry.owner, entry.group) == (None, "kvm")


def test_journal_since_name(tmp_path: Path) -> None:
    """A this-boot journal collected with --since (sos names it so) is read; the last boot's is not."""
    top = report(
        tmp_path,
        {
            "sos_commands/logs/journalctl_--no-pager_--boot_-1": JOURNAL.replace("kvm", "old"),
            "sos_commands/logs/journalctl_--no-pager_--boot_--since_2026-11-28": JOURNAL,
        },
    )
    manifest, _ = translate(top, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"].endswith("--since_2026-11-28")


def test_tailed_link_is_followed(tmp_path: Path) -> None:
    """A log over sos's size limit is a link to sos_strings/...tailed: it is read through the link."""
    top = report(
        tmp_path,
        {"sos_strings/libvirt/var.log.libvirt.libvirtd.log.tailed": "2026-11-29 error : x\n"},
    )
    (top / "var/log/libvirt").mkdir(parents=True)
    target = "../../../sos_strings/libvirt/var.log.libvirt.libvirtd.log.tailed"
    (top / "var/log/libvirt/libvirtd.log").symlink_to(target)
    _, host = translate(top, tmp_path)
    assert host.read_text("logs/libvirt.log") == "2026-11-29 error : x\n"


def test_explain_reads_the_reports_kernel_log(tmp_path: Path) -> None:
    """`explain --sos` explains the report's kernel log (its dmesg) with the cause catalogue."""
    top = report(tmp_path, {"sos_commands/kernel/dmesg": "[    1.000000] kvm: disabled by bios\n"})
    done = run_cli("explain", "--sos", str(top), "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["causes"][0]["code"] == "KVM_DISABLED_BIOS"


@pytest.mark.parametrize(
    ("rel", "missing", "problem"),
    [
        ("sos_commands/kernel/lsmod", "sys/module", "not lsmod output"),
        ("sos_commands/process/ps_auxwww", "processes", "not `ps` output"),
        ("sos_commands/block/ls_-lanR_.dev", "dev/kvm", "no `/dev:` section"),
    ],
)
def test_garbage_outputs(tmp_path: Path, rel: str, missing: str, problem: str) -> None:
    """A command output that is garbage is a problem of the report and its facts not recorded."""
    top = report(tmp_path, {rel: "\x00\x1b[2J garbage\n" * 10})
    manifest, _ = translate(top, tmp_path)
    assert missing in manifest["not_recorded"]
    assert any(problem in p for p in manifest["problems"])
    done = run_cli("probe", "--sos", str(top))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout


def test_numeric_owner_named_by_ps(tmp_path: Path) -> None:
    """`ls -n`'s uid is named by the report's two ps outputs (user and uid of one pid); an
    unnamed uid or gid is not recorded, never a guess."""
    aux = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "qemu 3001 1.0 2.0 9 8 ? Sl Nov28 10:00 /usr/bin/qemu-system-x86_64 -name w\n"
    )
    alx = (
        "F UID PID PPID PRI NI VSZ RSS WCHAN STAT TTY TIME COMMAND\n"
        "0 107 3001 1 20 0 9 8 - Sl ? 10:00 /usr/bin/qemu-system-x86_64 -name w\n"
    )
    listing = (
        "/dev:\ncrw-rw---- 1 0 36 10, 232 Nov 29 10:00 kvm\n"
        "drwxr-xr-x 2 0 0 60 Nov 29 10:00 vfio\n\n"
        "/dev/vfio:\ncrw------- 1 107 107 243, 0 Nov 29 10:00 20\n"
        "crw------- 1 4242 0 243, 1 Nov 29 10:00 21\n"
    )
    top = report(
        tmp_path,
        {
            "sos_commands/process/ps_auxwww": aux,
            "sos_commands/process/ps_alxwww": alx,
            "sos_commands/block/ls_-lanR_.dev": listing,
        },
    )
    manifest, _ = translate(top, tmp_path)
    nodes = manifest["facts"]["device_nodes"]
    assert (nodes["/dev/vfio/20"]["owner"], nodes["/dev/vfio/20"]["group"]) == ("qemu", None)
    assert (nodes["/dev/vfio/21"]["owner"], nodes["/dev/vfio/21"]["group"]) == (None, "root")
    assert nodes["/dev/vfio/21"]["uid"] == 4242
    assert (nodes["/dev/kvm"]["owner"], nodes["/dev/kvm"]["gid"]) == ("root", 36)
    assert "the names of uid 4242, gid 0" in manifest["not_recorded"]["dev/vfio/21"]


def test_whole_journal_last_boot(tmp_path: Path) -> None:
    """The whole journal (every boot) gives the kernel lines after its last `-- Reboot --`."""
    text = (
        "Nov 28 09:00:05 host kernel: kvm: disabled by bios\n"
        "-- Reboot --\n"
        "Nov 29 10:00:01 host kernel: all well\n"
    )
    top = report(tmp_path, {"sos_commands/logs/journalctl_--no-pager": text})
    manifest, host = translate(top, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"] == "sos_commands/logs/journalctl_--no-pager"
    assert host.read_text("logs/kernel.log") == "all well\n"


def test_logs_reads_the_reports_kernel_log(tmp_path: Path) -> None:
    """`logs --sos DIR --kernel` shows the report's kernel log, never the live machine's."""
    top = report(tmp_path, {"sos_commands/kernel/dmesg": "[    1.000000] only-in-the-report\n"})
    done = run_cli("logs", "--sos", str(top), "--kernel")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("only-in-the-report")
    assert len(done.stdout.strip().splitlines()) == 1
    bare = run_cli("logs", "--sos", str(top))  # no source named: the report's kernel log
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout == done.stdout


def test_fifos_and_dirs_are_not_read(tmp_path: Path) -> None:
    """A FIFO or a directory where the report should have a file is a problem, never a hang."""
    top = report(tmp_path, {})
    (top / "proc").mkdir()
    os.mkfifo(top / "proc" / "cpuinfo")
    (top / "sos_commands/kernel").mkdir()
    os.mkfifo(top / "sos_commands/kernel/dmesg")
    (top / "proc/cmdline").mkdir()
    manifest, _ = translate(top, tmp_path)
    assert {"proc/cpuinfo", "proc/cmdline", "logs/kernel.log"} <= set(manifest["not_recorded"])
    assert any("not a regular file" in p for p in manifest["problems"])


def test_wrapped_dmesg_is_truncated(tmp_path: Path) -> None:
    """A dmesg whose ring buffer lost the boot's start is recorded as truncated (the newest part)."""
    top = report(tmp_path, {"sos_commands/kernel/dmesg": "[86400.000001] late line\n"})
    got = probe_json(top, "kernel.log")["kernel.log"]
    assert got["facts"]["truncated"] is True
    assert "newest part" in got["summary"]


def test_wrapped_dmesg_gives_way_to_the_journal(tmp_path: Path) -> None:
    """A wrapped dmesg gives way to a this-boot journal that holds the boot's start."""
    top = report(
        tmp_path,
        {
            "sos_commands/kernel/dmesg": "[86400.000001] late line\n",
            "sos_commands/logs/journalctl_--no-pager_--boot": JOURNAL,
        },
    )
    manifest, host = translate(top, tmp_path)
    facts = manifest["facts"]["kernel_log"]
    assert facts["origin"] == "sos_commands/logs/journalctl_--no-pager_--boot"
    assert "ring buffer" in facts["tried"][0]
    assert host.read_text("logs/kernel.log") == "Linux version 6.1.0 (gcc)\nkvm: disabled by bios\n"


def test_one_directory_listing_judges_names_as_the_caller_asks(tmp_path: Path) -> None:
    """reportfiles.names: unsafe names left out (or all kept for a caller that judges them),
    a directory that cannot be listed is a problem, never an error."""
    from workbench.core.host import Host
    from workbench.sos.model import SosNotes
    from workbench.sos.reportfiles import names

    top = report(tmp_path, {"d/ok.log": "", "d/my vm.log": "", "d/\x1b[2J.log": ""})
    notes = SosNotes(Host(top), tmp_path / "root")
    assert names(notes, "d") == ["ok.log"]
    assert any("d: 2 names left out" in p for p in notes.problems)
    assert names(notes, "d", keep=None) == sorted(["ok.log", "my vm.log", "\x1b[2J.log"])
    (top / "loop").symlink_to("loop")
    assert names(notes, "loop") == []
    assert any(p.startswith("loop: not listed (") for p in notes.problems)


def test_a_big_journal_of_every_boot_never_lends_an_old_boot_start(tmp_path: Path) -> None:
    """A whole journal over the read limits: its first part (an earlier boot) is dropped."""
    old = "Nov 01 10:00:00 host kernel: Linux version 5.0.0\n"
    old += "Nov 01 10:00:01 host kernel: pci 0000:01:00.0: Adding to iommu group 99\n"
    line = "Nov 29 10:00:01 host kernel: usb 1-1: new device number %d\n"
    body = old + "".join(line % n for n in range(300_000))  # ~17 MiB; this boot's start cut
    top = report(tmp_path, {"sos_commands/logs/journalctl_--no-pager": body})
    manifest, host = translate(top, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"] == "sos_commands/logs/journalctl_--no-pager"
    text = host.read_text("logs/kernel.log")
    assert "Linux version 5.0.0" not in text and "group 99" not in text
    assert text.rstrip().endswith("number 299999")
    assert manifest["evidence"]["iommu_log"] == [
        "sos_commands/logs/journalctl_--no-pager (does not start at boot)"
    ]


def test_a_journal_that_is_not_a_file_is_a_problem(tmp_path: Path) -> None:
    """A journal name that is a directory is said in problems; the next source is read."""
    top = report(tmp_path, {"var/log/kern.log": "Nov 29 10:00:00 h kernel: Linux version 6\n"})
    (top / "sos_commands/logs/journalctl_--no-pager_--boot").mkdir(parents=True)
    manifest, _ = translate(top, tmp_path)
    assert manifest["facts"]["kernel_log"]["origin"] == "var/log/kern.log"
    assert any(
        "journalctl_--no-pager_--boot: not a regular file" in p for p in manifest["problems"]
    )
