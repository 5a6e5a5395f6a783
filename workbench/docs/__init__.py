"""Documents generated from the `workbench` parser: the man page and the shell completions."""
