"""Write the man page and the completion scripts under a prefix (the venv, for `make setup`):
PREFIX/share/man/man1/workbench.1, PREFIX/share/bash-completion/completions/workbench and
PREFIX/share/zsh/site-functions/_workbench. A file already as it should be is left alone."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from workbench.docs import completion, manpage

MAN_PAGE = Path("share/man/man1/workbench.1")
COMPLETIONS = {
    "bash": Path("share/bash-completion/completions/workbench"),
    "zsh": Path("share/zsh/site-functions/_workbench"),
}


def documents() -> dict[Path, str]:
    """Each file to install (relative to the prefix) and its text."""
    files = {MAN_PAGE: manpage.render()}
    for shell, path in COMPLETIONS.items():
        files[path] = completion.script(shell)
    return files


def install(prefix: Path) -> list[Path]:
    """Write the documents under `prefix`; the paths that changed."""
    changed = []
    for relative, content in documents().items():
        path = prefix / relative
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: a shell or `man` reading it meanwhile sees the old file or the new one.
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
        temp = Path(name)
        temp.chmod(0o644)
        temp.replace(path)
        changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m workbench.docs PREFIX", file=sys.stderr)
        return 2
    for path in install(Path(argv[0])):
        print(f"wrote {path}")
    return 0
