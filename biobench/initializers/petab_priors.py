"""Starts drawn from a PEtab problem's initialization priors, with petab's own sampler.

PEtab's parameter table may say how starts are to be drawn (``initializationPriorType``,
``initializationPriorParameters``); where it says nothing, the default is uniform on the
scaled bounds (``parameterScaleUniform``), so on a synthetic problem this is the
``random`` design. petab truncates every draw to the bounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biobench.initializers.base import Initializer, initializers
from biobench.problem import Problem


def initialization_table(problem: Problem) -> pd.DataFrame:
    """The problem's estimated parameters as a PEtab parameter table, initialization priors included."""
    priors = problem.initialization_priors or (None,) * problem.n_parameters
    natural_lower, natural_upper = problem.to_natural(problem.lower), problem.to_natural(problem.upper)
    return pd.DataFrame({
        "parameterId": list(problem.parameter_ids),
        "parameterScale": list(problem.scales),
        "lowerBound": natural_lower,
        "upperBound": natural_upper,
        "nominalValue": problem.nominal,
        "estimate": 1,
        "initializationPriorType": [p.kind if p else "parameterScaleUniform" for p in priors],
        "initializationPriorParameters": [
            f"{p.parameters[0]!r};{p.parameters[1]!r}" if p else f"{lo!r};{up!r}"
            for p, lo, up in zip(priors, problem.lower.tolist(), problem.upper.tolist())
        ],
    }).set_index("parameterId")


@initializers.register("petab")
class PetabPriorInitializer(Initializer):
    description = "each parameter drawn from the PEtab table's initialization prior (petab's sampler)"
    space_filling = True  # uniform where the parameter table gives no initialization priors

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        from petab.v1.sampling import sample_parameter_startpoints

        # petab draws from numpy's global generator: seed it from ours, and leave it as it was.
        state = np.random.get_state()
        try:
            points = sample_parameter_startpoints(initialization_table(problem), n_starts=n_starts,
                                                  seed=int(rng.integers(2**32 - 1)))
        finally:
            np.random.set_state(state)
        # Truncation happens on the natural scale; rounding through 10**x can leave a draw an ulp outside.
        return np.clip(np.asarray(points, dtype=float).reshape(n_starts, problem.n_parameters),
                       problem.lower, problem.upper)
