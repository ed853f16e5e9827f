"""``biobench surrogate``: train (or reuse) a problem's neural surrogate and report its accuracy and speed."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from biobench.commands.options import config_option, model_option, problem_from
from biobench.surrogate.fitting import ARCHITECTURES, SurrogateOptions


@click.command("surrogate")
@model_option
@config_option
@click.option("--train", "n_train", type=int, default=SurrogateOptions.n_train, show_default=True,
              help="Simulations to train on (a validation split included).")
@click.option("--test", "n_test", type=int, default=SurrogateOptions.n_test, show_default=True,
              help="Further simulations, held out, for the report.")
@click.option("--arch", type=click.Choice(ARCHITECTURES), default="mlp", show_default=True,
              help="mlp: one network; regimes: for a switch, one ensemble of networks per final state (--state) and "
                   "a calibrated classifier between them.")
@click.option("--state", nargs=2, default=None, metavar="A B",
              help="With --arch regimes: two simulated outputs; a simulation's state is whether A ends above B.")
@click.option("--members", type=int, default=SurrogateOptions.members, show_default=True,
              help="With --arch regimes: networks averaged per state.")
@click.option("--layers", type=int, default=SurrogateOptions.layers, show_default=True)
@click.option("--width", type=int, default=SurrogateOptions.width, show_default=True)
@click.option("--design", default=SurrogateOptions.design, show_default=True,
              help="Initializer that draws the parameter vectors (see 'biobench plugins').")
@click.option("--time-limit", type=float, default=SurrogateOptions.time_limit, show_default=True,
              help="Training seconds at most (per network: with --refine a first one is trained too).")
@click.option("--max-epochs", type=int, default=SurrogateOptions.max_epochs, show_default=True,
              help="Training epochs at most (per network); unlike --time-limit, the same on a busy machine.")
@click.option("--refine", type=float, default=SurrogateOptions.refine, show_default=True,
              help="Share of --train simulated where a first network predicts the largest outputs (0: one design; "
                   "0.3 raised R^2 on BIOMD0000000507 and Boehm, lowered it on others).")
@click.option("--fine-tune", is_flag=True,
              help="After the fit on compressed outputs, train on the error in the simulator's units (R^2's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder of saved surrogates; one is reused when problem and options match [default: surrogates "
                   "in the home folder ($BIOBENCH_HOME or here)].")
@click.option("--retrain", is_flag=True, help="Train again even when a saved surrogate matches.")
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), default="table", show_default=True)
def surrogate_command(model_spec, config, n_train, n_test, arch, state, members, layers, width, design, time_limit,
                      max_epochs, refine, fine_tune, seed, out, retrain, fmt_) -> None:
    """Train a neural surrogate of the model's simulator and report its accuracy and speed on held-out simulations."""
    from biobench.commands.terminal import console, stage_reporter
    from biobench.surrogate.build import train_surrogate

    options = SurrogateOptions(n_train=n_train, n_test=n_test, design=design, seed=seed, layers=layers, width=width,
                               time_limit=time_limit, max_epochs=max_epochs, arch=arch, state=tuple(state or ()),
                               members=members, refine=refine, fine_tune=fine_tune).validated()  # before the model loads
    problem = problem_from(model_spec, config)
    from biobench.surrogate.build import default_folder

    trained = train_surrogate(problem, options, Path(out) if out else default_folder(), retrain=retrain,
                              progress=stage_reporter())
    config_out = trained.config
    figure = None
    if trained.folder is not None and "pairs" in config_out["quality"]["objective"]:
        from biobench.likelihood import Likelihood
        from biobench.surrogate.figures import save_accuracy_figure

        figure = save_accuracy_figure(trained, Likelihood(problem), problem.problem_id,
                                      trained.folder / "accuracy.png")
    if fmt_ == "json":
        click.echo(json.dumps({k: config_out[k] for k in ("problem_id", "options", "design_cost", "training",
                                                           "quality")} | {"folder": str(trained.folder),
                                                                          "reused": trained.reused,
                                                                          "figure": str(figure) if figure else None},
                              indent=2, default=float))
        return
    print_report(problem.problem_id, config_out, trained.folder, trained.reused, asdict(options))
    if figure is not None:
        console.print(f"accuracy figure (trajectories, objective): {figure}")


def print_report(problem_id: str, config: dict, folder: Path | None, reused: bool, options: dict) -> None:
    from biobench.commands.terminal import console, print_rows
    from biobench.numbers import fmt

    cost, training, quality = config["design_cost"], config["training"], config["quality"]
    console.print(f"surrogate of {problem_id}: {'reused from' if reused else 'saved in'} {folder}")
    console.print(f"design: {cost['simulations']} simulations ({options['design']}), {cost['failed']} failed"
                  + (f" ({'; '.join(f'{n}x {r[:80]}' for r, n in cost['failure_reasons'].items())})"
                     if cost["failed"] else "") + f", {cost['seconds']:.1f} s"
                  + (f"; {cost['refinement']['simulations']} of them where a first network predicted the largest "
                     f"outputs ({training['first_network_seconds']:.1f} s to train it)"
                     if "refinement" in cost else ""))
    if "regimes" in training:
        regimes = training["regimes"]
        first, second = regimes["state"]
        console.print(f"training: {regimes['members']} networks per state ({first} ends above {second} in "
                      f"{regimes['simulations_per_state'][1]} of {training['train_points']} simulations), "
                      f"{training['epochs']} epochs in {regimes['networks_seconds']:.1f} s; the classifier between "
                      f"them (calibrated boosted trees) {regimes['gate_seconds']:.1f} s")
    else:
        console.print(f"training: {training['epochs']} epochs in {training['seconds']:.1f} s on "
                      f"{training['train_points']} points ({training['validation_points']} for validation)")
    if "fine_tune" in training:
        tuned, before = training["fine_tune"], training["fine_tune"].get("held_out_before", {})
        r2_before = ", ".join(f"{name} {fmt(v['r2'])}" for name, v in before.items())
        console.print(f"fine-tune in the simulator's units: {tuned['epochs']} epochs in {tuned['seconds']:.1f} s"
                      + (f"; held-out R^2 before it: {r2_before}" if before else ""))
    rows = [[name, fmt(v["rmse"]), fmt(v["r2"]), " .. ".join(fmt(b) for b in v.get("r2_interval", [])),
             f"{fmt(v['range'][0])} .. {fmt(v['range'][1])}" if v["range"] else ""]
            for name, v in quality["observables"].items()]
    print_rows(f"held-out accuracy ({quality['test_points']} simulations; the interval resamples them)",
               ["observable", "RMSE", "R^2", "R^2, 90% interval", "range"], rows, right=("RMSE", "R^2"))
    objective = quality["objective"]
    console.print(f"objective from the surrogate vs simulated: Spearman {objective['spearman']:.3f}; median "
                  f"|error| over the best tenth of test points {fmt(objective['median_abs_error_near_optimum'])}; "
                  f"|error| at the nominal point {fmt(objective['abs_error_at_nominal'])}")
    speed = quality["speed"]
    rows = [["roadrunner, one simulation per call", fmt(speed["roadrunner_single"]), "1"]]
    for key, value in speed.items():
        if key.startswith("surrogate_"):
            _, kind, device = key.split("_")
            calls = "one point per call" if kind == "single" else f"batches of {speed['batch']}"
            label = f"surrogate ({device}), {calls}"
            rows.append([label, fmt(value), fmt(value / speed["roadrunner_single"])])
    print_rows("evaluations per second (this machine)", ["", "per second", "x roadrunner"], rows,
               right=("per second", "x roadrunner"))
