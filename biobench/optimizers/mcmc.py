"""MCMC with pymc: the objective as a black-box log-likelihood, gradient-free steps.

The likelihood is a pytensor Op that calls the counted objective, so every
evaluation of every chain is charged to the start's budget. Priors are uniform on the
scaled bounds. Chains start at the initializer's points and run one after another in
this process (``cores=1``), which keeps the count exact and the run deterministic.

The best sample is the run's result. When sampling finishes within the budget,
arviz's summary (mean, sd, R-hat, bulk ESS per parameter) goes into the record's
extras and the samples are saved as ``<artifacts>.npz`` beside the store.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from pydantic import Field

from biobench.atomic import atomic_write
from biobench.objective import BudgetExhausted, Objective
from biobench.optimizers.base import Optimizer, optimizers, seed_from
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions


@optimizers.register("mcmc")
class PymcSampler(Optimizer):
    description = "pymc MCMC on the black-box likelihood (DEMetropolisZ or Slice), uniform priors on the bounds"

    class Options(PluginOptions):
        chains: int = Field(4, ge=1)
        step: Literal["demetropolisz", "slice"] = "demetropolisz"
        tune_fraction: float = Field(0.5, ge=0, lt=1)

    def n_start_points(self) -> int:
        return self.settings.chains

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        import pymc as pm
        import pytensor.tensor as pt
        from pytensor.graph.op import Op

        chains = self.settings.chains

        class LogLikelihood(Op):
            itypes, otypes = [pt.dvector], [pt.dscalar]

            def perform(self, node, inputs, outputs) -> None:
                outputs[0][0] = np.asarray(-objective.fval(inputs[0]), dtype=float)

        # DEMetropolisZ spends one new evaluation per step and chain (the current point
        # is remembered by the objective); pymc adds a few per chain to check the initial
        # points. Slice updates one coordinate at a time, about five evaluations each.
        per_step = 1 if self.settings.step == "demetropolisz" else 5 * objective.dim
        remaining = objective.remaining if objective.remaining is not None else 2000 * chains
        steps = max(2, int((remaining - 3 * chains) // (chains * per_step)))
        tune = int(steps * self.settings.tune_fraction)
        draws = max(1, steps - tune)

        with pm.Model():
            theta = pm.Uniform("theta", lower=objective.lower, upper=objective.upper, shape=objective.dim)
            pm.Potential("loglike", LogLikelihood()(theta))
            step = pm.DEMetropolisZ() if self.settings.step == "demetropolisz" else pm.Slice()
            inside = (objective.lower + 1e-9 * (objective.upper - objective.lower),
                      objective.upper - 1e-9 * (objective.upper - objective.lower))
            initvals = [{"theta": np.clip(x, *inside)} for x in x0]
            pymc_log = logging.getLogger("pymc")
            level = pymc_log.level
            pymc_log.setLevel(logging.ERROR)  # no per-chain chatter inside a progress bar
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, step=step, initvals=initvals,
                                      random_seed=seed_from(rng), progressbar=False, compute_convergence_checks=False,
                                      return_inferencedata=True)
                except BudgetExhausted:
                    raise
                except Exception:
                    if objective.remaining == 0:  # pymc may wrap the objective's BudgetExhausted
                        raise BudgetExhausted(f"budget of {objective.budget} evaluations used") from None
                    raise
                finally:
                    pymc_log.setLevel(level)
        return Outcome.stopped(f"{chains} chains x ({tune} tune + {draws} draws)", _posterior(idata, artifacts))


def _posterior(idata, artifacts: Path | None) -> dict:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = az.summary(idata, var_names=["theta"], kind="all")
    extras = {
        "posterior": {
            column: summary[column].astype(float).round(6).tolist()
            for column in ("mean", "sd", "r_hat", "ess_bulk") if column in summary
        }
    }
    if artifacts is not None:
        samples = idata.posterior["theta"].values  # (chains, draws, parameters)
        path = artifacts.with_suffix(".npz")
        atomic_write(path, lambda handle: np.savez_compressed(handle, theta=samples))
        extras["samples"] = str(path)
    return extras
