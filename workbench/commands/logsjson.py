"""`workbench logs --json` over several sources: JSON lines, each saying its source. A JSON
record gains a `"source"` key in front, the rest of it as written (spliced, not
re-serialised; a record with a "source" key of its own then holds it twice, and jq keeps
its own, the last); a text line (QEMU, dmesg, syslog) becomes `{"source", "time", "level",
"message", "raw"}`, its time ISO 8601 UTC when its layout gives one."""

from __future__ import annotations

import json
import re

from workbench.logs.sourcefiles import encode
from workbench.logs.sources import LogLine
from workbench.logs.textlines import text_record

_WHITE = b" \t"
_C1 = re.compile("[\x7f-\x9f]")


def _is_object(data: bytes) -> bool:
    """Whether `data` is one JSON object (what a JSON-lines record is)."""
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:  # not JSON, or not UTF-8
        return False


def is_record(data: bytes) -> bool:
    """Whether a line (as bytes) is one JSON object: a JSON-lines log's record."""
    body = data.strip(_WHITE)
    return body[:1] == b"{" and _is_object(body)


def json_line(line: LogLine) -> bytes:
    """`line` as one JSON line (bytes, no newline) that names its source."""
    data = encode(line.raw)
    source = json.dumps(line.source, ensure_ascii=False).encode("utf-8", "backslashreplace")
    body = data.strip(_WHITE)
    if body[:1] == b"{" and _is_object(body):
        rest = body[1:].lstrip(_WHITE)
        joint = b"" if rest[:1] == b"}" else b", "
        return b'{"source": ' + source + joint + rest
    text = data.decode("utf-8", "backslashreplace")  # an undecodable byte said as \xNN
    record = text_record(line.number, text)
    fields = {
        "source": line.source,
        "time": record.timestamp,
        "level": record.level,
        "message": record.message,
        "raw": text,
    }
    made = json.dumps(fields, ensure_ascii=False)
    # JSON escapes C0 controls itself, not DEL and C1 (U+009B is a CSI to a terminal): as
    # \u escapes, the same string to a JSON reader and inert text to a terminal.
    made = _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", made)
    return made.encode("utf-8", "backslashreplace")
