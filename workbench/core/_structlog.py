"""structlog, imported without rich.

structlog.dev imports rich, when installed, for pretty console tracebacks we never use: that
alone costs ~50 ms of every command's start-up. Hide rich while structlog first loads (a UI that
needs rich imports it afterwards as usual).
"""

import sys

if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]  # makes `import rich` raise ImportError
    try:
        import structlog
    finally:
        del sys.modules["rich"]
else:
    import structlog

__all__ = ["structlog"]
