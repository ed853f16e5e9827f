"""What several commands share: their options, and the one way from ``--model`` and ``--config`` to a problem."""

from __future__ import annotations

import click

from biobench.commands.terminal import notify
from biobench.errors import ConfigError

RESULTS_HELP = ("Results store: a path, or an SQLAlchemy URL [default: $BIOBENCH_RESULTS, or "
                "results/biobench.sqlite in the home folder: $BIOBENCH_HOME or here].")
results_option = click.option("--results", help=RESULTS_HELP)

MODEL_HELP = "BioModels ID (BIOMD0000000012, BIOMD12), SBML file path, or PEtab problem YAML."

# Options several commands share.
model_option = click.option("--model", "model_spec", required=True, help=MODEL_HELP)
config_option = click.option("--config", type=click.Path(dir_okay=False),
                             help="YAML file with problem settings (and, for run, run defaults).")
init_option = click.option("--init", "initializer", default="random", show_default=True,
                           help="Initializer (see 'biobench plugins').")
init_options_option = click.option("--init-option", "init_option", multiple=True, metavar="KEY=VALUE",
                                   help="Initializer option; repeatable.")
engine_option = click.option(
    "--engine", help="Simulator: roadrunner (embedded, any SBML), amici (compiled; exact sensitivities, the cheapest "
                     "way measured; amici:forward, amici:adjoint or amici:differences fix it) or auto (whichever is "
                     "measured cheaper for the method) [default: roadrunner, or the config's engine].")
starts_file_option = click.option("--starts-file", type=click.Path(dir_okay=False),
                                  help="CSV of your own start points (columns: parameter ids, natural values; or "
                                       "log10(id), scaled); they come first, the initializer fills the rest.")


def problem_from(model_spec: str, config: str | None = None, settings=None):
    """The problem ``--model`` names, built with ``--config``'s problem settings (or the ``settings`` a command
    already read from it); what the loader says on the way goes to the terminal."""
    from biobench.settings import load_run_settings
    from biobench.sources import load_problem

    settings = settings if settings is not None else load_run_settings(config)
    return load_problem(model_spec, settings.problem, notify=notify)


def parse_options(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs of ``--init-option`` or ``--opt-option``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} name=value.")
        options[key.strip()] = value.strip()
    return options
