"""Repeated `--connect`: several hypervisors watched at once (`events`, `probe`).

argparse collects every `--connect` into a list; `merge_connects` turns the global list (before
the verb) and the verb's own into one, `args.connects`, and leaves `args.connect` the first URI
so every single-URI path reads what it always read.
"""

from __future__ import annotations

import argparse

from workbench.commands.common import uri_problem
from workbench.core.text import mask_uri, safe_text

# The verbs that take more than one --connect (None: the workbench itself).
MULTI_CONNECT: tuple[str | None, ...] = (None, "events", "probe")


def _unique(uris: list[str]) -> list[str]:
    """The URIs in the order given, a URI named twice kept once (watched once)."""
    return list(dict.fromkeys(uris))


def merge_connects(args: argparse.Namespace) -> str | None:
    """Set `args.connects` (every URI, first given first) and `args.connect` (the first, or
    None); the reason when the URIs before the verb and after it differ."""
    before = getattr(args, "global_connect", None)
    after = getattr(args, "connect", None)
    before_list = _unique(before) if isinstance(before, list) else before
    after_list = _unique(after) if isinstance(after, list) else after
    if before_list and after_list and before_list != after_list:
        shown = ", ".join(safe_text(mask_uri(u)) for u in before_list)
        return (
            f"{args.command}: two different --connect lists: {shown} (before {args.command}) "
            f"and {', '.join(safe_text(mask_uri(u)) for u in after_list)} (after it); give one"
        )
    connects: list[str] = list(after_list or before_list or [])
    args.connects = connects
    first = connects[0] if connects else None
    args.global_connect = first
    if after is not None:
        args.connect = first
    return None


def check_connects(args: argparse.Namespace) -> str | None:
    """Each URI usable, and more than one only where the verb watches several; the reason."""
    verb = args.command
    where = f"{verb}: " if verb else ""
    connects: list[str] = getattr(args, "connects", [])
    for uri in connects:
        if not uri.strip():
            return f"{where}--connect: empty"
        if (problem := uri_problem(uri)) is not None:
            return f"{where}{problem}"
    if len(connects) > 1 and verb not in MULTI_CONNECT:
        return f"{where}--connect is given once here (several: the workbench, events, probe)"
    return None
