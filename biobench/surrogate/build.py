"""Train (or reuse) the neural surrogate of one problem: design, simulations, network, held-out quality.

A surrogate is defined by its problem (key) and its options; it is saved in a folder
named by both and loaded instead of retrained when they match. Failed simulations of
the design are counted and their reasons kept, never silently dropped: they are not
training data (a surrogate of a failing simulation has nothing to learn), and the
report says how many there were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from biobench.engines import likelihood_for
from biobench.errors import ProblemError
from biobench.home import under_home
from biobench.initializers import initializers
from biobench.initializers.base import ProgressCallback, no_progress
from biobench.likelihood import Likelihood
from biobench.problem import Problem
from biobench.surrogate.design import merge_costs, refinement_effect, refinement_points
from biobench.surrogate.fitting import SurrogateOptions, fit_network, network_spec, training_spec

if TYPE_CHECKING:  # torch is imported when a surrogate is trained, not when the command line starts
    from biobench.surrogate.network import SurrogateNetwork


@dataclass
class TrainedSurrogate:
    model: SurrogateNetwork
    config: dict  # options, design cost, training summary, quality (JSON)
    folder: Path | None
    reused: bool
    output_shape: tuple[int, int]  # the simulator's (rows, columns)

    def outputs(self, x_scaled: np.ndarray) -> np.ndarray:
        """Predicted simulator outputs, shape (points, rows, columns)."""
        return self.model.predict(x_scaled).reshape(-1, *self.output_shape)


def training_seconds(summary: dict) -> float:
    """Seconds of every network a surrogate took: the first (with --refine), the final one, its fine-tune."""
    fine_tune = summary.get("fine_tune", {}).get("seconds", 0.0)
    return summary["seconds"] + summary.get("first_network_seconds", 0.0) + fine_tune


SURROGATES_FOLDER = "surrogates"  # under the home folder (biobench.home): where ``biobench surrogate`` saves


def default_folder() -> Path:
    return under_home(SURROGATES_FOLDER)


def saved_network_for(problem: Problem, root: Path | None = None) -> tuple[Path, dict] | None:
    """The saved one-network surrogate of ``problem`` (``biobench surrogate --arch mlp``; under ``root``, default
    the home's ``surrogates/``) that simulated the most, as (folder, config), or None. ``--opt surrogate
    --opt-option reuse=true`` starts from it; a network of another output shape (other integrator
    settings) is not this problem's and is passed over."""
    from biobench.saved_networks import CONFIG
    from biobench.surrogate.network import WEIGHTS

    root = default_folder() if root is None else root
    rows, columns = output_shape(likelihood_for(problem, "roadrunner"))
    found = []
    for path in sorted(root.glob(f"*/{CONFIG}")) if root.is_dir() else []:
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a folder being written, or damaged: never reused
        network = config.get("network", {})
        if (config.get("problem_key") == problem.key and config.get("options", {}).get("arch", "mlp") == "mlp"
                and network.get("n_inputs") == problem.n_parameters and network.get("n_outputs") == rows * columns
                and (path.parent / WEIGHTS).is_file()):
            found.append((config["design_cost"]["simulations"], path.parent.name, path.parent, config))
    if not found:
        return None
    *_, folder, config = max(found, key=lambda item: item[:2])
    return folder, config


def folder_for(problem: Problem, options: SurrogateOptions, root: Path) -> Path:
    from biobench.saved_networks import network_folder

    return network_folder(root, problem.model.model_id, problem.key, asdict(options))


def output_shape(likelihood: Likelihood) -> tuple[int, int]:
    sims = likelihood.experiments.simulations
    return sum(sim.n_rows for sim in sims), len(likelihood.simulator.selections)


def simulate_design(likelihood: Likelihood, x: np.ndarray, progress: ProgressCallback = no_progress,
                    label: str = "surrogate: simulations") -> tuple[np.ndarray, np.ndarray, dict]:
    """Outputs (points, rows * columns; NaN rows where the simulation failed), the failed mask, and the cost
    (``learning.simulate_design``'s, with the seconds inside the engine)."""
    from biobench import learning

    rows, columns = output_shape(likelihood)
    simulator = likelihood.simulator

    def outputs_at(point: np.ndarray):
        out = simulator.simulate(likelihood.natural(point))
        if out is None or not np.isfinite(out).all():
            return simulator.last_error or "non-finite outputs"
        return out.ravel()

    inside = simulator.seconds
    results, cost = learning.simulate_design(x, outputs_at, progress, label)
    cost["simulation_seconds"] = simulator.seconds - inside
    failed = np.array([r is None for r in results], dtype=bool)
    outputs = np.full((len(x), rows * columns), np.nan)
    for i, result in enumerate(results):
        if result is not None:
            outputs[i] = result
    return outputs, failed, cost


@dataclass
class SimulatedDesign:
    """A surrogate's simulations: the initializer's draw (training points first, then held-out ones), with
    refinement simulations appended to the training set; failed ones are counted in ``cost``, not kept."""

    design: np.ndarray
    outputs: np.ndarray  # of ``design``, NaN rows where a simulation failed
    test_rows: np.ndarray  # rows of ``design`` held out (never refined, never trained on)
    x_train: np.ndarray
    y_train: np.ndarray
    cost: dict
    seconds_per_simulation: float  # roadrunner's, on the initializer's draw
    first_network_seconds: float  # the network that picked the refinement points (0 without --refine)


def simulate_training_set(problem: Problem, options: SurrogateOptions, likelihood: Likelihood, device: str = "cpu",
                          progress: ProgressCallback = no_progress) -> SimulatedDesign:
    """Draw, simulate and (with ``options.refine``) refine the training set, and draw the held-out one."""
    rng = np.random.default_rng(options.seed)
    initializer = initializers.get(options.design)()
    n_first = options.n_train - options.n_refine
    design = initializer.sample(problem, n_first + options.n_test, rng)
    outputs, failed, cost = simulate_design(likelihood, design, progress)
    seconds_per_simulation = cost["simulation_seconds"] / len(design)
    test_rows = n_first + np.flatnonzero(~failed[n_first:])
    x_train, y_train = design[:n_first][~failed[:n_first]], outputs[:n_first][~failed[:n_first]]
    _check_enough(problem, len(x_train), len(test_rows), cost, len(design))
    first_seconds = 0.0
    if options.n_refine:
        x_train, y_train, cost, first_seconds = _refine(problem, likelihood, options, initializer,
                                                        network_spec(problem, options, outputs.shape[1]),
                                                        training_spec(options), x_train, y_train, cost, device,
                                                        progress)
    return SimulatedDesign(design, outputs, test_rows, x_train, y_train, cost, seconds_per_simulation, first_seconds)


def train_surrogate(problem: Problem, options: SurrogateOptions, root: Path | None = None, retrain: bool = False,
                    device: str = "cpu", progress: ProgressCallback = no_progress) -> TrainedSurrogate:
    """The surrogate of ``problem`` for ``options``: loaded from ``root`` when saved there, else trained and saved."""
    from biobench.surrogate import network, quality, regimes

    options = options.validated()
    likelihood = likelihood_for(problem, "roadrunner")
    shape = output_shape(likelihood)
    columns = (regimes.state_columns(list(likelihood.simulator.selections), options.state)
               if options.arch == "regimes" else None)  # a wrong name is an error before any simulation
    folder = folder_for(problem, options, root) if root is not None else None
    builder = regimes.empty if columns else network.empty_network
    loaded = None if retrain or folder is None else network.load(folder, device, builder)
    if loaded is not None:
        return TrainedSurrogate(loaded[0], loaded[1], folder, True, shape)
    data = simulate_training_set(problem, options, likelihood, device, progress)
    x_test, y_test = data.design[data.test_rows], data.outputs[data.test_rows]

    def judge(model):  # the held-out observables only: no objective, no simulation of the nominal point
        predicted = TrainedSurrogate(model, {}, folder, False, shape).outputs(x_test)
        return quality.observable_accuracy(likelihood, x_test, predicted, y_test.reshape(predicted.shape))

    if columns:
        model, summary = regimes.fit(problem, options, data.x_train, data.y_train, shape, columns, device, progress)
    else:
        model, summary = fit_network(problem, options, data.x_train, data.y_train, device, progress, judge)
    summary["first_network_seconds"] = data.first_network_seconds
    trained = TrainedSurrogate(model, {}, folder, False, shape)
    report = quality.accuracy(trained, likelihood, x_test, y_test, problem)
    report["speed"] = quality.speed(trained, x_test, data.seconds_per_simulation)
    trained.config = {"problem_key": problem.key, "problem_id": problem.problem_id, "options": asdict(options),
                      "design_cost": data.cost, "training": summary, "quality": report,
                      "test_points": x_test[:5].tolist(), "test_outputs": y_test[:5].tolist()}
    if folder is not None:
        network.save(model, trained.config, folder)
    return trained


def _refine(problem, likelihood, options, initializer, spec, training, x_train, y_train, cost, device, progress):
    """Train a first network on the first design, simulate the refinement points it picks (``design.py``), and
    return the training set with them, the merged cost and the first network's training seconds."""
    from biobench.surrogate import network

    progress("surrogate: first network", 0, 1)
    first, summary = network.fit(spec, training, x_train, y_train, problem.lower, problem.upper, device=device)
    progress("surrogate: first network", 1, 1)
    stream = np.random.default_rng(np.random.SeedSequence(options.seed, spawn_key=(1,)))
    spread = y_train.std(axis=0)
    extra = refinement_points(first.predict, problem, initializer, options.n_refine, spread, stream)
    outputs, failed, extra_cost = simulate_design(likelihood, extra, progress, "surrogate: refinement simulations")
    extra_cost["median_output_weight"] = refinement_effect(y_train, outputs[~failed], spread)
    cost = merge_costs(cost, extra_cost) | {"refinement": extra_cost}
    return (np.vstack([x_train, extra[~failed]]), np.vstack([y_train, outputs[~failed]]), cost,
            summary["seconds"])


def _check_enough(problem: Problem, n_train: int, n_test: int, cost: dict, n_design: int) -> None:
    if n_train < 10 or n_test < 2:
        raise ProblemError(f"{problem.problem_id}: {cost['failed']} of {n_design} design simulations failed "
                           f"({', '.join(cost['failure_reasons'])}); too few remain to train a surrogate. "
                           "Narrow the parameter bounds or loosen the integrator settings.")
