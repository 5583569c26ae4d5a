"""The ``numlite`` command and its tools."""
