"""`libvirt.connection`: the hypervisor answers; its URI, type and versions."""

from __future__ import annotations

from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import CAPTURE_HINT, Finding, Outcome, worst
from workbench.core.text import mask_uri

SHARED_CONN = "libvirt.conn"


def version_text(number: int) -> str:
    """libvirt's packed version (9000000) as 9.0.0."""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def connect_uri(ctx: ProbeContext) -> str | None:
    uri = ctx.options.get("connect")
    return uri if isinstance(uri, str) and uri else None


class LibvirtConnection(Probe):
    id = "libvirt.connection"
    title = "libvirt connection"
    area = "libvirt"
    order = 100

    def run(self, ctx: ProbeContext) -> Outcome:
        uri = connect_uri(ctx)
        if uri is None:
            return self._recorded(ctx)
        from workbench.virt.connection import open_connection

        try:
            conn = open_connection(uri, readonly=True)
        except WorkbenchError as exc:
            finding = Finding(exc.code, "fail", exc.message, exc.remedy)
            shown = mask_uri(uri)  # the password goes to libvirt only
            return Outcome(
                "fail", f"{shown} unreachable", {"uri": shown, "error": exc.to_dict()}, [finding]
            )
        ctx.shared[SHARED_CONN] = conn
        ctx.shared["cleanup"].append(conn.close)
        facts: dict[str, Any] = {
            "uri": mask_uri(conn.getURI()),
            "hypervisor": conn.getType(),
            "hypervisor_version": version_text(conn.getVersion()),
            "libvirt_version": version_text(conn.getLibVersion()),
            "hostname": conn.getHostname(),
            "readonly": True,
        }
        summary = (
            f"{facts['uri']}: {facts['hypervisor']} {facts['hypervisor_version']}, "
            f"libvirt {facts['libvirt_version']}"
        )
        return Outcome("pass", summary, facts)

    @staticmethod
    def _recorded(ctx: ProbeContext) -> Outcome:
        """A capture's hypervisor, as it answered when the capture was made."""
        from workbench.virt.recorded import load_recorded

        recorded = load_recorded(ctx.host)
        if recorded is None:
            return Outcome("skip", "no hypervisor for a recorded machine (pass --connect URI)")
        if recorded.unusable is not None:
            # Nothing about the hypervisor was recorded: no verdict on it, only on the file.
            finding = Finding(
                "RECORDING_INVALID", "info", f"unusable recording: {recorded.unusable}"
            )
            return Outcome(
                "skip",
                f"hypervisor not recorded (its recording is unusable): {CAPTURE_HINT} again",
                {"recorded": True, "problem": recorded.unusable},
                [finding],
            )
        uri = str(recorded.info.get("uri") or "")
        # What the recording got wrong was read around (see workbench.virt.recorded): said here.
        findings = [
            Finding(
                "RECORDING_INVALID",
                "warn",
                f"invalid recording: {problem}",
                "Capture the machine again with `workbench capture`.",
            )
            for problem in recorded.problems
        ]
        error = recorded.error
        if error is not None:
            finding = Finding(
                str(error.get("error") or "LIBVIRT_ERROR"),
                "fail",
                str(error.get("message") or "unreachable"),
                error.get("remedy") if isinstance(error.get("remedy"), str) else None,
            )
            facts = {"uri": uri, "error": error, "recorded": True}
            return Outcome("fail", f"{uri} was unreachable (recorded)", facts, [finding, *findings])
        ctx.shared[SHARED_CONN] = recorded
        facts = {**recorded.info, "readonly": True, "recorded": True}
        return Outcome(worst(findings), f"{recorded_summary(facts)} (recorded)", facts, findings)


def recorded_summary(facts: dict[str, Any]) -> str:
    """`uri: QEMU 8.2.0, libvirt 10.0.0`, each field the recording lacks said not recorded."""
    uri = facts.get("uri") or "URI not recorded"
    hypervisor, version = facts.get("hypervisor"), facts.get("hypervisor_version")
    if hypervisor and version:
        running = f"{hypervisor} {version}"
    elif hypervisor:
        running = f"{hypervisor}, hypervisor version not recorded"
    else:
        running = "hypervisor not recorded" + (f" (version {version})" if version else "")
    lib = facts.get("libvirt_version")
    return f"{uri}: {running}, " + (f"libvirt {lib}" if lib else "libvirt version not recorded")
