"""``biobench features`` (measure a model's features, kept in the results store's ``features`` table) and
``biobench recommend`` (which method suits the model, from the features of benchmarked models)."""

from __future__ import annotations

import json
import math

import click

from biobench.analysis.features import PROBES
from biobench.commands.options import config_option, model_option, problem_from, results_option

# How each feature reads in the table (name, unit or meaning).
LABELS = {
    "species": "floating species", "boundary_species": "boundary species", "reactions": "reactions",
    "events": "events", "rate_rules": "rate rules", "assignment_rules": "assignment rules",
    "compartments": "compartments", "parameters": "estimable parameters", "observables": "observables",
    "data_points": "data points", "conditions": "simulated conditions",
    "preequilibrated_conditions": "conditions pre-equilibrated to a steady state",
    "steady_state_conditions": "conditions measured at steady state", "data_per_parameter": "data points per parameter",
    "data_decades": "data range (decades, median over observables)",
    "seconds_per_simulation": "seconds per simulation (nominal)", "integrator_steps": "integrator steps (nominal)",
    "stiffness_decades": "Jacobian eigenvalue spread (decades)", "fastest_timescale": "fastest time scale",
    "oscillating": "oscillating (1 = yes)", "trajectory_peaks": "peaks in the nominal trajectory",
    "probe_points": "points of the landscape probe", "probe_failed_share": "failed share of the landscape probe",
    "probe_fval_decades": "fval spread of the probe (decades)", "feature_seconds": "seconds to measure all of these",
}


@click.command("features")
@model_option
@config_option
@click.option("--probes", type=click.IntRange(min=0), default=PROBES, show_default=True,
              help="Latin hypercube points that probe the objective landscape (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the landscape probe.")
@click.option("--engine", default="roadrunner", show_default=True,
              help="Simulator that times the nominal simulation and probes the landscape (amici for a problem "
                   "roadrunner cannot simulate); steps, Jacobian and oscillation are roadrunner's.")
@results_option
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), default="table", show_default=True)
def features_command(model_spec, config, probes, seed, engine, results, fmt_) -> None:
    """Measure what the model looks like to an estimation method (size, stiffness, oscillation, data, landscape);
    stored with the results for 'biobench recommend'."""
    from biobench.analysis.features import problem_features
    from biobench.commands.terminal import print_rows
    from biobench.engines import check_engine
    from biobench.running.store import Store

    if check_engine(engine) == "auto":
        raise click.BadParameter("features are measured on one engine: roadrunner or amici.", param_hint="--engine")
    store = Store(results)  # a bad store location fails before the model loads
    problem = problem_from(model_spec, config)
    values = problem_features(problem, probes=probes, seed=seed, engine=engine)
    store.set_features(problem.key, problem.problem_id, problem.model.model_id, values)
    if fmt_ == "json":
        click.echo(json.dumps({"problem_id": problem.problem_id, "features": values}, indent=2,
                              default=float).replace("NaN", "null"))
        return
    rows = [[LABELS.get(name, name), _show(value)] for name, value in values.items()]
    print_rows(f"features of {problem.problem_id} (stored in {store.url})", ["feature", "value"], rows,
               right=("value",))


def _show(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "not measured"
    return f"{value:.4g}" if isinstance(value, float) and not float(value).is_integer() else str(int(value))


@click.command("recommend")
@model_option
@config_option
@click.option("--results", help="Learn from this store's benchmark (its runs and features) instead of the "
              "recommender shipped with biobench.")
@click.option("--k", "k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Benchmarked models to learn from (nearest in feature space).")
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), default="table", show_default=True)
def recommend_command(model_spec, config, results, k, fmt_) -> None:
    """Rank estimation methods for a model by how they did on the benchmarked models most like it."""
    from biobench.analysis.features import problem_features
    from biobench.analysis.recommend import SHIPPED, Recommender, held_out_sentence
    from biobench.commands.terminal import console, print_frame
    from biobench.running.store import Store

    recommender = (Recommender.from_store(Store(results, must_exist=True), k) if results
                   else Recommender.load(SHIPPED, k))
    problem = problem_from(model_spec, config)
    ranked, neighbours = recommender.recommend(problem_features(problem))
    if fmt_ == "json":
        click.echo(json.dumps({"problem_id": problem.problem_id, "methods": ranked.to_dict(orient="records"),
                               "evidence": neighbours.drop(columns="problem_key").to_dict(orient="records"),
                               "held_out": recommender.held_out},
                              indent=2, default=float).replace("NaN", "null"))
        return
    source = f"the benchmark in {results}" if results else "the recommender shipped with biobench"
    console.print(f"methods for {problem.problem_id}, from {source} ({len(recommender.problems)} benchmarked "
                  f"problems; the {len(neighbours)} nearest in feature space below)")
    print_frame(ranked.rename(columns={"normalised_rank": "expected rank (0 best, 1 worst)",
                                       "success_rate": "expected success rate",
                                       "converged_per_1000_evals": "converged per 1000 evals",
                                       "converged_per_minute": "converged per minute",
                                       "evidence_problems": "neighbours that ran it"}), "recommended methods")
    print_frame(neighbours.drop(columns="problem_key"), "evidence: nearest benchmarked problems")
    if recommender.held_out:
        console.print(held_out_sentence(recommender.held_out))
