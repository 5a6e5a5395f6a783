"""Why the selected VM did not start: the top cause (title, subject, evidence, remedy), libvirt's
own sentence below it, or what is missing to tell."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        lines.append(cause_block(top, references=False))
        others = [c for c in ordered(failure.causes) if c is not top and not c.get("benign")]
        if others:
            codes = ", ".join(str(c.get("code")) for c in others)
            lines.append(plain(f"also possible: {codes}", "dim"))
    else:
        lines.append(plain("No known cause matched. The last lines of its start:", "yellow"))
        lines.extend(plain(f"  {line}", "dim") for line in failure.tail)
    if failure.error:
        first = failure.error.splitlines()[0] if failure.error.strip() else failure.error
        lines.append(plain(f"libvirt said: {first}", "dim"))
    if failure.log_why:
        lines.append(plain(failure.log_why, "dim"))
    return join(lines)


def why_text(failure: StartFailure | None, shutoff: bool) -> Text | None:
    """What to say of a VM: its failed start explained, or, for a shut-off VM whose QEMU log
    could not be read, that its last start is not known (no log, no verdict); else nothing."""
    if failure is not None and failure.failed:
        return failure_text(failure)
    if failure is not None and shutoff and failure.log_why:
        return plain(f"Last start of {failure.vm}: not known ({failure.log_why})", "dim")
    return None


class StartFailureView(Static):
    DEFAULT_CSS = """
    StartFailureView { padding: 0 1; height: auto; }
    """

    def show(self, failure: StartFailure | None, shutoff: bool) -> bool:
        """Show what there is to say of the VM; whether there was anything."""
        text = why_text(failure, shutoff)
        self.update(text or Text())
        return text is not None
