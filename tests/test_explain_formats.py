"""`workbench explain` knows an input by its first bytes: gzip, xz, bzip2 (nested), UTF-16;
containers are refused by name; decompressed text is capped, and the cap is said."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_cli
from workbench.core import formats

MEMLOCK = "vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded\n"


def codes(path: Path) -> tuple[int, list[str]]:
    proc = run_cli("explain", "--json", str(path))
    assert "Traceback" not in proc.stderr
    return proc.returncode, [c["code"] for c in json.loads(proc.stdout)["causes"]]


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("kern.log.gz.gz", lambda b: gzip.compress(gzip.compress(b))),
        ("kern.log.bz2", bz2.compress),
        ("kern.log.xz.gz", lambda b: gzip.compress(lzma.compress(b))),
        ("powershell.txt", lambda b: b.decode().encode("utf-16")),
        ("powershell-be.txt", lambda b: b"\xfe\xff" + b.decode().encode("utf-16-be")),
    ],
)
def test_nested_bzip2_and_utf16_inputs_are_read(tmp_path: Path, name: str, encode) -> None:  # type: ignore[no-untyped-def]
    """gzip of gzip, bzip2, gzip of xz and UTF-16 with either byte order: the cause is found,
    as it would be in the plain file (they no longer read as 'no cause found')."""
    path = tmp_path / name
    path.write_bytes(encode(MEMLOCK.encode()))
    assert codes(path) == (1, ["MEMLOCK_LIMIT"])


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: zipfile.ZipFile(p, "w").close(), "a zip archive"),
        (lambda p: p.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 20), "zstd-compressed"),
        (lambda p: p.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 20), "a 7-Zip archive"),
    ],
)
def test_containers_are_refused_by_name(tmp_path: Path, make, said: str) -> None:  # type: ignore[no-untyped-def]
    """A zip, zstd or 7-Zip file: exit 2, one line naming the format and what to do."""
    path = tmp_path / "paste.log"
    make(path)
    proc = run_cli("explain", str(path))
    assert proc.returncode == 2
    assert said in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_five_times_compressed_is_refused(tmp_path: Path) -> None:
    """Compression nested deeper than three: exit 2, said (not an endless unwrapping)."""
    data = MEMLOCK.encode()
    for _ in range(5):
        data = gzip.compress(data)
    path = tmp_path / "deep.gz"
    path.write_bytes(data)
    proc = run_cli("explain", str(path))
    assert proc.returncode == 2 and "compressed more than 3 times" in proc.stderr


def test_decompressed_text_stops_at_the_cap_and_says_so() -> None:
    """The cap on decompressed text: reading stops there and `cut` records that more was
    left (the command says so on stderr); below the cap nothing is cut."""
    data = b"x" * 100 + b"\n"
    capped = formats.Capped(io.BytesIO(data * 10), limit=250)
    assert len(capped.read()) == 250 and capped.read() == b"" and capped.cut
    whole = formats.Capped(io.BytesIO(data), limit=250)
    assert whole.read() == data and not whole.cut
