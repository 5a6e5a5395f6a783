"""The log engine: index, read, follow and filter JSON-lines files of any size (no UI code)."""
