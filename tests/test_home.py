"""One home folder for what biobench writes: $BIOBENCH_HOME, else the current folder."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from biobench.commands import main
from biobench.models.cache import default_cache_dir
from biobench.running.store import results_url
from biobench.surrogate.build import default_folder
from tests.conftest import DATA


def test_the_home_holds_results_cache_and_surrogates(tmp_path, monkeypatch):
    for name in ("BIOBENCH_RESULTS", "BIOBENCH_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BIOBENCH_HOME", str(tmp_path))
    assert results_url() == f"sqlite:///{tmp_path / 'results' / 'biobench.sqlite'}"
    assert default_cache_dir() == tmp_path / "models_cache"
    assert default_folder() == tmp_path / "surrogates"
    monkeypatch.setenv("BIOBENCH_RESULTS", str(tmp_path / "elsewhere.sqlite"))  # a narrower variable wins
    assert results_url().endswith("elsewhere.sqlite")


def test_without_a_home_it_is_the_current_folder(tmp_path, monkeypatch):
    for name in ("BIOBENCH_HOME", "BIOBENCH_RESULTS", "BIOBENCH_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_cache_dir() == Path("models_cache") and default_folder() == Path("surrogates")


def test_run_then_leaderboard_use_the_home_store(tmp_path, monkeypatch):
    monkeypatch.delenv("BIOBENCH_RESULTS", raising=False)
    monkeypatch.setenv("BIOBENCH_HOME", str(tmp_path))
    run = CliRunner().invoke(main, ["run", "--model", str(DATA / "two_step.xml"), "--starts", "1", "--budget", "20"])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "results" / "biobench.sqlite").is_file()
    board = CliRunner().invoke(main, ["leaderboard", "--format", "csv"])
    assert board.exit_code == 0 and "random + local" in board.output
