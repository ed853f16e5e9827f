"""BioModels identifiers: normalise short forms, refuse anything else.

An identifier is validated before it is used to build a URL or a cache path, so a
string such as ``../../etc/passwd`` never reaches the file system or the network.
"""

from __future__ import annotations

import re

from biobench.errors import InvalidModelIdError

_ID = re.compile(r"^(BIOMD|MODEL)(\d{1,10})$", re.IGNORECASE)


def normalize_model_id(text: str) -> str:
    """Return the canonical 10-digit BioModels ID (``BIOMD12`` -> ``BIOMD0000000012``)."""
    match = _ID.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidModelIdError(
            f"{text!r} is not a BioModels identifier: expected BIOMD or MODEL followed by up to "
            "10 digits (e.g. BIOMD0000000012 or BIOMD12). For a local SBML file, pass its path."
        )
    prefix, digits = match.groups()
    if int(digits) == 0:
        raise InvalidModelIdError(f"{text!r} is not a BioModels identifier: the number must be positive.")
    return f"{prefix.upper()}{int(digits):010d}"


def looks_like_model_id(text: str) -> bool:
    """True when ``text`` has the shape of a BioModels ID (short or full)."""
    return bool(_ID.match(text.strip()))
