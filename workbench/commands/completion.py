"""`workbench completion bash|zsh`: print the shell's completion script (shtab, from the parser)."""

from __future__ import annotations

import argparse
import sys

from workbench.docs.completion import script


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return 0
