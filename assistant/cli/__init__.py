"""The ``assistant`` command line."""
