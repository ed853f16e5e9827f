"""Problem settings: what is estimated and how the synthetic data are made.

They come from defaults, a YAML file (``--config``) or code, and are validated by
pydantic so that a typo names the bad key instead of being silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from biobench.errors import ConfigError

Scale = Literal["log10", "log", "lin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoiseSettings(_Strict):
    """Gaussian measurement noise, sigma = relative * |y| + absolute."""

    relative: float = Field(0.1, ge=0)
    # None: 1% of the largest |y| of each observable, so the floor follows the observable's units.
    absolute: float | None = Field(None, gt=0)


class TimeSettings(_Strict):
    """Measurement time points: explicit, or ``n`` points evenly spread over [0, end].

    With ``end: auto``, ``n`` is a minimum: an oscillating model gets enough points per period
    (see ``biobench.time_grid``).
    """

    end: float | Literal["auto"] = "auto"
    n: int = Field(51, ge=2, le=100_000)
    points: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> TimeSettings:
        if self.end != "auto" and self.end <= 0:
            raise ValueError("end must be positive (or 'auto')")
        if self.points is not None:
            if len(self.points) < 1 or any(t < 0 for t in self.points):
                raise ValueError("points must be a non-empty list of non-negative times")
            if sorted(self.points) != list(self.points) or len(set(self.points)) != len(self.points):
                raise ValueError("points must be strictly increasing")
        return self


class IntegratorSettings(_Strict):
    """CVODE tolerances; tight relative tolerance keeps finite-difference gradients meaningful."""

    relative_tolerance: float = Field(1e-8, gt=0, lt=1)
    absolute_tolerance: float | None = Field(None, gt=0)
    maximum_num_steps: int = Field(20_000, ge=100)
    # a simulation the stiff (BDF) method cannot finish is run once more with the non-stiff (Adams) one
    # (biobench.simulator.Simulator._nonstiff_retry); false: it fails, as in AMICI or pyPESTO
    retry_non_stiff: bool = True


class ProblemSettings(_Strict):
    """Everything that, with the model file, defines a synthetic estimation problem."""

    parameters: list[str] | None = None  # None: every estimable parameter
    exclude: list[str] = []
    scale: Scale = "log10"
    bounds_factor: float = Field(100.0, gt=1)  # bounds = nominal / factor .. nominal * factor
    bounds: dict[str, tuple[float, float]] = {}  # natural-scale overrides per parameter
    observables: list[str] | None = None  # None: every floating species
    time: TimeSettings = TimeSettings()
    noise: NoiseSettings = NoiseSettings()
    integrator: IntegratorSettings = IntegratorSettings()
    seed: int = Field(0, ge=0)


def describe_validation_error(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}' (remove it or check its spelling)")
        else:
            lines.append(f"'{key}': {err['msg']}")
    return f"{origin}: " + "; ".join(lines)


def parse_settings(data: object, origin: str, cls: type[BaseModel] = ProblemSettings) -> BaseModel:
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with errors that name the file and the line."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values.")
    return data


class RunSettings(_Strict):
    """A ``--config`` file for ``biobench run``: problem settings plus run defaults."""

    problem: ProblemSettings = ProblemSettings()
    starts: int = Field(10, ge=1)
    budget: int = Field(1000, ge=1)  # objective evaluations per start
    seed: int = Field(0, ge=0)
    # seconds per start, as in bench configs: a start still running then ends after its current evaluation
    time_limit: float | None = Field(None, gt=0)
    engine: str = "roadrunner"  # the simulator (biobench.engines); --engine overrides it
    options: dict[str, dict[str, Any]] = {}  # method name -> its options, e.g. {"bo": {"max_evals": 50}}


def load_run_settings(path: str | Path | None) -> RunSettings:
    if path is None:
        return RunSettings()
    return parse_settings(read_yaml(path), str(path), RunSettings)
