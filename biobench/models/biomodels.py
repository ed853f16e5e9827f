"""A small client for the BioModels REST API.

Retries (429 and 5xx, with back-off, honouring Retry-After), redirects and
time-outs are urllib3's and requests' own; this module maps their outcomes onto
errors that tell the user what happened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from biobench.errors import BioModelsUnreachableError, FetchError, ModelNotFoundError
from biobench.models.ids import normalize_model_id
from biobench.models.sbml import check_sbml_bytes

DEFAULT_BASE_URL = "https://www.ebi.ac.uk/biomodels"
BASE_URL_ENV = "BIOBENCH_BIOMODELS_URL"
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Download:
    """A model file as BioModels served it."""

    model_id: str
    name: str
    filename: str
    url: str
    content: bytes


class BioModelsClient:
    """Fetches metadata and the main SBML file of a BioModels entry."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        retry = Retry(
            total=retries,
            connect=min(retries, 2),  # a missing network fails fast, not after minutes
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "biobench (parameter-estimation benchmark)"
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _get(self, url: str, model_id: str, what: str, **params: str) -> requests.Response:
        try:
            response = self.session.get(url, params=params or None, timeout=self.timeout, allow_redirects=True)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise BioModelsUnreachableError(
                f"BioModels could not be reached at {self.base_url} ({type(exc).__name__}). "
                f"Check the network or set {BASE_URL_ENV} to a mirror."
            ) from None
        except requests.exceptions.ChunkedEncodingError:
            raise FetchError(f"{model_id}: the {what} was cut off before the end (truncated body); try again.") from None
        except requests.RequestException as exc:
            raise FetchError(f"{model_id}: the {what} request failed: {exc}") from None
        if response.status_code == 404:
            raise ModelNotFoundError(f"{model_id}: there is no such BioModels entry ({what} answered 404).")
        if response.status_code in RETRY_STATUSES:
            raise BioModelsUnreachableError(
                f"{model_id}: BioModels kept answering HTTP {response.status_code} for the {what}; "
                "it may be down, try again later."
            )
        if response.status_code != 200:
            raise FetchError(f"{model_id}: BioModels answered HTTP {response.status_code} for the {what}.")
        return response

    def metadata(self, model_id: str) -> dict:
        """The entry's JSON metadata (name, files, ...)."""
        model_id = normalize_model_id(model_id)
        response = self._get(f"{self.base_url}/{model_id}", model_id, "metadata", format="json")
        try:
            meta = response.json()
        except ValueError:
            raise FetchError(f"{model_id}: BioModels metadata is not JSON (got {_content_type(response)}).") from None
        if not isinstance(meta, dict):
            raise FetchError(f"{model_id}: BioModels metadata has an unexpected shape.")
        return meta

    def main_filename(self, model_id: str, meta: dict) -> str:
        try:
            return meta["files"]["main"][0]["name"]
        except (KeyError, IndexError, TypeError):
            raise FetchError(f"{model_id}: BioModels metadata lists no main file (files.main is missing).") from None

    def download(self, model_id: str) -> Download:
        """The entry's main file, checked to be SBML."""
        model_id = normalize_model_id(model_id)
        meta = self.metadata(model_id)
        filename = self.main_filename(model_id, meta)
        url = f"{self.base_url}/model/download/{model_id}?filename={quote(filename, safe='')}"
        response = self._get(url, model_id, f"download of {filename!r}")
        check_sbml_bytes(response.content, f"{model_id} ({filename})")
        return Download(
            model_id=model_id,
            name=str(meta.get("name") or model_id),
            filename=filename,
            url=response.url,
            content=response.content,
        )


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "no content type")
