"""Time one objective evaluation against a bare roadrunner simulation of the same grid.

    python benchmarks/objective_overhead.py [--model BIOMD0000000012] [--repeats 2000]

Both run in this process on the same model, time grid and parameter vectors; the
bare loop is what a hand-written fitting script does (set the estimated parameters,
reset, simulate), with no residuals, counting or bookkeeping. Target: ratio <= 1.10.
Timings alternate in blocks so drift on a shared machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from biobench.models import resolve_model
from biobench.objective import Objective
from biobench.problem import build_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012")
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()

    problem = build_problem(resolve_model(args.model))
    objective = Objective(problem)
    rng = np.random.default_rng(0)
    points = problem.x_true + rng.normal(0, 0.05, (args.repeats, problem.n_parameters))

    bare = problem.model.simulator()
    bare.timeCourseSelections = list(problem.observables)
    bare.getIntegrator().setValue("relative_tolerance", problem.settings.integrator.relative_tolerance)
    times = problem.timepoints
    ids = list(bare.model.getGlobalParameterIds())
    index = [ids.index(pid) for pid in problem.parameter_ids]
    natural = problem.to_natural(points)

    per_block = args.repeats // args.blocks
    t_obj, t_bare = [], []
    for block in range(args.blocks):
        chunk = points[block * per_block:(block + 1) * per_block]
        start = time.perf_counter()
        for values in natural[block * per_block:(block + 1) * per_block]:
            bare.model.setGlobalParameterValues(index, values)
            bare.reset()
            bare.simulate(times=times)
        t_bare.append((time.perf_counter() - start) / len(chunk))
        start = time.perf_counter()
        for x in chunk:
            objective.fval(x)
        t_obj.append((time.perf_counter() - start) / len(chunk))

    bare_ms, obj_ms = statistics.median(t_bare) * 1e3, statistics.median(t_obj) * 1e3
    print(f"model {problem.model.model_id}: {problem.n_parameters} parameters, {len(times)} time points, "
          f"{len(problem.observables)} observables, {args.repeats} evaluations each")
    print(f"bare roadrunner set+reset+simulate: {bare_ms:.3f} ms (median of {args.blocks} blocks)")
    print(f"objective fval:                     {obj_ms:.3f} ms")
    print(f"ratio objective / bare:             {obj_ms / bare_ms:.3f} (target <= 1.10)")
    print(f"failed simulations: {objective.n_failures}")


if __name__ == "__main__":
    main()
