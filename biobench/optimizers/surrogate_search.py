"""``--opt surrogate``: estimation on a neural surrogate of the simulator, checked by true simulations.

1. The initializer's ``pilot`` points are simulated (charged) and a network learns
   parameters -> simulator outputs (``biobench.surrogate.network``): on roadrunner the
   simulated trajectories the likelihood's formulas read, on AMICI the simulated observable
   and the log of its sigma at every measurement (``AmiciLikelihood.fvals_of_outputs``).
2. Each round, a cross-entropy search minimizes the objective computed from the
   surrogate's outputs (the problem's own likelihood, so observables, noise and priors
   are exact; only the simulation is approximated; on AMICI, where the compiled model
   computes sigma, it is learned too): thousands of points per network
   call, from uniform draws and the best simulated points, narrowing onto the elites.
   Batched sampling rather than gradient-based local searches: one network call per
   iteration instead of one per point and step (a 600-evaluation run on the
   repressilator took 90 s with L-BFGS-B searches on the surrogate, 47 s with this).
3. The ``batch`` best distinct end points are simulated (charged), join the training
   data, and the network continues training from its weights.
4. Every ``rounds`` rounds a true local search (``local`` by default, charged) starts
   from the best simulated point not searched from yet: the surrogate finds basins but
   cannot resolve their bottom to the benchmark's 0.1. Repeat until the budget ends.

With ``reuse=true`` the first network is the problem's saved surrogate (``biobench surrogate``,
one network), trained on for ``refit_epochs`` on the pilot simulations instead of from scratch;
every simulation that surrogate was made from is charged to the run's starts, shared out as an
initializer's pilot is, and each record names the folder reused. A saved surrogate learned
roadrunner's trajectories, so ``reuse`` runs on roadrunner only.

Every true simulation counts against the budget like any other optimizer's; surrogate
evaluations are free of budget but not of time (the record's seconds include training
and search) and are counted in the record's extras, with every candidate's objective as
the surrogate predicted it and as simulated (a held-out check: predicted before it was
simulated), which the report plots. Written here: no maintained library
does surrogate-assisted estimation with a network over simulator outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.objective import BudgetExhausted, Objective
from biobench.optimizers.base import Optimizer, SharedCost, local_phase_needs, optimizers, seed_from
from biobench.outcome import Outcome, Status
from biobench.plugins import PluginOptions

_DISTINCT = 1e-3  # scaled units: a candidate this close to a simulated point teaches nothing new


@optimizers.register("surrogate")
class SurrogateAssisted(Optimizer):
    description = ("neural surrogate of the simulator (torch MLP over every output): pilot simulations, then rounds "
                   "of cross-entropy search on the surrogate objective, the best candidates simulated and learned, "
                   "a true local search every few rounds")

    @classmethod
    def report_figures(cls, runs, problems) -> list:
        from biobench.surrogate.search_figures import surrogate_diagnostics

        return surrogate_diagnostics(runs)

    class Options(PluginOptions):
        pilot: int = Field(100, ge=10)  # initializer points simulated before the first training
        batch: int = Field(20, ge=1)  # candidates simulated per round
        samples: int = Field(2000, ge=20)  # surrogate evaluations per search iteration, in one network call
        search_iterations: int = Field(8, ge=1)
        layers: int = Field(3, ge=1)
        width: int = Field(128, ge=4)
        epochs: int = Field(500, ge=1)  # first training (early stopping may end it sooner)
        refit_epochs: int = Field(40, ge=1)  # later rounds continue from the weights
        time_limit: float = Field(30.0, gt=0)  # seconds per training
        rounds: int = Field(10, ge=1)  # surrogate rounds before each true local search
        polish: Literal["local", "fides", "none"] = "local"  # the true local search from the best new point
        reuse: bool = False  # start from the problem's saved surrogate (its simulations charged to the starts)

    added_later = {"reuse": False}

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._reused: dict[str, tuple | None] = {}  # problem key -> the saved surrogate reused there

    @property
    def engines(self) -> tuple[str, ...] | None:
        return ("roadrunner",) if self.settings.reuse else None

    engines_reason = "with reuse=true: the saved surrogate learned roadrunner's trajectories"

    def n_start_points(self) -> int:
        return self.settings.pilot

    def needs(self) -> str | None:
        return local_phase_needs(self.settings.polish)

    def shared_cost(self, problem) -> SharedCost | None:
        """With ``reuse``: the saved surrogate's simulations and seconds (design and training), for the run."""
        saved = self._saved(problem)
        if saved is None:
            return None
        from biobench.surrogate.build import training_seconds

        folder, config = saved
        cost = config["design_cost"]
        return SharedCost(cost["simulations"], cost["seconds"] + training_seconds(config["training"]),
                          f"the saved surrogate {folder}",
                          {"surrogate_reused": {"folder": str(folder), "simulations": cost["simulations"]}})

    def _saved(self, problem):
        """The saved surrogate this method reuses on ``problem`` (None without ``reuse`` or when none is saved),
        decided once per process: the run's charge and its starts name the same folder."""
        if not self.settings.reuse:
            return None
        from biobench.surrogate.build import saved_network_for

        if problem.key not in self._reused:
            self._reused[problem.key] = saved_network_for(problem)
        return self._reused[problem.key]

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        data = _Simulated(objective)
        counts = {"surrogate_evaluations": 0, "rounds": 0, "training_seconds": 0.0, "local_searches": 0,
                  "candidates": []}  # [round, predicted fval, simulated fval] of every candidate: held-out checks
        model, polished = None, []
        saved = self._saved(objective.likelihood.problem)
        if saved is not None:  # charged with the run (shared_cost); trained on from its weights
            from biobench.surrogate import network

            model = network.load(saved[0])[0]
        try:
            for point in np.atleast_2d(x0):
                data.add(point)
            while True:
                if len(data.x) < 2:
                    return Outcome.failed("fewer than two pilot simulations succeeded: nothing to learn from", counts)
                model = self._train(model, objective, data, rng, counts)
                candidates = self._candidates(model, objective, data, rng, counts)
                predicted = objective.likelihood.fvals_of_outputs(
                    model.predict(np.array(candidates)).reshape(-1, *data.shape), np.array(candidates))
                counts["surrogate_evaluations"] += len(candidates)
                for candidate, guess in zip(candidates, predicted):
                    counts["candidates"].append([counts["rounds"], _finite(guess), _finite(data.add(candidate))])
                counts["rounds"] += 1
                if self.settings.polish != "none" and counts["rounds"] % self.settings.rounds == 0:
                    self._polish(objective, data, polished, rng)
                    counts["local_searches"] += 1
        except BudgetExhausted as exc:
            return Outcome(Status.BUDGET, str(exc), counts)

    def _train(self, model, objective: Objective, data: _Simulated, rng: np.random.Generator, counts: dict):
        """The first training, or a continuation from the current weights on the grown data."""
        from biobench.surrogate import network

        spec = network.NetworkSpec(objective.dim, data.outputs[0].size, self.settings.layers, self.settings.width)
        training = network.TrainingSpec(time_limit=self.settings.time_limit, seed=seed_from(rng))
        epochs = self.settings.epochs if model is None else self.settings.refit_epochs
        model, summary = network.fit(spec, training, np.array(data.x), np.array(data.outputs), objective.lower,
                                     objective.upper, model=model, max_epochs=epochs)
        counts["training_seconds"] += summary["seconds"]
        counts.setdefault("first_validation_loss", summary["best_validation_loss"])  # a reused network's is low
        return model

    def _polish(self, objective: Objective, data: _Simulated, polished: list, rng: np.random.Generator) -> None:
        """A true local search (charged) from the best simulated point not yet searched from: the surrogate
        finds basins, it cannot resolve their bottom to the benchmark's tolerance."""
        for k in np.argsort(data.fvals):
            if all(np.abs(data.x[k] - p).max() > _DISTINCT for p in polished):
                polished.append(data.x[k])
                optimizers.get(self.settings.polish)().search(objective, data.x[k], rng)
                return

    def _candidates(self, model, objective: Objective, data: _Simulated, rng: np.random.Generator,
                    counts: dict) -> list[np.ndarray]:
        """The ``batch`` best distinct points of a cross-entropy search on the surrogate (uniform draws fill up).

        Each iteration evaluates ``samples`` points in one network call: the first draws half uniformly and
        half around the best simulated points, later ones draw around the elite tenth of everything seen
        this round, with each coordinate's spread among the elites (so several basins can survive).
        """
        lower, upper = objective.lower, objective.upper
        n = self.settings.samples
        best = np.array(data.x)[np.argsort(data.fvals)[:max(1, n // 100)]]
        points = np.vstack([rng.uniform(lower, upper, (n // 2, objective.dim)),
                            best[rng.integers(0, len(best), n - n // 2)]
                            + rng.normal(0.0, 0.1, (n - n // 2, objective.dim)) * (upper - lower)])
        seen_x, seen_f = [], []
        for _ in range(self.settings.search_iterations):
            points = np.clip(points, lower, upper)
            fvals = objective.likelihood.fvals_of_outputs(model.predict(points).reshape(-1, *data.shape), points)
            counts["surrogate_evaluations"] += len(points)
            seen_x.append(points)
            seen_f.append(fvals)
            all_x, all_f = np.vstack(seen_x), np.concatenate(seen_f)
            elites = all_x[np.argsort(all_f)[:max(2, n // 10)]]
            spread = elites.std(axis=0) + 1e-6 * (upper - lower)
            points = elites[rng.integers(0, len(elites), n)] + rng.normal(0.0, 1.0, (n, objective.dim)) * spread
        order = np.argsort(all_f)
        chosen: list[np.ndarray] = []
        known = np.array(data.tried)
        for k in order[np.isfinite(all_f[order])]:
            if len(chosen) == self.settings.batch:
                break
            others = np.vstack([known] + chosen) if chosen else known
            if np.abs(others - all_x[k]).max(axis=1).min() > _DISTINCT:
                chosen.append(all_x[k])
        while len(chosen) < self.settings.batch:
            chosen.append(rng.uniform(lower, upper))  # the surrogate has nothing new to offer: explore
        return chosen


class _Simulated:
    """True simulations of this start: the points with their outputs (training data) and every point tried.
    The outputs are whatever the engine's simulator kept of its last simulation (``last_outputs``)."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.x: list[np.ndarray] = []
        self.outputs: list[np.ndarray] = []
        self.fvals: list[float] = []
        self.tried: list[np.ndarray] = []
        self.shape: tuple[int, ...] = ()  # of the simulator's outputs: roadrunner's (rows, columns)

    def add(self, point: np.ndarray) -> float:
        """Simulate (charged; a point evaluated a moment ago is answered from memory), keep the outputs; the fval."""
        point = np.asarray(point, dtype=float)
        fval = self.objective.fval(point)
        self.tried.append(point)
        history, simulator = self.objective.history, self.objective.simulator
        # the simulator's last outputs are this point's when it is the last point simulated
        if np.isfinite(fval) and history and np.array_equal(history[-1][0], point) and simulator.last_outputs is not None:
            self.x.append(point)
            self.shape = simulator.last_outputs.shape
            self.outputs.append(simulator.last_outputs.ravel().copy())
            self.fvals.append(fval)
        return fval


def _finite(value: float) -> float | None:
    """JSON has no infinity: a failed simulation or prediction is None."""
    return float(value) if np.isfinite(value) else None
