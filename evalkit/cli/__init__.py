"""The `evalkit` command line: thin commands that parse flags, build a plan, call one
function."""

from evalkit.cli.main import main

__all__ = ["main"]
