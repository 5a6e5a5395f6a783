"""Machine text made safe: control characters escaped, ASCII-only integers, masked URIs."""

from __future__ import annotations

import pytest

from workbench.core.text import mask_uri, mask_uris, parse_uint, safe_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b31m", "c1\\x9b31m"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("two\nlines", "two\\x0alines"),
    ],
)
def test_safe_text_escapes_terminal_control(raw: str, shown: str) -> None:
    """Escape sequences, C1 controls, bidi overrides and (single-line) newlines are escaped."""
    assert safe_text(raw) == shown


def test_safe_text_multiline_keeps_newlines_and_tabs() -> None:
    """A multi-line text keeps its line breaks and tabs, not its escapes."""
    assert safe_text("a\tb\nc\x1b", multiline=True) == "a\tb\nc\\x1b"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        (" 7\n", 7),
        ("0", 0),
        ("²", None),
        ("٣", None),
        ("1e3", None),
        ("-1", None),
        ("", None),
        (None, None),
        ("9" * 400, None),
        ("18446744073709551617", None),
    ],
)
def test_parse_uint_takes_ascii_digits_only(text: str | None, value: int | None) -> None:
    """Unicode digits, signs, exponents and absurd lengths are not numbers."""
    assert parse_uint(text) == value


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("qemu+tcp://admin:s3cret@host/system", "qemu+tcp://admin:***@host/system"),
        (
            "qemu+ssh://root:p%40ss@h:22/system?keyfile=k",
            "qemu+ssh://root:***@h:22/system?keyfile=k",
        ),
        ("qemu:///system", "qemu:///system"),
        ("qemu+ssh://root@h/system", "qemu+ssh://root@h/system"),
        ("test:///default", "test:///default"),
    ],
)
def test_mask_uri_hides_only_the_password(uri: str, masked: str) -> None:
    """The password goes; user, host, port, path and query stay."""
    assert mask_uri(uri) == masked


def test_mask_uris_in_free_text() -> None:
    """A URI with a password inside an error message is masked too."""
    text = "cannot connect to 'qemu+tcp://a:b@h/system': refused"
    assert mask_uris(text) == "cannot connect to 'qemu+tcp://a:***@h/system': refused"
