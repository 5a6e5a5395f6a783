"""The engine below every front end: errors, logging, the machine root, probes and their runner."""

import sys


def _import_structlog_without_rich() -> None:
    """structlog.dev imports rich, when installed, for pretty console tracebacks we never use:
    that alone costs ~50 ms of every command's start-up. Hide rich while structlog first loads
    (a UI that needs rich imports it afterwards as usual)."""
    if "rich" in sys.modules or "structlog" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # makes `import rich` raise ImportError
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


_import_structlog_without_rich()
