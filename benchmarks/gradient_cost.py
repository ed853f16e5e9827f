"""Cost of one gradient: forward finite differences vs roadrunner's CVODES sensitivities.

    python benchmarks/gradient_cost.py [--model BIOMD0000000012] [--repeats 20]

The local optimizers use finite differences (n + 1 simulations through the counted
objective) because this benchmark measured them faster than roadrunner's forward
sensitivities on the offline models; rerun it when roadrunner or the models change.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biobench.models import resolve_model
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.problem import build_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    problem = build_problem(resolve_model(args.model))
    times = problem.timepoints
    if not np.allclose(np.diff(times), times[1] - times[0]):
        raise SystemExit("roadrunner's sensitivities need an evenly spaced grid; this problem's is not.")
    rr = problem.model.simulator()
    rr.getIntegrator().setValue("relative_tolerance", problem.settings.integrator.relative_tolerance)
    start = time.perf_counter()
    try:
        for _ in range(args.repeats):
            rr.reset()
            rr.timeSeriesSensitivities(float(times[0]), float(times[-1]), len(times), list(problem.parameter_ids),
                                       list(problem.observables))
        sens = (time.perf_counter() - start) / args.repeats
    except RuntimeError as exc:
        print(f"forward sensitivities failed at the nominal parameters: {str(exc).splitlines()[0][:120]}")
        sens = float("inf")

    objective = Objective(Likelihood(problem))
    start = time.perf_counter()
    for i in range(args.repeats):
        x = problem.x_true + 1e-3 * i
        objective.fval(x)
        for j in range(problem.n_parameters):
            step = x.copy()
            step[j] += 1e-5
            objective.fval(step)
    fd = (time.perf_counter() - start) / args.repeats

    print(f"model {problem.model.model_id}: {problem.n_parameters} parameters, {len(times)} time points")
    print(f"forward sensitivities (CVODES): {sens * 1e3:.1f} ms per gradient")
    print(f"finite differences (n+1 sims):  {fd * 1e3:.1f} ms per gradient (value included)")
    print(f"finite differences are {sens / fd:.2f}x {'faster' if fd < sens else 'slower'}")


if __name__ == "__main__":
    main()
