"""Any order of crafted capture members (links through links, to `.`, over the manifest,
sparse files behind links): nothing outside the temp dir changes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.capture_files import Member, entry, link, tree_state, write
from workbench.capture import SCHEMA
from workbench.capture.unpack import open_capture
from workbench.core.errors import CaptureError

# The temp root is PRIVATE/workbench-capture-XXX/root: `../../../victim` from it is the victim.
KIT: list[tuple[str, str, object]] = [
    ("link", "a/b/x", "../.."),  # the root, through a link
    ("link", "a/b/x/manifest.json", "../../../victim"),  # the manifest, through it
    ("link", "a/b/x/c/d/e/y", "../../../../../.."),  # beyond the root, through it
    ("link", "a/b/x/c/d/e/y/made/planted", "victim"),  # a link (and dirs) beyond the root
    ("file", "a/b/x/c/d/e/y/written", b"evil"),  # a file beyond the root
    ("sparse", "a/b/x/c/d/e/y/victim", 7),  # truncation through links
    ("sparse", "a/b/x/s", 4096),
    ("dir", "a/b/x/c", None),
    ("link", "a/q", "b/x"),  # a link to a link
    ("link", "a/q/manifest.json", "../../victim"),
    ("link", "a/b", "."),
    ("link", "dot", ".."),
    ("link", "manifest.json", "proc/cmdline"),
    ("file", "manifest.json/x", b"1"),
    ("file", "a/b/x/f", b"2"),
]
PARTS = ["a", "b", "x", "manifest.json"]
NAMES = st.lists(st.sampled_from(PARTS), min_size=1, max_size=4).map("/".join)
TARGETS = st.one_of(
    st.builds(
        lambda up, tail: "../" * up + tail,
        st.integers(0, 6),
        st.sampled_from(["victim", "manifest.json", "a", "a/b", "b/x", "x/manifest.json"]),
    ),
    st.sampled_from([".", "..", "../..", "../../..", "a/../..", ""]),
)
NOISE = st.one_of(
    st.tuples(st.just("file"), NAMES, st.binary(max_size=3)),
    st.tuples(st.just("dir"), NAMES, st.none()),
    st.tuples(st.just("link"), NAMES, TARGETS),
    st.tuples(st.just("sparse"), NAMES, st.integers(0, 4096)),
)
# Some of the kit and some noise, in any order.
MEMBERS = st.tuples(
    st.lists(st.sampled_from(KIT), unique=True, max_size=5), st.lists(NOISE, max_size=3)
).flatmap(lambda kit_noise: st.permutations(kit_noise[0] + kit_noise[1]))


def archive_of(path: Path, items: list[tuple[str, str, object]], manifest_at: int) -> Path:
    """A tar.gz of `items` with a manifest that lists every file, link and sparse file."""
    doc: dict[str, object] = {"schema": SCHEMA, "files": {}, "links": {}, "sparse": {}}
    out: list[Member] = []
    for kind, name, value in items:
        if kind == "file" and isinstance(value, bytes):
            doc["files"][name] = hashlib.sha256(value).hexdigest()  # type: ignore[index]
            out.append(entry(name, value))
        elif kind == "sparse":
            doc["sparse"][name] = value  # type: ignore[index]
            out.append(entry(name, b""))
        elif kind == "link":
            doc["links"][name] = value  # type: ignore[index]
            out.append(link(name, str(value)))
        else:
            out.append(entry(name, kind=tarfile.DIRTYPE))
    out.insert(min(manifest_at, len(out)), entry("manifest.json", json.dumps(doc).encode()))
    return write(path, out)


@settings(max_examples=250, deadline=None)
@given(items=MEMBERS, manifest_at=st.integers(0, 10))
def test_no_order_of_members_reaches_outside(
    items: list[tuple[str, str, object]], manifest_at: int
) -> None:
    """Whatever files, directories, links (up, to `.`, over the manifest, named like later
    directories) and sparse files come in whatever order: the capture opens or is refused,
    nothing outside its temp dir changes, and everything in it resolves inside it."""
    with tempfile.TemporaryDirectory() as name:
        sandbox = Path(name)
        (sandbox / "victim").write_text("precious\n")
        private = sandbox / "private"
        private.mkdir()
        hostile = archive_of(sandbox / "h.tar.gz", items, manifest_at)
        before = tree_state(sandbox, private)
        with (
            mock.patch.dict(os.environ, {"TMPDIR": str(private)}),
            mock.patch.object(tempfile, "tempdir", str(private)),
        ):
            try:
                with open_capture(hostile) as root:
                    event("opened")
                    for dirpath, dirnames, filenames in os.walk(root):
                        for entry_name in [*dirnames, *filenames]:
                            real = os.path.realpath(Path(dirpath) / entry_name)
                            assert real == str(root) or real.startswith(f"{root}/"), real
                    assert tree_state(sandbox, private) == before
            except CaptureError as exc:
                why = exc.message.partition(": not a usable capture: ")[2]
                event("refused: " + re.sub(r"'[^']*'|^\S+:|\d+", "N", why))
        assert tree_state(sandbox, private) == before
        assert list(private.iterdir()) == []
