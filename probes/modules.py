"""Which kernel modules are loaded, when the machine says so."""

from __future__ import annotations

from workbench.core.host import Host

MODULES = "sys/module"


def loaded_modules(host: Host) -> list[str] | None:
    """The names under /sys/module; None when a recorded machine says its module list is not
    recorded (a sosreport without `lsmod` may still hold some parameter directories: a partial
    list, from which "not loaded" must never be read)."""
    if not host.live and host.record_hint(MODULES) is not None:
        return None
    return host.listdir(MODULES)


def module_loaded(host: Host, name: str) -> bool | None:
    """Whether module `name` is loaded; None when not known. Parameters under /sys/module/NAME
    appear only while it is loaded (or built in), so they say yes even without a list."""
    modules = loaded_modules(host)
    if modules is not None and (modules or host.live):
        return name in modules
    return True if host.is_dir(f"{MODULES}/{name}/parameters") else None
