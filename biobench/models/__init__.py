"""Where SBML comes from (BioModels, the cache, offline copies, local files) and what it holds."""

from biobench.models.ids import normalize_model_id
from biobench.models.model import Model, load_model
from biobench.models.resolve import fetch_model, resolve_model

__all__ = ["Model", "fetch_model", "load_model", "normalize_model_id", "resolve_model"]
