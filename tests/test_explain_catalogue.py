"""The cause catalogue loads and validates; every pattern can be reached through its literals;
no pattern (nor a facts regex) is catastrophic on adversarial lines; facts from lines and from
a machine decide between the candidates of an ambiguous line."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.test_explain_cases import CASES
from tests.test_explain_patterns import CAUSE_LINES
from workbench.core.errors import ConfigError
from workbench.core.host import Host
from workbench.explain import facts as facts_module
from workbench.explain.catalogue import ascii_lower, catalogue, load
from workbench.explain.lines import message
from workbench.explain.matcher import Matcher, explain_text

CAT = catalogue()


def test_catalogue_loads_with_every_field() -> None:
    """Every cause has a title, a remedy, a severity and public https references."""
    assert len(CAT.causes) >= 39
    for cause in CAT.causes.values():
        assert cause.title and cause.remedy and cause.severity in ("info", "warn", "fail")
        assert all(ref.startswith("https://") for ref in cause.references), cause.code
        assert len(set(cause.references)) == len(cause.references), cause.code
        assert cause.benign == (cause.severity == "info"), cause.code


def test_every_cause_is_shown_by_something() -> None:
    """Every cause has a pattern, an ambiguous line naming it, or a check that shows it."""
    shown = {code for p in CAT.patterns for code, _ in p.causes}
    checked = {c.code for c in CAT.causes.values() if c.checks}
    assert set(CAT.causes) - shown - checked == set()


def test_literals_are_prefilter_ready() -> None:
    """Every literal is lowercased as the prefilter lowercases lines (ASCII only)."""
    for lit in CAT.by_literal:
        assert lit == ascii_lower(lit)
        assert lit.strip() == lit or len(lit.strip()) >= 3


def _lines() -> list[str]:
    texts = [text for _, text in CAUSE_LINES] + [case["log"] for case in CASES]
    return [line for text in texts for line in text.splitlines()]


def test_every_pattern_is_reachable() -> None:
    """Each pattern matches a line of the tables that also holds one of its literals (a
    pattern whose literals never come with its regex could never fire)."""
    reached: set[int] = set()
    for line in _lines():
        low, text = ascii_lower(line), message(line)
        for index, pattern in enumerate(CAT.patterns):
            if any(lit in low for lit in pattern.literals) and pattern.regex.search(text):
                reached.add(index)
    missing = [
        CAT.patterns[i].regex.pattern[:80] for i in range(len(CAT.patterns)) if i not in reached
    ]
    assert missing == []


def _adversarial(literals: tuple[str, ...]) -> list[str]:
    size = 100_000
    lines = [" " * size, "0" * size, "a" * size, "0000:" * (size // 5), "'" * size]
    lines += ["0000:01:00.0: " * (size // 14), "/dev/vfio/" + "1" * size, "-" * size + "x"]
    for lit in literals:
        lines.append((lit + " ") * (size // (len(lit) + 1)))
        lines.append(lit + " " + "a" * size)
        lines.append(lit + "'/" + "x" * size)
    return lines


def _assert_fast(regex: re.Pattern[str], lines: list[str], limit: float = 0.5) -> None:
    for line in lines:
        start = time.perf_counter()
        regex.search(line)
        took = time.perf_counter() - start
        assert took < limit, (regex.pattern[:80], line[:40], took)


@pytest.mark.parametrize("index", range(len(CAT.patterns)))
def test_pattern_is_not_catastrophic(index: int) -> None:
    """A pattern searched in adversarial 100 kB lines finishes well under half a second."""
    pattern = CAT.patterns[index]
    _assert_fast(pattern.regex, _adversarial(pattern.literals))


@pytest.mark.parametrize(
    "name", [n for n in dir(facts_module) if isinstance(getattr(facts_module, n), re.Pattern)]
)
def test_facts_regex_is_not_catastrophic(name: str) -> None:
    """The facts' regexes are linear on adversarial 100 kB lines too."""
    _assert_fast(getattr(facts_module, name), _adversarial(facts_module.LITERALS[:6]))


@pytest.mark.parametrize(
    "index", [i for i, p in enumerate(CAT.patterns) if "KvmNew" in p.regex.pattern]
)
def test_prefix_then_span_patterns_are_linear(index: int) -> None:
    """An 8 kB line of repeated `KvmNew(` (each a start of a 200-character span) costs no
    more than a few spans: under 5 ms, best of three (the quadratic form took ~15 ms)."""
    regex = CAT.patterns[index].regex
    line = "KvmNew(" * 1170
    took = []
    for _ in range(3):
        start = time.perf_counter()
        regex.search(line)
        took.append(time.perf_counter() - start)
    assert min(took) < 0.005


def test_matcher_on_a_long_line_is_bounded() -> None:
    """A 5 MB line full of literals is explained in bounded time."""
    line = "vfio-pci 0000:01:00.0: BAR 1: can't reserve " * 110_000
    start = time.perf_counter()
    explain_text(line)
    assert time.perf_counter() - start < 2.0


BASE = """
[[cause]]
code = "A_CAUSE"
title = "t"
severity = "fail"
remedy = "r"
  [[cause.pattern]]
  literals = ["abc"]
  regex = '''abc'''
"""


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (
            '[[cause]]\ncode = "A_CAUSE"\ntitle = "t"\nseverity = "fail"\nremedy = "r"\n',
            "duplicate",
        ),
        ('  [[cause.check]]\n  name = "no_such_check"\n  weight = 0.5\n', "no check named"),
        ("  [[cause.pattern]]\n  literals = [\"abc\"]\n  regex = '''(abc'''\n", "regex"),
        ('  [[cause.pattern]]\n  literals = ["ab"]\n  regex = "abc"\n', "literals"),
        ('  [[cause.pattern]]\n  literals = ["\u00c9chec"]\n  regex = "abc"\n', "lower case"),
        (
            "  [[cause.pattern]]\n  literals = [\"abc\"]\n  regex = '''(?P<colour>abc)'''\n",
            "subject",
        ),
        ('  [[cause.pattern]]\n  literals = ["abc"]\n  regex = "abc"\n  weight = 1.5\n', "weight"),
        (
            '[[ambiguous]]\nliterals = ["abc"]\nregex = "abc"\ncandidates = { A_CAUSE = 0.5, B = 0.5 }\n',
            "B",
        ),
    ],
)
def test_invalid_catalogue_is_refused(extra: str, why: str) -> None:
    """A catalogue with a duplicate code, unknown check, bad regex, short or uppercase
    non-ASCII literal, unknown subject key, bad weight or unknown candidate is refused."""
    with pytest.raises(ConfigError) as info:
        load(BASE + extra)
    assert info.value.code == "CATALOGUE_INVALID"
    assert why in str(info.value)


# --- facts ---------------------------------------------------------------------------------


def test_kernel_driver_lines_are_facts() -> None:
    """`DRIVER 0000:bb:dd.f:` kernel lines tell which driver holds which device, the latest
    line winning."""
    matcher = Matcher()
    matcher.feed_text(
        "[ 1.0] nvidia 0000:01:00.0: enabling device (0000 -> 0003)\n"
        "[ 2.0] NVRM: GPU 0000:02:00.0: RmInitAdapter failed! (0x22:0x56:667)\n"
        "Nov 29 08:00:01 host kernel: snd_hda_intel 0000:01:00.1: Disabling MSI\n"
        "[ 9.0] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console\n"
    )
    drivers = {bdf: d.driver for bdf, d in matcher.facts.devices.items()}
    assert drivers == {
        "0000:01:00.0": "vfio-pci",
        "0000:01:00.1": "snd_hda_intel",
        "0000:02:00.0": "nvidia",
    }


def test_header_127_with_a_host_driver_is_host_driver_bound() -> None:
    """Header type 127 with the GPU's own nvidia lines: the host driver first; without them
    the dead device first."""
    line = "error: internal error: Unknown PCI header type '127' for device '0000:01:00.0'"
    held = explain_text(
        line + "\n[ 3.0] nvidia 0000:01:00.0: not ready 1023ms after resume; waiting"
    )
    bare = explain_text(line)
    assert [m.code for m in held.causes][:2] == [
        "HOST_DRIVER_BOUND",
        "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE",
    ]
    assert [m.code for m in bare.causes][:2] == [
        "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE",
        "HOST_DRIVER_BOUND",
    ]


def test_check_evidence_joins_the_cause() -> None:
    """The lspci lines that decided a cause are in its evidence."""
    text = (
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation [10de:2484]\n"
        "\tKernel driver in use: nvidia\n"
        "vfio 0000:01:00.0: group 1 is not viable\n"
    )
    first = explain_text(text).causes[0]
    assert first.code == "HOST_DRIVER_BOUND"
    assert {e.line for e in first.evidence} == {1, 2, 3}
    assert first.subject["driver"] == "nvidia"


def _machine(make_root: Callable[..., Path], **changes: Any) -> Host:
    return Host(make_root("demo-workstation", **changes))


def test_machine_facts_join(make_root: Callable[..., Path]) -> None:
    """A machine root gives drivers, groups, hugepages, CPU flags and vfio_iommu_type1's
    allow_unsafe_interrupts."""
    matcher = Matcher()
    matcher.feed_host(
        _machine(make_root, module_params={"vfio_iommu_type1": {"allow_unsafe_interrupts": "N"}})
    )
    facts = matcher.facts
    assert facts.devices["0000:00:02.0"].driver == "i915"
    assert facts.devices["0000:00:02.0"].group == 2
    assert facts.hugepages == {2048: (0, 0), 1048576: (16, 0)}
    assert facts.cpu_flags is not None and "vmx" in facts.cpu_flags
    assert facts.unsafe_interrupts is False
    assert facts.iommu_groups and facts.iommu_groups > 0


def test_machine_hugepages_rank_backing_store(make_root: Callable[..., Path]) -> None:
    """`unable to map backing store`: reserved hugepages on the machine put 'too few' first,
    none reserved put 'not reserved' first."""
    line = "qemu-system-x86_64: unable to map backing store for guest RAM: Cannot allocate memory"
    some = explain_text(line, _machine(make_root))
    none = explain_text(line, _machine(make_root, hugepages={"2048": {"nr": 0, "free": 0}}))
    assert some.causes[0].code == "HUGEPAGES_INSUFFICIENT"
    assert none.causes[0].code == "HUGEPAGES_NOT_RESERVED"


def test_machine_without_facts_decides_nothing(make_root: Callable[..., Path]) -> None:
    """A fact that was not recorded (no hugepages directory, no cpuinfo) ranks nothing."""
    root = make_root("demo-workstation", hugepages={})
    (root / "proc/cpuinfo").unlink()
    matcher = Matcher()
    matcher.feed_host(Host(root))
    assert matcher.facts.cpu_flags is None
    line = "Could not access KVM kernel module: No such file or directory"
    assert [m.confidence for m in explain_text(line, Host(root)).causes] == [
        m.confidence for m in explain_text(line).causes
    ]


def test_machine_device_state(make_root: Callable[..., Path]) -> None:
    """A GPU whose config space reads all ones is a dead device even without a line; one in
    D3cold supports the D3cold cause of a line."""
    root = make_root("demo-workstation")
    gpu = next(p for p in (root / "sys/devices").rglob("0000:01:00.0") if p.is_dir())
    (gpu / "config").write_bytes(b"\xff" * 256)
    assert explain_text("", Host(root)).causes[0].code == "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"
    (gpu / "config").write_bytes(b"\xde\x10" + b"\x00" * 254)
    (gpu / "power_state").write_text("D3cold\n")
    line = (
        "vfio-pci 0000:01:00.0: Unable to change power state from D3cold to D0, device inaccessible"
    )
    with_state = explain_text(line, Host(root)).causes[0]
    assert with_state.code == "D3COLD_POWER_STATE"
    assert with_state.confidence > explain_text(line).causes[0].confidence


def test_bootfb_in_machine_iomem(make_root: Callable[..., Path]) -> None:
    """BOOTFB inside a GPU's range in the machine's /proc/iomem shows the cause on its own."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(
        "c0000000-cfffffff : PCI Bus 0000:01\n"
        "  c0000000-cfffffff : 0000:01:00.0\n"
        "    c0000000-c07e8fff : BOOTFB\n"
    )
    first = explain_text("", Host(root)).causes[0]
    assert (first.code, first.subject["bdf"]) == ("BOOT_FB_HOLDS_BAR", "0000:01:00.0")
    assert {e.source for e in first.evidence} == {"/proc/iomem"}


ZEROED_IOMEM = (
    "00000000-00000000 : PCI Bus 0000:01\n"
    "  00000000-00000000 : 0000:01:00.0\n"
    "    00000000-00000000 : BOOTFB\n"
)


def test_zeroed_machine_iomem_claims_no_bootfb(make_root: Callable[..., Path]) -> None:
    """/proc/iomem read without root (all addresses 0) puts no BOOTFB in any BAR: no cause."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(ZEROED_IOMEM)
    codes = [m.code for m in explain_text("", Host(root)).causes]
    assert "BOOT_FB_HOLDS_BAR" not in codes and "BAR_RESERVED_BY_OTHER" not in codes


def test_zeroed_pasted_iomem_claims_no_bootfb() -> None:
    """A pasted non-root /proc/iomem (zeros) beside a BAR line adds no framebuffer fact."""
    line = "vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]"
    with_paste = explain_text(ZEROED_IOMEM + line)
    alone = explain_text(line)
    assert [(m.code, m.confidence) for m in with_paste.causes] == [
        (m.code, m.confidence) for m in alone.causes
    ]


def test_facts_are_capped() -> None:
    """A paste of 5,000 BDFs and 5,000 ranges keeps 4,096 of each and counts the rest."""
    from workbench.explain.facts import MAX_DEVICES, MAX_IOMEM

    devices = "".join(
        f"vfio-pci 0000:{i // 256:02x}:{i // 8 % 32:02x}.{i % 8}: ok\n" for i in range(8192)
    )
    ranges = "".join(f"{i + 1:08x}-{i + 2:08x} : 0000:01:00.0\n" for i in range(5000))
    matcher = Matcher()
    matcher.feed_text(devices + ranges)
    facts = matcher.facts
    assert len(facts.devices) == MAX_DEVICES and facts.devices_dropped > 0
    assert len(facts.iomem) == MAX_IOMEM and facts.iomem_dropped == 5000 - MAX_IOMEM


def test_many_framebuffers_and_ranges_are_fast() -> None:
    """5,000 BOOTFB and 5,000 BDF ranges (a 281 kB paste that took 4.4 s) explain quickly."""
    lines = [f"{i * 0x10000:08x}-{i * 0x10000 + 0xFFF:08x} : 0000:01:00.0" for i in range(1, 5001)]
    lines += [
        f"  {0x60000000 + i * 0x1000:08x}-{0x60000000 + i * 0x1000 + 0x7FF:08x} : BOOTFB"
        for i in range(5000)
    ]
    line = "vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]"
    start = time.perf_counter()
    explain_text("\n".join(lines) + "\n" + line)
    assert time.perf_counter() - start < 2.0


def test_group_check_on_many_gpus_is_linear() -> None:
    """4,000 pasted GPUs and `group 1 is not viable`: the group-member check looks each GPU's
    slot and group up (linear), not every device for every GPU (16 M pairs)."""
    lines = [
        f"{i // 32:02x}:{i % 32:02x}.0 VGA compatible controller [0300]: "
        "NVIDIA Corporation [10de:2484]"
        for i in range(4000)
    ]  # each alone in its slot, each on nvidia: the pairwise form took 5 s
    lines += [f"nvidia 0000:{i // 32:02x}:{i % 32:02x}.0: enabling device" for i in range(4000)]
    start = time.perf_counter()
    explain_text("\n".join(lines) + "\nvfio: error, group 1 is not viable")
    assert time.perf_counter() - start < 1.0


# --- the matcher's cost -------------------------------------------------------------------


def test_fast_reject_agrees_with_the_literals() -> None:
    """The trie regex that rejects lines finds a literal exactly when one is in the line."""
    from tests.test_explain_patterns import NO_CAUSE_LINES

    matcher = Matcher()
    samples = _lines() + NO_CAUSE_LINES + [f"xx {lit} yy" for lit in matcher.literals]
    samples += [lit[:-1] for lit in matcher.literals]  # near misses
    for line in samples:
        low = line.lower()
        assert bool(matcher._any_literal.search(low)) == any(lit in low for lit in matcher.literals)


def test_repeated_messages_are_matched_once_and_memory_stays_bounded() -> None:
    """A message repeated under other timestamps is matched once (its lines are all evidence);
    the memo of messages never grows past its bound."""
    from workbench.explain import matcher as matcher_module

    matcher = Matcher()
    matcher.feed_text(
        "[ 1.0] vfio-pci 0000:0c:00.0: Refused to change power state, currently in D3\n"
        "[ 2.0] vfio-pci 0000:0c:00.0: Refused to change power state, currently in D3\n"
    )
    assert [e.line for e in matcher.result().causes[0].evidence] == [1, 2]
    assert len(matcher._memo) == 1
    distinct = "".join(
        f"vfio-pci 0000:0c:00.0: Refused to change power state, currently in D{i}\n"
        for i in range(matcher_module.MEMO_SIZE + 10)
    )
    matcher.feed_text(distinct)
    assert len(matcher._memo) <= matcher_module.MEMO_SIZE


def _drivers_machine(make_root: Callable[..., Path], drivers: dict[str, str]) -> Host:
    from tests.conftest import load_facts

    facts = load_facts("demo-workstation")
    for dev in facts["devices"]:
        dev["driver"] = drivers.get(dev["bdf"], dev["driver"])
    return Host(make_root(facts))


@pytest.mark.parametrize(
    ("drivers", "first", "subject"),
    [
        ({"0000:01:00.1": "snd_hda_intel"}, "GROUP_MEMBER_NOT_VFIO", {"device": "0000:01:00.1"}),
        (
            {"0000:01:00.0": "nvidia"},
            "HOST_DRIVER_BOUND",
            {"bdf": "0000:01:00.0", "driver": "nvidia"},
        ),
    ],
)
def test_machine_decides_group_not_viable(
    make_root: Callable[..., Path], drivers: dict[str, str], first: str, subject: dict[str, str]
) -> None:
    """`group 1 is not viable` on a machine: the audio function on snd_hda_intel puts the
    group member first, the GPU on nvidia the host driver (the group's bridge never counts)."""
    line = "qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0: group 1 is not viable"
    cause = explain_text(line, _drivers_machine(make_root, drivers)).causes[0]
    assert cause.code == first
    assert {k: cause.subject.get(k) for k in subject} == subject


@pytest.mark.parametrize(
    ("flags", "first"),
    [
        ("fpu vme de pse tsc msr pae hypervisor sse sse2", "KVM_UNAVAILABLE_NO_NESTED"),
        ("fpu vme de pse tsc msr pae sse sse2", "KVM_DISABLED_BIOS"),
        ("fpu vme de pse tsc msr pae vmx sse sse2", "KVM_MODULE_NOT_LOADED"),
    ],
)
def test_machine_cpu_decides_no_kvm(make_root: Callable[..., Path], flags: str, first: str) -> None:
    """No /dev/kvm: a CPU under a hypervisor without vmx/svm puts missing nested virtualization
    first; bare metal without vmx the firmware (Linux >= 5.6 hides a disabled VT-x); bare metal
    with vmx the KVM module not loaded."""
    root = make_root("demo-workstation")
    (root / "proc/cpuinfo").write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    line = "Could not access KVM kernel module: No such file or directory"
    assert explain_text(line, Host(root)).causes[0].code == first


def test_machine_interrupt_remapping_off(make_root: Callable[..., Path]) -> None:
    """`intremap=off` on the machine's command line and allow_unsafe_interrupts off support
    the interrupt remapping cause of a line."""
    root = make_root(
        "demo-workstation",
        kernel_cmdline="BOOT_IMAGE=/vmlinuz ro intel_iommu=on intremap=off",
        module_params={"vfio_iommu_type1": {"allow_unsafe_interrupts": "N"}},
    )
    line = "vfio: failed to set iommu for container: Operation not permitted"
    with_machine = explain_text(line, Host(root)).causes[0]
    assert with_machine.code == "INTERRUPT_REMAPPING_MISSING"
    assert with_machine.confidence > explain_text(line).causes[0].confidence + 0.2
    assert any(e.source == "/proc/cmdline" for e in with_machine.evidence)


def test_catalogue_repetitions_are_bounded() -> None:
    """No catalogue regex repeats without bound (`+`, `*`): a bounded one cannot go quadratic
    on a long run of the repeated character."""
    unbounded = [
        p.regex.pattern[:80]
        for p in CAT.patterns
        if re.search(r"(?<!\\)[+*]", re.sub(r"\[[^\]]*\]", "", p.regex.pattern))
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    "listing",
    [
        # the Arch wiki's one-line listing
        "IOMMU Group 1 00:01.0 PCI bridge [0604]: Intel Corporation PCIe Controller (x16) "
        "[8086:1901] (rev 07)\n"
        "IOMMU Group 1 01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GM206 "
        "[GeForce GTX 960] [10de:1401] (rev a1)\n"
        "IOMMU Group 1 01:00.1 Audio device [0403]: NVIDIA Corporation Device [10de:0fba] (rev a1)\n",
        # a heading above indented lspci lines, and the kernel's own words
        "IOMMU group 1\n"
        "  01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GM206 [10de:1401]\n"
        "[    0.4] pci 0000:01:00.1: Adding to iommu group 1\n",
    ],
)
def test_pasted_group_listing_is_a_fact(listing: str) -> None:
    """IOMMU group listings and the kernel's `Adding to iommu group` give devices their group,
    so the HDMI audio on snd_hda_intel makes `group 1 is not viable` a group member's fault."""
    text = listing + (
        "[    3.1] snd_hda_intel 0000:01:00.1: Disabling MSI\n"
        "[    5.0] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console\n"
        "qemu-system-x86_64: -device vfio-pci,host=01:00.0: group 1 is not viable\n"
    )
    matcher = Matcher()
    matcher.feed_text(text)
    assert matcher.facts.devices["0000:01:00.1"].group == 1
    first = matcher.result().causes[0]
    assert (first.code, first.subject.get("device")) == ("GROUP_MEMBER_NOT_VFIO", "0000:01:00.1")


def test_other_devices_facts_do_not_decide() -> None:
    """A host driver on another GPU says nothing about the device a line names."""
    text = (
        "00:02.0 VGA compatible controller [0300]: Intel Corporation UHD Graphics [8086:3e92]\n"
        "\tKernel driver in use: i915\n"
        "error: internal error: Unknown PCI header type '127' for device '0000:0a:00.0'\n"
    )
    assert explain_text(text).causes[0].code == "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"


def test_bootfb_on_the_hosts_own_gpu_is_fine(make_root: Callable[..., Path]) -> None:
    """BOOTFB inside the iGPU the host itself drives (i915) is no cause."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(
        "a0000000-afffffff : 0000:00:02.0\n  a0000000-a07e8fff : BOOTFB\n"
    )
    assert explain_text("", Host(root)).causes == []
