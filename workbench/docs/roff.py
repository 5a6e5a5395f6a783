"""Text made safe for roff (man(7)): nothing in a help text is read as a request or an escape."""

from __future__ import annotations

# Characters roff would act on, and what stands for them. `\-` is the minus sign an option
# needs (a plain `-` may print as a hyphen that cannot be copied into a shell).
_ESCAPES = {"\\": "\\e", "-": "\\-", "'": "\\(aq", "`": "\\(ga"}


def text(value: str) -> str:
    """`value` as roff body text on one line: backslashes, hyphens and quotes escaped, any
    character outside printable ASCII written as its code point, and a `\\&` before it so that
    a leading `.` or `'` is not a request."""
    out = []
    for char in " ".join(value.split()):  # newlines and tabs would start requests or break .TP
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\[u{ord(char):04X}]")
    return "\\&" + "".join(out)


def bold(value: str) -> str:
    """`value` in bold, for what is typed as shown (a command, an option)."""
    return f"\\fB{text(value)}\\fR"


def italic(value: str) -> str:
    """`value` in italics, for what the user replaces (a metavar)."""
    return f"\\fI{text(value)}\\fR"


def argument(value: str) -> str:
    """`value` as one quoted argument of a macro (.SS, .TH): its quotes as `\\(dq`."""
    return '"' + text(value).replace('"', "\\(dq") + '"'
