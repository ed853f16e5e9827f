"""Parameter priors of a PEtab problem: with them the objective is the negative log-posterior.

PEtab v1's eight prior types, read as pyPESTO and Data2Dynamics read them: ``uniform``,
``normal`` and ``laplace`` are densities of the natural value theta; ``logNormal`` and
``logLaplace`` are densities of theta whose logarithm is normal or Laplace (so
``-log p`` carries ``+ln theta``); the ``parameterScale*`` types are densities of the value
on the parameter's estimation scale. Priors are not truncated at the bounds: the bounds
confine the search, they do not renormalize the prior. (petab 0.8's
``Prior.neglogprior`` differs in one place: it evaluates ``parameterScale*`` priors as
densities of theta, which adds ``log(theta ln 10)``; the spec and pyPESTO do not.)

The evaluation is written here, vectorized, because the objective adds it on every
evaluation; the tests check it against petab's own distributions. Like the likelihood,
it has a least-squares form: ``0.5 * sum(residuals**2) + constant`` is its value, so
least-squares optimizers see the posterior, not only the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biobench.errors import ProblemError

PRIOR_TYPES = ("uniform", "normal", "laplace", "logNormal", "logLaplace", "parameterScaleUniform",
               "parameterScaleNormal", "parameterScaleLaplace")
# Least-squares form of a term that is not a square (ln theta of the log-types): 0.5 * s^2 = term + offset.
_LOG_OFFSET = 750.0


@dataclass(frozen=True)
class PriorSpec:
    """One parameter's prior as the parameter table gives it."""

    kind: str  # one of PRIOR_TYPES
    parameters: tuple[float, float]

    def describe(self) -> str:
        return f"{self.kind}({self.parameters[0]:g}, {self.parameters[1]:g})"


def _empty(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def parse_prior(kind, parameters, where: str, default: tuple[float, float] | None = None) -> PriorSpec | None:
    """A table's ``*PriorType`` and ``*PriorParameters`` entries; None when no prior is given.

    Empty parameters are ``default``: PEtab v1's "lowerBound;upperBound" (on the parameter scale for the
    parameterScale* types), which the caller passes."""
    if _empty(kind):
        return None
    kind = str(kind).strip()
    if kind not in PRIOR_TYPES:
        raise ProblemError(f"{where}: unknown prior type {kind!r}; PEtab v1 knows {', '.join(PRIOR_TYPES)}.")
    if _empty(parameters) and default is not None:
        parameters = f"{default[0]!r};{default[1]!r}"
    try:
        a, b = (float(v) for v in str(parameters).split(";"))
    except ValueError:
        raise ProblemError(f"{where}: prior parameters {parameters!r} are not two numbers 'a;b' "
                           f"(for {kind}: {'lower;upper' if kind.endswith('niform') else 'location;scale'}).") from None
    if kind.endswith("niform") and not a < b:
        raise ProblemError(f"{where}: a {kind} prior needs lower < upper, got {a:g};{b:g}.")
    if not kind.endswith("niform") and not b > 0:
        raise ProblemError(f"{where}: a {kind} prior needs a positive scale, got {b:g}.")
    return PriorSpec(kind, (a, b))


class ObjectivePrior:
    """The negative log-prior of the estimated parameters that have one, at scaled ``x``."""

    def __init__(self, specs: tuple[PriorSpec | None, ...], scales: tuple[str, ...]) -> None:
        chosen = [(i, spec) for i, spec in enumerate(specs) if spec is not None]
        self.index = np.array([i for i, _ in chosen], dtype=int)
        kinds = [spec.kind for _, spec in chosen]
        self._a = np.array([spec.parameters[0] for _, spec in chosen], dtype=float)
        self._b = np.array([spec.parameters[1] for _, spec in chosen], dtype=float)
        self._on_scale = np.array([k.startswith("parameterScale") for k in kinds], dtype=bool)
        self._log_type = np.array([k in ("logNormal", "logLaplace") for k in kinds], dtype=bool)
        self._normal = np.array([k.lower().endswith("normal") for k in kinds], dtype=bool)
        self._laplace = np.array([k.lower().endswith("laplace") for k in kinds], dtype=bool)
        self._uniform = ~(self._normal | self._laplace)
        log_width = np.log(np.where(self._uniform, self._b - self._a, 1.0))
        constant = np.where(self._normal, np.log(self._b * math.sqrt(2.0 * math.pi)),
                            np.where(self._laplace, np.log(2.0 * self._b), log_width))
        self.constant = float(constant.sum() - _LOG_OFFSET * self._log_type.sum())
        self.n_residuals = int(len(chosen) + self._log_type.sum())

    def residuals(self, x: np.ndarray, x_natural: np.ndarray) -> np.ndarray:
        """Terms whose ``0.5 * sum(r**2) + constant`` is the negative log-prior (inf outside a uniform's support)."""
        natural = x_natural[self.index]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_natural = np.log(natural)
            value = np.where(self._on_scale, x[self.index], np.where(self._log_type, log_natural, natural))
            z = (value - self._a) / self._b
            out = np.where(self._normal, z, np.sign(z) * np.sqrt(2.0 * np.abs(z)))
            outside = self._uniform & ((value < self._a) | (value > self._b))
            out = np.where(self._uniform, np.where(outside, np.inf, 0.0), out)
            jacobian = np.sqrt(2.0 * (log_natural[self._log_type] + _LOG_OFFSET))
        return np.concatenate([out, jacobian])

    def __call__(self, x: np.ndarray, x_natural: np.ndarray) -> float:
        r = self.residuals(x, x_natural)
        return 0.5 * float(r @ r) + self.constant
