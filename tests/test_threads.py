"""Every command caps compute threads (one per process unless raised): a shared machine stays usable."""

from __future__ import annotations

import os

import numpy as np  # noqa: F401 (its BLAS pool is what the cap must reach)
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_info, threadpool_limits

from biobench.commands import main
from biobench.threads import THREAD_VARIABLES


@pytest.fixture
def restored_threads():
    saved_env = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    with threadpool_limits(limits=None):  # restores every pool's size on exit
        yield
    for name, value in saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.mark.parametrize("args, env, expected", [([], {}, 1), (["--threads", "2"], {}, 2),
                                                 ([], {"BIOBENCH_THREADS": "3"}, 3)])
def test_any_command_caps_the_pools_loaded_and_those_loaded_later(args, env, expected, restored_threads):
    with threadpool_limits(limits=4):  # as a library would size itself on a bigger machine
        result = CliRunner().invoke(main, [*args, "plugins"], env=env)
        assert result.exit_code == 0, result.output
        pools = threadpool_info()
        assert pools and all(pool["num_threads"] == expected for pool in pools)
        assert all(os.environ[name] == str(expected) for name in THREAD_VARIABLES)


def test_a_thread_count_below_one_is_refused(restored_threads):
    result = CliRunner().invoke(main, ["--threads", "0", "plugins"])
    assert result.exit_code != 0 and "--threads" in result.output


@pytest.mark.parametrize("env, expected", [(None, 1), ("2", 2)])
def test_a_benchmark_script_caps_its_pools_as_the_command_line_does(env, expected, restored_threads, monkeypatch):
    """benchmarks/ run methods in their own process: their CPU seconds must not count spinning threads."""
    from biobench.threads import limit_threads_as_configured

    if env is None:
        monkeypatch.delenv("BIOBENCH_THREADS", raising=False)
    else:
        monkeypatch.setenv("BIOBENCH_THREADS", env)
    with threadpool_limits(limits=4):
        assert limit_threads_as_configured() == expected
        assert all(pool["num_threads"] == expected for pool in threadpool_info())
        assert all(os.environ[name] == str(expected) for name in THREAD_VARIABLES)
