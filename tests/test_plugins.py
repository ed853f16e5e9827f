"""Plugin options are pydantic models: validated with errors that name the option, listed from the same model."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from biobench.commands import main
from biobench.errors import PluginError
from biobench.initializers import initializers
from biobench.optimizers import optimizers
from biobench.plugins import PluginOptions, describe_options
from biobench.running.records import StartIdentity


@pytest.mark.parametrize("registry", [initializers, optimizers], ids=["initializers", "optimizers"])
def test_every_plugin_declares_its_options_as_a_model(registry):
    for name in registry.names():
        cls = registry.get(name)
        assert issubclass(cls.Options, PluginOptions), name
        assert cls().options == cls.Options().model_dump(), name  # defaults come from the model alone


@pytest.mark.parametrize("options, message", [
    ({"pop_size": "1"}, "pop_size must be at least 2, not '1'"),
    ({"pop_size": "many"}, "option pop_size='many' is not a valid int"),
    ({"eta_mutation": 0}, "eta_mutation must be greater than 0"),
    ({"crossover": "sbx"}, r"has no option\(s\) \['crossover'\]; its options: pop_size=20 \(>= 2\)"),
])
def test_bad_options_are_named_with_the_way_out(options, message):
    with pytest.raises(PluginError, match=message):
        optimizers.get("ga")(**options)


def test_command_line_strings_become_typed_values():
    opt = optimizers.get("mcmc")(chains="2", step="slice", tune_fraction="0.25")
    assert opt.options == {"chains": 2, "step": "slice", "tune_fraction": 0.25}
    with pytest.raises(PluginError, match="step must be one of 'demetropolisz' or 'slice'"):
        optimizers.get("mcmc")(step="nuts")
    assert initializers.get("cvae")(retrain="yes").options["retrain"] is True


def test_plugins_lists_defaults_and_limits_from_the_models():
    described = {name: describe_options(optimizers.get(name).Options) for name in ("mcmc", "bo")}
    assert "tune_fraction=0.5 (>= 0, < 1)" in described["mcmc"]
    assert "acq_func='EI' (EI | PI | LCB)" in described["bo"] and "refit_growth=1.2 (>= 1.0)" in described["bo"]
    assert describe_options(initializers.get("random").Options) == "none"
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0 and "pilot=256" in result.output and "pop_size=20" in result.output


def test_start_keys_are_the_ones_earlier_stores_hold():
    """A rerun must find the starts stored before the identity became one object: the key did not change."""
    bo = {"n_initial": 10, "max_evals": 50, "acq_func": "gp_hedge", "n_restarts_optimizer": 2, "n_points": 2000}
    start = StartIdentity("abc", "lhs", "bo", 0, 10, 1000, 3, {"optimization": "none"}, bo)
    assert start.key == "52c1c155136f55434ceea73f96d7f7a8"  # task_key(...) of biobench 3a8f505
    assert start.key != StartIdentity("abc", "lhs", "bo", 0, 10, 1000, 4, {"optimization": "none"}, bo).key


def test_the_torch_family_is_listed_without_importing_torch_and_loads_when_asked():
    """Every command imports the registries; importing torch there costs every command a second or more."""
    import subprocess
    import sys

    code = ("import sys; from biobench.commands import main; from biobench.initializers import initializers; "
            "names = initializers.names(); assert {'cvae', 'cvae-transformer', 'ccgan'} <= set(names), names; "
            "assert 'torch' not in sys.modules, 'torch imported by the registry'; "
            "assert initializers.get('ccgan').name == 'ccgan' and 'torch' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_lists_every_plugin_and_suggests_the_closest():
    with pytest.raises(PluginError) as caught:
        initializers.get("cvea")
    message = str(caught.value)
    assert "Did you mean 'cvae'?" in message
    for lazily_registered in ("cvae", "ccgan", "amortized"):  # registered when first asked for, listed anyway
        assert lazily_registered in message


def test_a_default_built_by_a_factory_is_listed_as_its_value():
    assert "local_options={}" in describe_options(optimizers.get("ess").Options)


def test_an_option_added_later_keeps_the_keys_of_starts_stored_before_it(tmp_path, two_step_problem):
    """fides' ``hessian`` came after stores held fides starts: at its old behaviour ("gn") it is not in the key;
    set otherwise it is, so the two never pool."""
    from biobench.running.runner import prepare_starts
    from biobench.running.store import Store

    before = {k: v for k, v in optimizers.get("fides")().options.items() if k != "hessian"}  # what was stored
    store = Store(tmp_path / "r.sqlite")
    plain, _, _ = prepare_starts(two_step_problem, "random", "fides", n_starts=2, budget=50, seed=0, store=store)
    assert plain[0].start.key == StartIdentity(two_step_problem.key, "random", "fides", 0, 2, 50, 0,
                                               plain[0].start.init_options, before).key
    other, _, _ = prepare_starts(two_step_problem, "random", "fides", n_starts=2, budget=50, seed=0, store=store,
                                 opt_options={"hessian": "fx"})
    assert other[0].start.key != plain[0].start.key and other[0].start.opt_options["hessian"] == "fx"
