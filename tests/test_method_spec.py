"""A method is made once from what the user typed: validated before any work, built once per process."""

from __future__ import annotations

import pytest

from biobench.errors import PluginError
from biobench.method_spec import MethodSpec
from biobench.optimizers.local import LeastSquaresOptimizer
from biobench.running.runner import run_starts
from biobench.running.store import Store


def test_a_spec_holds_every_option_and_refuses_typos_before_any_work():
    spec = MethodSpec.optimizer("local", {"ftol": "1e-7"})  # a string, as typed on the command line
    assert spec.options["ftol"] == 1e-7 and "differences" in spec.options  # defaults filled in
    assert MethodSpec.optimizer(spec) is spec
    with pytest.raises(PluginError, match="no option"):
        MethodSpec.optimizer("local", {"ftoll": 1e-7})
    with pytest.raises(PluginError, match="Did you mean 'local'"):
        MethodSpec.optimizer("locl")


def test_a_run_builds_its_optimizer_once_whatever_its_starts(two_step_problem, tmp_path, monkeypatch):
    built = []
    original = LeastSquaresOptimizer.__init__

    def counting(self, **options):
        built.append(options)
        original(self, **options)

    monkeypatch.setattr(LeastSquaresOptimizer, "__init__", counting)
    options = {"ftol": 3.25e-9}  # options no other test uses: nothing built for them yet in this process
    summary = run_starts(two_step_problem, "random", "local", n_starts=4, budget=30, seed=0,
                         store=Store(tmp_path / "s.sqlite"), opt_options=options)
    assert len(summary.records) == 4
    assert len([b for b in built if b.get("ftol") == 3.25e-9]) == 1
