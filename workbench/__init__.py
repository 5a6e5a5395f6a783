"""Workbench: diagnose Linux hosts that run VMs with GPU passthrough."""

__version__ = "0.1.0"
