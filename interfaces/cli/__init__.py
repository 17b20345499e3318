"""The `payments` command line: one module per sub-command."""
