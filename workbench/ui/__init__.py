"""The Textual workbench. Nothing below this package imports textual."""
