"""Errors a user can act on.

Everything raised for bad input derives from ``BiobenchError``; the CLI prints its
message (which names the input at fault and the way out) instead of a traceback.
"""

from __future__ import annotations


def first_line(exc: BaseException, default: str = "") -> str:
    """The first line of a library's error message (C++ libraries append traces and hints)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (default or type(exc).__name__)


class BiobenchError(Exception):
    """Base class of errors caused by input the user can fix."""


class InvalidModelIdError(BiobenchError):
    """A string that is not a BioModels identifier."""


class FetchError(BiobenchError):
    """BioModels answered, but not with a usable model."""


class ModelNotFoundError(FetchError):
    """BioModels has no entry with this identifier."""


class BioModelsUnreachableError(FetchError):
    """BioModels could not be reached (network down, time-out, persistent 5xx)."""


class NotSbmlError(FetchError):
    """A downloaded or local file is not an SBML document."""


class ModelError(BiobenchError):
    """An SBML model that cannot be read, validated or simulated."""


class ConfigError(BiobenchError):
    """A configuration file or option with a bad key or value."""


class ProblemError(BiobenchError):
    """A model that cannot be turned into an estimation problem."""


class PluginError(BiobenchError):
    """An unknown or misbehaving initializer or optimizer plugin."""


class StoreError(BiobenchError):
    """A results store that cannot be opened or written."""


class ExecutorError(BiobenchError):
    """A worker or cluster failed; finished starts are stored and a rerun continues."""
