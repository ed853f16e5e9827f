"""Every PEtab problem in a folder: does it load, and does it give the published objective?

    python benchmarks/petab_collection.py [DIR] [--only NAME ...] [--skip NAME ...] [--repeats 20]

DIR (default ``../shared/benchmark_models_petab``) holds one folder per problem and a
``refs.tsv`` (problem, fval_nominal_ref: the negative log-likelihood at the nominal
parameters, priors excluded). Per problem the table gives: parameters, simulations,
status (ok, or refused with biobench's message), the likelihood part of the objective at
the nominal parameters (``fval - prior``), the reference and their relative difference,
the build time (read, lint, compile the tables and the model, compile the likelihood),
ms per objective evaluation, and, for problems without pre-equilibration or steady-state
data, the same simulations run bare on the same roadrunner instance (write the condition's
parameters, reset, simulate the grid), timed in alternation with the objective, and the
ratio of the two (target for large models: <= 1.2).

A problem whose nominal evaluation fails at the default tolerances (relative 1e-8,
roadrunner's absolute default, 20000 steps) is tried once more at relative = absolute
= 1e-6 with 100000 steps; the ``integrator`` column says which one gave the numbers.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.errors import BiobenchError
from biobench.likelihood import Likelihood
from biobench.petab import load_petab_problem
from biobench.settings import IntegratorSettings
from biobench.simulator import RESET

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmark_models_petab"
LOOSE = IntegratorSettings(relative_tolerance=1e-6, absolute_tolerance=1e-6, maximum_num_steps=100_000)


def _timed(function, repeats: int, budget_s: float = 5.0) -> float:
    """Median seconds of ``function`` over ``repeats`` calls, or at least 3 when that takes over ``budget_s``."""
    seconds = []
    while len(seconds) < repeats and (len(seconds) < 3 or sum(seconds) < budget_s):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def _bare(likelihood: Likelihood, x_natural: np.ndarray):
    """The problem's simulations on roadrunner with nothing else: no observables, noise or likelihood.

    They run on the likelihood's own roadrunner instance, so the ratio measures what biobench adds
    and not how two instances of one model differ (on Chen, up to 30% between fresh instances).
    """
    rr = likelihood.simulator.rr
    ids = list(rr.model.getGlobalParameterIds())
    settable = np.array([ids.index(p) for p in likelihood.experiments.settable], dtype=np.int32)
    runs = [(sim.condition.values(x_natural), sim.times) for sim in likelihood.experiments.simulations]

    def run() -> None:
        for vector, grid in runs:
            rr.model.setGlobalParameterValues(settable, vector)
            rr.reset(RESET)
            if len(grid) > 1:  # a grid of t = 0 alone is read without integrating, as the simulator does
                rr.simulate(times=grid)
            else:
                rr.getSelectedValues()
    return run


def _interleaved(first, second, repeats: int, budget_s: float = 5.0) -> tuple[float, float]:
    """Median seconds of two functions timed in alternation (drift on a shared machine hits both alike);
    ``repeats`` rounds, or at least 3 when that takes over ``budget_s``."""
    times: tuple[list[float], list[float]] = ([], [])
    while len(times[0]) < repeats and (len(times[0]) < 3 or sum(times[0]) + sum(times[1]) < budget_s):
        for function, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            function()
            out.append(time.perf_counter() - start)
    return float(np.median(times[0])), float(np.median(times[1]))


def measure(yaml_path: Path, reference: float, repeats: int) -> dict:
    row = {"problem": yaml_path.parent.name}
    build_s = None  # the first build: the second finds the model compiled in roadrunner's cache
    for settings, label in ((IntegratorSettings(), "default"), (LOOSE, "1e-6/1e-6")):
        started = time.perf_counter()
        try:
            problem = load_petab_problem(yaml_path, settings)
            likelihood = Likelihood(problem)
        except BiobenchError as exc:
            return row | {"status": f"refused: {exc}"}
        build_s = build_s or time.perf_counter() - started
        x = problem.x_true
        fval = likelihood.fval(x)
        if math.isfinite(fval):
            break
        row["failure at default tolerances"] = likelihood.simulator.last_error
    exp = problem.experiments
    prior = likelihood.prior(x)
    row |= {"parameters": problem.n_parameters, "simulations": len(exp.simulations), "status": "ok",
            "integrator": label, "fval - prior": fval - prior, "reference": reference,
            "rel. difference": (fval - prior - reference) / abs(reference) if math.isfinite(reference) else math.nan,
            "prior": prior, "build s": build_s}
    if not math.isfinite(fval):
        return row | {"status": f"fails at the nominal parameters: {likelihood.simulator.last_error}"}
    if any(sim.preequilibration is not None or sim.steady_state for sim in exp.simulations):
        row["ms/eval"] = 1e3 * _timed(lambda: likelihood.evaluate(x), repeats)
        return row
    evaluation, bare = _interleaved(lambda: likelihood.evaluate(x), _bare(likelihood, likelihood.natural(x)),
                                    repeats)
    return row | {"ms/eval": 1e3 * evaluation, "bare ms": 1e3 * bare, "ratio": evaluation / bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    refs_path = args.folder / "refs.tsv"
    refs = pd.read_csv(refs_path, sep="\t", index_col=0)["fval_nominal_ref"] if refs_path.is_file() else pd.Series()
    rows = []
    for yaml_path in sorted(args.folder.glob("*/*.yaml")):
        name = yaml_path.parent.name
        if name in args.skip or (args.only and name not in args.only):
            continue
        row = measure(yaml_path, float(refs.get(name, math.nan)), args.repeats)
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False, float_format=lambda v: f"{v:.6g}"), flush=True)
    table = pd.DataFrame(rows)
    columns = ["problem", "parameters", "simulations", "status", "integrator", "fval - prior", "reference",
               "rel. difference", "build s", "ms/eval", "bare ms", "ratio"]
    print()
    print(table.reindex(columns=columns).to_markdown(index=False, floatfmt=".6g"))


if __name__ == "__main__":
    main()
