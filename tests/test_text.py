"""Machine text made safe: control characters escaped, ASCII-only integers, masked URIs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from workbench.core.text import mask_uri, mask_uris, mask_uris_in, parse_uint, safe_text


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


@pytest.mark.parametrize(
    "uri",
    [
        "qemu+tcp://admin:s3cret@127.0.0.1:99999/system",
        "qemu+tcp://admin:s3cret@127.0.0.1:abc/system",
        "qemu+tcp://admin:s3cret@[::1/system",
        "qemu+tcp://admin:s3cret@[zz]:1/system",
        "\x00://:s3cret@",
        "",
        "://",
        "a:b@c",
    ],
)
def test_mask_uri_never_raises(uri: str) -> None:
    """Any text at all, parsable as a URI or not, comes back masked, never as an exception."""
    assert "s3cret" not in mask_uri(uri)


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        (
            "qemu+tcp://admin:pa/s3cret@127.0.0.1:1/system",
            "qemu+tcp://admin:***@127.0.0.1:1/system",
        ),
        (
            "qemu+tcp://admin:p@s3cret@127.0.0.1:1/system",
            "qemu+tcp://admin:***@127.0.0.1:1/system",
        ),
        ("qemu+tcp://admin:p?s#3:c/r@e@t@h/system", "qemu+tcp://admin:***@h/system"),
        ("qemu+tcp://admin:p s3cret@h/system", "qemu+tcp://admin:***@h/system"),
        ("qemu+tcp://admin:p://s3cret@h/system", "qemu+tcp://admin:***@h/system"),
        ("qemu+tcp://:s3cret@h/system", "qemu+tcp://:***@h/system"),
        ("qemu+tcp://admin:@h/system", "qemu+tcp://admin:***@h/system"),
        ("qemu+tcp://h:16509/system", "qemu+tcp://h:16509/system"),
        ("qemu+tcp://a/b:s3cret@h/system", "qemu+tcp://a/b:***@h/system"),
        ("qemu+tcp://a d:s3cret@h/system", "qemu+tcp://a d:***@h/system"),
        ("qemu+ssh://root@h:22/system", "qemu+ssh://root@h:22/system"),
    ],
)
def test_mask_uri_hides_every_password_shape(uri: str, masked: str) -> None:
    """Everything between `user:` and the last `@` goes, whatever characters it holds."""
    assert mask_uri(uri) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "cannot connect to qemu+tcp://admin:p@s3cret@h:1/system: internal error: Unable to "
            "parse URI qemu+tcp://admin:p@s3cret@h:1/system",
            "cannot connect to qemu+tcp://admin:***@h:1/system: internal error: Unable to "
            "parse URI qemu+tcp://admin:***@h:1/system",
        ),
        (
            "connect 'qemu+tcp://admin:pa/s3cret@h:1/system': refused",
            "connect 'qemu+tcp://admin:***@h:1/system': refused",
        ),
        (
            "qemu+tcp://a:x@h/system\nqemu+ssh://root@h2/system ok",
            "qemu+tcp://a:***@h/system\nqemu+ssh://root@h2/system ok",
        ),
        ("qemu+tcp://h:1/system refused for admin@x", "qemu+tcp://h:1/system refused for admin@x"),
        ("a://b:c://d:s3cret@e", "a://b:***@e"),
    ],
)
def test_mask_uris_hides_every_password_shape_in_free_text(text: str, masked: str) -> None:
    """In free text each URI's password runs to the last `@` of its word: a URI repeated on
    one line is masked twice, not swallowed with the text between."""
    assert mask_uris(text) == masked


def test_mask_uris_is_linear_on_hostile_text() -> None:
    """A huge line of URI-looking fragments is masked in well under a second."""
    import time

    text = "a://b:" * 200_000 + "@" + "x" * 200_000
    started = time.monotonic()
    assert mask_uris(text) == "a://b:***@" + "x" * 200_000
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("mask", [mask_uri, mask_uris])
def test_masking_is_linear_without_any_at(mask: Callable[[str], str]) -> None:
    """URI-looking fragments with no `@` at all are left alone, in well under a second."""
    import time

    text = "a://b:" * 200_000
    started = time.monotonic()
    assert mask(text) == text
    assert time.monotonic() - started < 1.0


def test_mask_uris_in_walks_nested_values() -> None:
    """Strings in dicts, lists and tuples are masked; numbers, None and types are kept."""
    value = {"uri": "qemu+tcp://a:pw@h/system", "n": [1, ("x://u:p@h", None)], "ok": True}
    assert mask_uris_in(value) == {
        "uri": "qemu+tcp://a:***@h/system",
        "n": [1, ("x://u:***@h", None)],
        "ok": True,
    }


def test_mask_uris_in_stringifies_other_objects_on_request() -> None:
    """For a log record, an object is masked as the text the renderer would write of it."""
    error = ValueError("cannot reach qemu+tcp://a:pw@h/system")
    assert mask_uris_in(error) is error
    assert mask_uris_in(error, stringify=True) == "cannot reach qemu+tcp://a:***@h/system"
