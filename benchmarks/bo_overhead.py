"""Bayesian optimization's own cost per step, apart from the simulations it asks for.

    python benchmarks/bo_overhead.py [--model BIOMD0000000012] [--evals 150] [--methods bo bo-gp ...]

Each method runs one start from a 10-point Latin hypercube design on the model's synthetic
problem (BIOMD0000000012: 7 parameters) through the real plugin and a real ``Objective``,
whose evaluations are timestamped. A step's overhead is the time between the end of one
evaluation and the start of the next: surrogate fit and acquisition search, everything but
simulation. Reported: the median overhead of the steps taken with 90-110 points evaluated
("at 100 points", target <= 100 ms on 2 cores), the median over the whole run, the start's
total seconds and its best fval. Methods that stop at ``max_evals`` below ``--evals`` show
fewer steps.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.settings import ProblemSettings
from biobench.sources import load_problem


class TimedObjective(Objective):
    """An objective that records when each evaluation began and ended."""

    def __init__(self, likelihood: Likelihood, budget: int) -> None:
        super().__init__(likelihood, budget)
        self.spans: list[tuple[float, float, int]] = []  # (start, end, points evaluated after it)

    def _evaluate(self, x: np.ndarray):
        start = time.perf_counter()
        try:
            return super()._evaluate(x)
        finally:
            self.spans.append((start, time.perf_counter(), self.n_evals))


def step_overheads(spans: list[tuple[float, float, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(overhead seconds, points evaluated before the step) for every gap between evaluations."""
    ends, starts = np.array([s[1] for s in spans[:-1]]), np.array([s[0] for s in spans[1:]])
    return starts - ends, np.array([s[2] for s in spans[:-1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012")
    parser.add_argument("--evals", type=int, default=150)
    parser.add_argument("--methods", nargs="+", default=["bo", "bo-gp", "bo-tpe"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    problem = load_problem(args.model, ProblemSettings())
    likelihood = Likelihood(problem)
    print(f"{problem.model.model_id}: {problem.n_parameters} parameters; one start of up to {args.evals} "
          f"evaluations per method (max_evals raised to it), 10-point lhs design")
    print("| method | evaluations | median overhead at 90-110 points, ms | median overhead, ms | "
          "simulation ms per evaluation | seconds | best fval | ended |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.methods:
        cls = optimizers.get(name)
        options = {"max_evals": args.evals} if "max_evals" in cls.Options.model_fields else {}
        optimizer = cls(**options)
        rng = np.random.default_rng(args.seed)
        x0 = initializers.get("lhs")().sample(problem, optimizer.n_start_points(), rng)
        objective = TimedObjective(likelihood, args.evals)
        result = optimizer.minimize(objective, x0, rng)
        overhead, points = step_overheads(objective.spans)
        near = overhead[(points >= 90) & (points <= 110)]
        print(f"| {name} | {result.n_evals} | {np.median(near) * 1e3 if near.size else float('nan'):.1f} | "
              f"{np.median(overhead) * 1e3:.1f} | {result.simulation_seconds / result.n_evals * 1e3:.2f} | "
              f"{result.seconds:.1f} | {result.fval_best:.6g} | {result.status}: {result.message} |", flush=True)


if __name__ == "__main__":
    main()
