"""Every initializer with every optimizer, end to end, on two offline BioModels models and a PEtab problem."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.models import resolve_model
from biobench.optimizers import optimizers
from biobench.problem import build_problem
from biobench.running.runner import run_starts
from biobench.running.store import Store

SMALL = {"bo": {"n_initial": 4, "max_evals": 12, "n_points": 100},
         "bo-gp": {"n_initial": 4, "max_evals": 12}, "bo-tpe": {"n_initial": 4}, "ga": {"pop_size": 6},
         "mcmc": {"chains": 2}}
_GENERATIVE = {"pilot": 48, "trials": 1, "diagnostic_samples": 2}  # small: without them a 25 s search per test
INIT_OPTIONS = {"cvae": _GENERATIVE | {"max_epochs": 30, "patience": 5},
                "cvae-transformer": _GENERATIVE | {"max_epochs": 30, "patience": 5},
                "ccgan": _GENERATIVE | {"max_iterations": 200, "eval_every": 50},
                "amortized": {"datasets": 40, "max_epochs": 20}}


@pytest.fixture(scope="module", params=["BIOMD0000000012", "BIOMD0000000507", "petab"])
def offline_problem(request):
    if request.param == "petab":
        return request.getfixturevalue("petab_problem")
    return build_problem(resolve_model(request.param))


# Initializers and optimizers meet only through x0, so the full cross product proves nothing the two
# sweeps do not: every initializer with one optimizer, every optimizer with one initializer, on each problem.
PAIRS = ([(init, "local") for init in initializers.names()]
         + [("random", opt) for opt in optimizers.names() if opt != "local"])


@pytest.mark.slow
@pytest.mark.parametrize("initializer, optimizer", PAIRS)
def test_every_method_runs_and_stores_what_it_found(offline_problem, initializer, optimizer, tmp_path):
    store = Store(tmp_path / "e2e.sqlite")
    summary = run_starts(offline_problem, initializer, optimizer, n_starts=2, budget=24, seed=0, store=store,
                         init_options=INIT_OPTIONS.get(initializer), opt_options=SMALL.get(optimizer, {}))
    frame = store.runs_frame()
    assert len(frame) == 2
    assert (frame["status"] != "error").all(), frame["message"].tolist()
    assert all(r.start.optimizer == optimizer and r.start.initializer == initializer for r in summary.records)
    # The stored best point is the point of the stored best value: an optimizer reporting its own
    # guess, or the last point instead of the best, fails here.
    likelihood = Likelihood(offline_problem)
    for x_best, fval_best in zip(frame["x_best"], frame["fval_best"]):
        assert likelihood.fval(np.asarray(x_best)) == pytest.approx(fval_best, rel=1e-6)
