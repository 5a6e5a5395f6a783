"""Captures: collect what the probes read into an archive, redact it, open it anywhere safely."""

SCHEMA = "workbench.capture/1"
