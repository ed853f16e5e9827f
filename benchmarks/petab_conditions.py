"""Cost of a multi-condition PEtab objective against the same number of bare simulations.

    python benchmarks/petab_conditions.py [--model BIOMD0000000012] [--conditions 10] [--repeats 300]

The model's synthetic problem is exported as PEtab, then given ``--conditions``
conditions, each with its own initial value of the first observed species and its
own copy of the measurements. The PEtab objective simulates every condition on one
compiled roadrunner instance; the bare loop does what a hand-written script would
(write the condition's parameter vector, reset, simulate the same grid) on its own
instance, with no observables, noise or likelihood. Target: ratio <= 1.2.
Timings alternate in blocks so drift on a shared machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.models import resolve_model
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.petab import load_petab_problem
from biobench.petab.exporter import export_problem
from biobench.problem import build_problem
from biobench.simulator import RESET


def multi_condition_problem(model: str, n_conditions: int, folder: Path):
    synthetic = build_problem(resolve_model(model))
    yaml_path = export_problem(synthetic, folder / "petab")
    species = synthetic.observables[0]
    base = next(p for p in synthetic.model.species if p == species)
    conditions = pd.DataFrame({"conditionId": [f"c{i}" for i in range(n_conditions)],
                               base: np.linspace(0.5, 5.0, n_conditions)})
    conditions.to_csv(yaml_path.parent / "conditions.tsv", sep="\t", index=False)
    measurements = pd.read_csv(yaml_path.parent / "measurements.tsv", sep="\t")
    copies = [measurements.assign(simulationConditionId=f"c{i}") for i in range(n_conditions)]
    pd.concat(copies).to_csv(yaml_path.parent / "measurements.tsv", sep="\t", index=False)
    return load_petab_problem(yaml_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="BIOMD0000000012")
    parser.add_argument("--conditions", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        problem = multi_condition_problem(args.model, args.conditions, Path(tmp))
    objective = Objective(Likelihood(problem))
    rng = np.random.default_rng(0)
    points = problem.x_true + rng.normal(0, 0.05, (args.repeats, problem.n_parameters))
    natural = problem.to_natural(points)

    # The bare side: the same compiled model and grids, parameter vectors prepared outside the timing.
    exp = problem.experiments
    bare = problem.model.simulator()
    bare.timeCourseSelections = list(objective.simulator.selections)
    bare.getIntegrator().setValue("relative_tolerance", problem.settings.integrator.relative_tolerance)
    ids = list(bare.model.getGlobalParameterIds())
    settable = np.array([ids.index(p) for p in exp.settable], dtype=np.int32)
    vectors = [[sim.condition.values(values) for sim in exp.simulations] for values in natural]
    grids = [sim.times for sim in exp.simulations]

    per_block = args.repeats // args.blocks
    t_obj, t_bare = [], []
    for block in range(args.blocks):
        chosen = range(block * per_block, (block + 1) * per_block)
        start = time.perf_counter()
        for i in chosen:
            for vector, grid in zip(vectors[i], grids):
                bare.model.setGlobalParameterValues(settable, vector)
                bare.reset(RESET)
                bare.simulate(times=grid)
        t_bare.append((time.perf_counter() - start) / per_block)
        start = time.perf_counter()
        for i in chosen:
            objective.fval(points[i])
        t_obj.append((time.perf_counter() - start) / per_block)

    bare_ms, obj_ms = statistics.median(t_bare) * 1e3, statistics.median(t_obj) * 1e3
    print(f"model {problem.model.model_id}: {args.conditions} conditions, {problem.n_parameters} parameters, "
          f"{exp.n_measurements} measurements, {args.repeats} evaluations each")
    print(f"{args.conditions} bare roadrunner set+reset+simulate: {bare_ms:.3f} ms (median of {args.blocks} blocks)")
    print(f"PEtab objective fval:                 {obj_ms:.3f} ms")
    print(f"ratio objective / bare:               {obj_ms / bare_ms:.3f} (target <= 1.2)")
    print(f"failed simulations: {objective.n_failures}")


if __name__ == "__main__":
    main()
