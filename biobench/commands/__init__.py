"""The command line (``biobench ...``): one module per group of commands, shared options in ``options``."""

from biobench.commands.main import main

__all__ = ["main"]
