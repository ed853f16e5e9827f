"""Time one objective evaluation against a bare roadrunner simulation of the same grid.

    python benchmarks/objective_overhead.py [--model BIOMD0000000012] [--repeats 4000]

Both run in this process on the same model, time grid and parameter vectors; the
bare loop is what a hand-written fitting script does (set the estimated parameters,
reset, simulate), with no residuals, counting or bookkeeping. The objective is the
one a start sees (a per-start ``Objective`` over the problem's compiled
``Likelihood``). Target: ratio <= 1.05. The two alternate evaluation by evaluation,
so drift on a shared machine hits both sides alike; the ratio is of the summed times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biobench.likelihood import Likelihood
from biobench.models import resolve_model
from biobench.objective import Objective
from biobench.problem import build_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012")
    parser.add_argument("--repeats", type=int, default=4000)
    args = parser.parse_args()

    problem = build_problem(resolve_model(args.model))
    objective = Objective(Likelihood(problem))
    rng = np.random.default_rng(0)
    points = problem.x_true + rng.normal(0, 0.05, (args.repeats, problem.n_parameters))

    bare = problem.model.simulator()
    bare.timeCourseSelections = list(problem.observables)
    bare.getIntegrator().setValue("relative_tolerance", problem.settings.integrator.relative_tolerance)
    times = problem.timepoints
    ids = list(bare.model.getGlobalParameterIds())
    index = [ids.index(pid) for pid in problem.parameter_ids]
    natural = problem.to_natural(points)
    model = bare.model

    clock = time.perf_counter
    t_bare = t_obj = 0.0
    for x, values in zip(points, natural):
        start = clock()
        model.setGlobalParameterValues(index, values)
        bare.reset()
        bare.simulate(times=times)
        middle = clock()
        objective.fval(x)
        t_bare += middle - start
        t_obj += clock() - middle

    bare_ms, obj_ms = t_bare / args.repeats * 1e3, t_obj / args.repeats * 1e3
    print(f"model {problem.model.model_id}: {problem.n_parameters} parameters, {len(times)} time points, "
          f"{len(problem.observables)} observables, {args.repeats} evaluations each, interleaved")
    print(f"bare roadrunner set+reset+simulate: {bare_ms:.3f} ms (mean)")
    print(f"objective fval:                     {obj_ms:.3f} ms")
    print(f"ratio objective / bare:             {obj_ms / bare_ms:.3f} (target <= 1.05)")
    print(f"failed simulations: {objective.n_failures}")


if __name__ == "__main__":
    main()
