"""XML from a sosreport, parsed without trusting it: bounded in size, no DTD (so no entity
expansion, internal or external: a "billion laughs" is refused before expat sees it)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

MAX_XML_BYTES = 4 * 1024 * 1024  # a domain's XML is a few KiB; a status XML tens of KiB
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_untrusted(text: str) -> ET.Element:
    """The root element of `text`. Raises ValueError (one line, what is wrong) for text too
    large, with a DTD or entity declaration (libvirt never writes one), or that is not XML."""
    if len(text) > MAX_XML_BYTES:
        raise ValueError(f"larger than {MAX_XML_BYTES >> 20} MiB")
    if _DTD.search(text):
        raise ValueError("it declares a DTD or entities (libvirt writes none): not read")
    try:
        return ET.fromstring(text)  # noqa: S314 - no DTD (checked above), bounded size
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
