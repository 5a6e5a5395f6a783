"""The one judge of a domain's last start (explain.laststart), as the probe and the UI use it:
real QEMU logs in a machine root, read through core.machinelogs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from probes.vm_startlog import last_start
from tests.ui_cause_helpers import CLEAN_STOP, FAILED_START, LIBVIRT_ERROR, with_qemu_log
from workbench.core.host import Host
from workbench.explain.laststart import judge
from workbench.explain.matcher import Matcher
from workbench.ui.start_failure import explain_start_failure

START = "2026-11-29 09:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2\n"
# A warning QEMU writes while the VM runs (its reset needs a group it does not own).
RUN_WARNING = (
    "2026-11-29T09:10:00.000000Z qemu-system-x86_64: vfio: Cannot reset device 0000:01:00.1, "
    "depends on group 1 which is not owned.\n"
)
# The boot framebuffer inside the BAR of the demo's GPU on vfio-pci: a cause its facts alone show.
EFIFB = "4000000000-400fffffff : 0000:01:00.0\n  4000000000-40007e8fff : efifb\n"


def test_a_warning_during_a_run_that_shut_down_is_not_a_failed_start(
    make_root: Callable[..., Path],
) -> None:
    """reason=shutdown decides: a vfio warning during the run makes no failed start, in the
    probe and in the UI alike."""
    root = make_root("demo-workstation")
    log = START + "Domain id=3 is tainted: host-cpu\n" + RUN_WARNING
    with_qemu_log(
        root, "truenas", log + "2026-11-29 10:00:00.000+0000: shutting down, reason=shutdown\n"
    )
    probe = last_start(Host(str(root)), "truenas")
    assert (probe.failed, probe.reason, probe.causes) == (False, "shutdown", [])
    ui = explain_start_failure(str(root), "truenas")
    assert (ui.failed, ui.causes) == (False, [])


def test_a_section_with_no_end_claims_no_cause_only_the_facts_show(
    make_root: Callable[..., Path],
) -> None:
    """A last start with no end and no failing line: not known, and the machine's boot
    framebuffer (shown by /proc/iomem alone) is not claimed as why it failed."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(EFIFB)
    facts = Matcher()
    facts.feed_host(Host(str(root)))
    assert "BOOT_FB_HOLDS_BAR" in {c.code for c in facts.result().causes}
    with_qemu_log(root, "truenas", START + "LC_ALL=C /usr/bin/qemu-system-x86_64 -name truenas\n")
    probe = last_start(Host(str(root)), "truenas")
    assert probe.recorded and probe.failed is None and probe.causes == []
    ui = explain_start_failure(str(root), "truenas")
    assert (ui.failed, ui.causes) == (False, [])


def test_reason_failed_with_a_group_not_viable_names_that_cause(
    make_root: Callable[..., Path],
) -> None:
    """reason=failed after `group 8 is not viable`: failed, GROUP_MEMBER_NOT_VFIO first, its
    evidence the log's line, in the probe and the UI alike."""
    root = make_root("demo-workstation")
    with_qemu_log(root, "truenas", CLEAN_STOP + FAILED_START)
    probe = last_start(Host(str(root)), "truenas")
    assert (probe.failed, probe.reason) == (True, "failed")
    assert probe.causes[0].code == "GROUP_MEMBER_NOT_VFIO"
    assert "group 8 is not viable" in probe.causes[0].evidence[0].text
    ui = explain_start_failure(str(root), "truenas")
    assert ui.failed and ui.causes[0]["code"] == "GROUP_MEMBER_NOT_VFIO"


def test_a_started_domain_or_a_clean_run_is_not_a_failure() -> None:
    """A `Domain id=` line (QEMU ran) or a shutdown: not failed; a start with no end and no
    error (warnings are not errors): not known; one that ends in an error: failed."""
    assert judge(START + "Domain id=3 is tainted: host-cpu\n").failed is False
    assert judge(FAILED_START + CLEAN_STOP).failed is False
    assert judge(START + "-name truenas\n").failed is None
    warned = judge(START + RUN_WARNING.replace("vfio:", "warning: vfio:"))
    assert (warned.failed, warned.causes) == (None, [])  # warnings alone: not known
    assert judge(START + "qemu: error: could not open /dev/vfio/1\n").failed is True
    assert judge(None).failed is None


def test_libvirts_error_is_a_failure_the_old_clean_log_does_not_explain() -> None:
    """A start the operator asked for failed: failed, explained by libvirt's error; the lines
    of the log's last start, which succeeded, are not its evidence."""
    start = judge(START + RUN_WARNING + "x: shutting down, reason=shutdown\n", "q", LIBVIRT_ERROR)
    assert start.failed is True
    assert {e.source for c in start.causes for e in c.evidence} == {"libvirt"}
    assert start.causes[0].code == "GROUP_MEMBER_NOT_VFIO"
