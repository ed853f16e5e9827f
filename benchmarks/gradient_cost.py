"""Cost and accuracy of one gradient: finite differences vs roadrunner's CVODES sensitivities.

    python benchmarks/gradient_cost.py [--model BIOMD0000000012] [--repeats 20] [--points 5]

Cost: forward finite differences (n + 1 simulations through the counted objective)
against roadrunner's forward sensitivities on the same grid. Accuracy: the gradient of
the objective (scaled space) at the nominal point and ``--points - 1`` points around it,
by forward and central differences with steps 1e-6 to 1e-3 at the problem's integrator
tolerance, and with the optimizers' steps (forward 1e-5, central 1e-4) at relative tolerance 1e-10, against a reference of central
differences at relative tolerance 1e-12 (absolute 1e-14) with Richardson extrapolation
over steps 1e-3 and 5e-4. ``fides`` and ``local`` use forward differences (n simulations per
gradient) until they stop, then central ones (2n) to polish.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.settings import ProblemSettings
from biobench.sources import load_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012", help="anything --model accepts (PEtab: accuracy only)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--points", type=int, default=5)
    args = parser.parse_args()

    problem = load_problem(args.model, ProblemSettings())
    times = problem.timepoints
    if not problem.synthetic or not np.allclose(np.diff(times), times[1] - times[0]):
        print(f"{problem.problem_id}: not one evenly spaced grid of species, so no sensitivity timing")
        accuracy(problem, args.points)
        return
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
    accuracy(problem, args.points)


def gradient(likelihood: Likelihood, x: np.ndarray, step: float, central: bool) -> np.ndarray:
    f0 = likelihood.fval(x)
    out = np.empty(len(x))
    for i in range(len(x)):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        out[i] = (likelihood.fval(up) - likelihood.fval(down)) / (2 * h) if central else (likelihood.fval(up) - f0) / h
    return out


def with_tolerance(problem, relative: float, absolute: float | None = None) -> Likelihood:
    likelihood = Likelihood(problem)
    integrator = likelihood.simulator.rr.getIntegrator()
    integrator.setValue("relative_tolerance", relative)
    if absolute is not None:
        integrator.setValue("absolute_tolerance", absolute)
    return likelihood


def accuracy(problem, n_points: int) -> None:
    rng = np.random.default_rng(0)
    points = [problem.x_true] + [problem.x_true + rng.normal(0, 0.1, problem.n_parameters)
                                 for _ in range(n_points - 1)]
    reference_likelihood = with_tolerance(problem, 1e-12, 1e-14)
    references = [(4 * gradient(reference_likelihood, x, 5e-4, True) - gradient(reference_likelihood, x, 1e-3, True))
                  / 3 for x in points]
    default = problem.settings.integrator.relative_tolerance
    print(f"\ngradient accuracy, {n_points} points: median and max over points of |g - g_ref| / |g_ref|")
    print("| differences | step | integrator relative tolerance | simulations per gradient | median error | "
          "max error | ms per gradient |")
    print("|---|---|---|---|---|---|---|")
    # Steps around the chosen ones (forward 1e-5, central 1e-4) at the problem's tolerance, and the chosen
    # ones at a tighter tolerance: what the optimizers' defaults rest on.
    settings = [(central, step, default) for central in (False, True) for step in (1e-6, 1e-5, 1e-4, 1e-3)]
    settings += [(False, 1e-5, 1e-10), (True, 1e-4, 1e-10)]
    for central, step, tolerance in settings:
        likelihood = with_tolerance(problem, tolerance)
        start = time.perf_counter()
        errors = [np.linalg.norm(gradient(likelihood, x, step, central) - ref) / np.linalg.norm(ref)
                  for x, ref in zip(points, references)]
        ms = (time.perf_counter() - start) / len(points) * 1e3
        n = problem.n_parameters
        print(f"| {'central' if central else 'forward'} | {step:g} | {tolerance:g} | {2 * n if central else n + 1} "
              f"| {np.median(errors):.2e} | {max(errors):.2e} | {ms:.1f} |")


if __name__ == "__main__":
    main()
