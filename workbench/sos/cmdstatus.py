"""What a sosreport's own manifest (`sos_reports/manifest.json`, sos >= 4.0) says of a command
whose output is absent: not installed (exit 127), failed, timed out, or not run at all."""

from __future__ import annotations

import json
from typing import Any

from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import read

MANIFEST = "sos_reports/manifest.json"
MANIFEST_BYTES = 32 * 1024 * 1024


def _plugins(notes: SosNotes) -> dict[str, Any] | None:
    if "sos_manifest" not in notes.cache:
        plugins = None
        data = read(notes, MANIFEST, limit=MANIFEST_BYTES)
        if data is not None:
            try:
                loaded = json.loads(data)
            except (ValueError, RecursionError):
                notes.problems.append(f"{MANIFEST} is not valid JSON")
            else:
                found = loaded.get("components", {}) if isinstance(loaded, dict) else {}
                found = found.get("report", {}) if isinstance(found, dict) else {}
                found = found.get("plugins") if isinstance(found, dict) else None
                plugins = found if isinstance(found, dict) else None
        notes.cache["sos_manifest"] = plugins
    result: dict[str, Any] | None = notes.cache["sos_manifest"]
    return result


def ran(notes: SosNotes, plugin: str, commands: tuple[str, ...]) -> str:
    """Which of `commands` (one thing's command as sos versions differ: `ls -alZR /dev` from
    4.8, `ls -lanR /dev` before) the report's manifest says `plugin` ran; the first when it
    names none of them (no manifest, the plugin not run)."""
    plugins = _plugins(notes)
    entry = plugins.get(plugin) if plugins is not None else None
    listed = entry.get("commands") if isinstance(entry, dict) else None
    execs = (
        [c.get("exec") for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    )
    return next((c for c in commands if any(c == e for e in execs)), commands[0])


def command_status(notes: SosNotes, plugin: str, command: str) -> str | None:
    """Why `command` (its program, as sos ran it: "lsmod", "ls -lanR /dev") left no output,
    in words; None when the report's manifest does not say (absent, or the command not run)."""
    plugins = _plugins(notes)
    if plugins is None:
        return None
    entry = plugins.get(plugin)
    if not isinstance(entry, dict):
        return f"the {plugin} plugin did not run"
    commands = entry.get("commands")
    for cmd in commands if isinstance(commands, list) else []:
        if not isinstance(cmd, dict) or cmd.get("exec") != command:
            continue
        code = cmd.get("return_code")
        if code == 127:
            return f"`{command}` was not installed on the machine (exit 127)"
        if isinstance(code, int) and code != 0:
            return f"`{command}` failed on the machine (exit {code})"
        if cmd.get("filepath") is None:
            return f"`{command}` gave no output"
        return None
    return None


def how(notes: SosNotes, plugin: str, command: str, collected: str) -> str:
    """A hint's HOW: the manifest's word on the command first, then what collects it."""
    said = command_status(notes, plugin, command)
    return f"{said}; {collected}" if said else collected
