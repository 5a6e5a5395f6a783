"""The matcher's bookkeeping: which evidence lines a cause keeps."""

from __future__ import annotations

from pathlib import Path

from workbench.explain.matcher import KEEP_FIRST, KEEP_NEWEST, Matcher, explain_text


def test_a_cause_keeps_its_first_and_newest_lines_and_counts_the_rest() -> None:
    """30 distinct lines of one cause: the first and the newest are shown, those between are
    counted (a long log's latest failure is at its end)."""
    lines = [
        f"[{n:5d}.000000] vfio_pin_pages_remote: RLIMIT_MEMLOCK ({n}) exceeded" for n in range(30)
    ]
    (cause,) = explain_text("\n".join(lines) + "\n").causes
    shown = [e.line for e in cause.evidence]
    assert shown == [*range(1, KEEP_FIRST + 1), *range(31 - KEEP_NEWEST, 31)]
    assert cause.more_evidence == 30 - KEEP_FIRST - KEEP_NEWEST


def test_the_same_line_again_is_shown_once() -> None:
    """A message repeated word for word is one evidence line, not a count."""
    line = "vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded"
    (cause,) = explain_text(f"{line}\n{line}\n{line}\n").causes
    assert [e.line for e in cause.evidence] == [1] and cause.more_evidence == 0


def test_a_driver_message_repeated_is_read_once_and_its_fact_kept(tmp_path: Path) -> None:
    """A log repeating a driver's line a thousand times (through grep's engine): the fact
    (nvidia holds 0000:01:00.0) ranks the ambiguous header-type line all the same, and the
    cause's evidence names the driver line once."""
    driver = "nvidia 0000:01:00.0: not ready 8191ms after resume; waiting"
    lines = [f"[{n:6d}.000000] {driver}" for n in range(1000)]
    lines.append("internal error: Unknown PCI header type '127' for device '0000:01:00.0'")
    path = tmp_path / "dmesg.txt"
    path.write_text("\n".join(lines) + "\n")
    matcher = Matcher()
    matcher.feed_path(str(path))
    result = matcher.result()
    assert result.causes[0].code == "HOST_DRIVER_BOUND"
    assert matcher.facts.devices["0000:01:00.0"].driver == "nvidia"
    assert sum(driver in e.text for e in result.causes[0].evidence) <= 1


def test_context_vm_does_not_cross_to_another_start() -> None:
    """A multi-VM journal: the VM of `Failed to start domain` carries to its own reason, not
    past a QEMU log's next `starting up`, another domain's line, or many lines later."""
    from workbench.explain.matcher import CONTEXT_LINES, explain_text

    alpha = (
        "error: Failed to start domain 'alpha'\n"
        "error: Requested operation is not valid: network 'lan' is not active\n"
    )
    memory = "qemu-system-x86_64: VFIO_MAP_DMA failed: Cannot allocate memory\n"
    boundary = "2025-11-29 08:00:01.000+0000: starting up libvirt version: 10.0.0\n"
    filler = "Nov 29 08:00:01 host systemd[1]: Started session-1.scope.\n" * (CONTEXT_LINES + 1)
    beta = "error: Failed to start domain 'beta'\n"
    for between, vm in ((boundary, None), (filler, None), (beta, "beta"), ("", "alpha")):
        causes = {m.code: m.subject for m in explain_text(alpha + between + memory).causes}
        assert causes["LIBVIRT_NETWORK_INACTIVE"]["vm"] == "alpha" and len(causes) > 1
        assert [s.get("vm") for c, s in causes.items() if c != "LIBVIRT_NETWORK_INACTIVE"] == [
            vm
        ] * (len(causes) - 1), (between[:30], causes)
