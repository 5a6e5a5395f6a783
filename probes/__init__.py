"""Workbench's own probes: pure reads of a Host, registered as `workbench.probes` entry points."""
