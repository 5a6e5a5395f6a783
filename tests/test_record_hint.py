"""What a recorded machine says about what it does not hold (`not_recorded` in its manifest)."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.core.host import Host
from workbench.core.report import CAPTURE_HINT, not_recorded, unreadable


def _root(tmp_path: Path, said: object) -> Host:
    (tmp_path / "manifest.json").write_text(json.dumps({"not_recorded": said}))
    return Host(tmp_path)


def test_the_longest_path_that_holds_it_says_why(tmp_path: Path) -> None:
    """The entry of the deepest path that is, or holds, the one asked for is the one said."""
    host = _root(tmp_path, {"sys": "not in this sosreport: needs sys", "sys/module": "needs lsmod"})
    assert host.record_hint("sys/module/kvm/parameters/nested") == "needs lsmod"
    assert host.record_hint("/sys/kernel/iommu_groups") == "not in this sosreport: needs sys"
    assert host.record_hint("proc/cmdline") is None


def test_a_skip_says_the_machine_s_own_hint(tmp_path: Path) -> None:
    """not_recorded and unreadable("missing") use the manifest's words when it has them."""
    host = _root(tmp_path, {"dev/kvm": "not in this sosreport: needs the /dev listing (block)"})
    assert not_recorded("dev/kvm", host=host).summary == (
        "dev/kvm not in this sosreport: needs the /dev listing (block)"
    )
    assert unreadable("dev/kvm", "missing", live=False, host=host).summary.startswith(
        "dev/kvm not in this sosreport"
    )
    assert CAPTURE_HINT in not_recorded("proc/cmdline", host=host).summary


def test_a_hostile_not_recorded_is_ignored_or_cut(tmp_path: Path) -> None:
    """A manifest whose not_recorded is not an object, or holds non-text, gives no hint; a long
    one is cut."""
    assert _root(tmp_path, ["dev/kvm"]).record_hint("dev/kvm") is None
    assert _root(tmp_path, {"dev/kvm": 7}).record_hint("dev/kvm") is None
    assert len(_root(tmp_path, {"dev/kvm": "x" * 5000}).record_hint("dev/kvm") or "") == 300


def test_the_live_machine_has_no_hint() -> None:
    """On the live machine nothing is 'not recorded'."""
    assert Host("/").record_hint("dev/kvm") is None
