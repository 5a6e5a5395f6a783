"""Workbench: diagnose Linux hosts that run VMs with GPU passthrough."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`workbench.diagnose`, `.vms`, `.logs`: loaded on first use, so `import workbench` (and
    the CLI) stays light."""
    if name in ("diagnose", "vms"):
        from workbench import api

        return getattr(api, name)
    if name == "logs":  # the log engine's package, callable as `workbench.logs(path)`
        import importlib

        return importlib.import_module("workbench.logs")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
