"""Why the selected VM did not start: the top cause (title, subject, evidence, remedy), libvirt's
own sentence below it, or what is missing to tell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from workbench.ui.causes import cause_block, ordered, top_cause
from workbench.ui.plain import join, plain

if TYPE_CHECKING:
    from workbench.ui.start_failure import StartFailure


def failure_text(failure: StartFailure) -> Text:
    """A failed start explained, most likely cause first; libvirt's words kept as context."""
    lines = [plain(f"Why {failure.vm} did not start", "bold red")]
    top = top_cause(failure.causes)
    if top is not None:
        lines.append(cause_block(top, references=False, omit=("vm",)))
        others = [c for c in ordered(failure.causes) if c is not top and not c.get("benign")]
        if others:
            codes = ", ".join(str(c.get("code")) for c in others)
            lines.append(plain(f"also possible: {codes}", "dim"))
    else:
        if failure.tail:
            lines.append(plain("No known cause matched; the last lines of its start:", "yellow"))
            lines.extend(plain(f"  {line}", "dim") for line in failure.tail)
        else:
            lines.append(plain("No known cause matched.", "yellow"))
    if failure.error:
        first = failure.error.splitlines()[0] if failure.error.strip() else failure.error
        lines.append(plain(f"libvirt said: {first}", "dim"))
    if failure.log_why:
        lines.append(plain(failure.log_why, "dim"))
    return join(lines)


def preflight_text(vm: str, found: list[tuple[str, dict[str, Any]]]) -> Text | None:
    """What probes found would stop `vm` from starting now: the top cause in full, the others
    named."""
    top = top_cause(c for _, c in found)
    if top is None:
        return None
    probe = next(p for p, c in found if c is top)
    lines = [
        plain(f"Why {vm} cannot start now ({probe})", "bold yellow"),
        cause_block(top, omit=("vm",)),
    ]
    others = [c for _, c in found if c is not top and not c.get("benign")]
    if others:
        lines.append(plain(f"also: {', '.join(str(c.get('code')) for c in others)}", "dim"))
    return join(lines)


def why_text(
    vm: str,
    failure: StartFailure | None,
    shutoff: bool,
    preflight: list[tuple[str, dict[str, Any]]] | None = None,
) -> Text | None:
    """What to say of `vm`: its failed start explained; for a shut-off VM whose QEMU log could
    not be read, that its last start is not known (no log, no verdict); then what the probes
    found would stop it now. None: nothing to say."""
    parts: list[Text] = []
    if failure is not None and failure.failed:
        parts.append(failure_text(failure))
    elif failure is not None and shutoff and failure.log_why:
        parts.append(plain(f"Last start of {vm}: not known ({failure.log_why})", "dim"))
    # What the failed start already explained is not said twice (the preflight reads the
    # same QEMU log).
    known = {c.get("code") for c in failure.causes} if failure and failure.failed else set()
    said = preflight_text(vm, [(p, c) for p, c in preflight or [] if c.get("code") not in known])
    if said is not None:
        parts.append(said)
    return join(parts, "\n\n") if parts else None


class StartFailureView(Static):
    DEFAULT_CSS = """
    StartFailureView { padding: 0 1; height: auto; }
    """

    def show(
        self,
        vm: str,
        failure: StartFailure | None,
        shutoff: bool,
        preflight: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> bool:
        """Show what there is to say of `vm`; whether there was anything."""
        text = why_text(vm, failure, shutoff, preflight)
        self.update(text or Text())
        return text is not None
