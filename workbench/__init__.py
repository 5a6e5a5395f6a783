"""Workbench: diagnose Linux hosts that run VMs with GPU passthrough."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`workbench.diagnose`, `.vms`, `.logs`, `.explain_logs`: loaded on first use, so `import
    workbench` (and the CLI) stays light. (`workbench.explain` is the catalogue's package.)"""
    if name in ("diagnose", "vms", "explain_logs"):
        from workbench import api

        return getattr(api, name)
    if name in ("logs", "fleet"):  # engines' packages, callable: `workbench.logs(path)`
        import importlib

        return importlib.import_module(f"workbench.{name}")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
