"""User guesses from a CSV file go first; the initializer fills the rest."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import ConfigError
from biobench.initializers import initializers
from biobench.initializers.guesses import read_starts_file
from biobench.running.runner import start_points


def write(tmp_path, text):
    path = tmp_path / "starts.csv"
    path.write_text(text)
    return path


def test_natural_and_scaled_headers(tmp_path, two_step_problem):
    x = read_starts_file(write(tmp_path, "k1,log10(R2_k2)\n0.5,-1\n1.0,0\n"), two_step_problem)
    np.testing.assert_allclose(x, [[np.log10(0.5), -1], [0.0, 0.0]])


def test_guesses_come_first_and_the_initializer_fills_the_rest(tmp_path, two_step_problem):
    guesses = read_starts_file(write(tmp_path, "k1,R2_k2\n0.5,0.2\n"), two_step_problem)
    init = initializers.get("lhs")()
    points = start_points(two_step_problem, init, 5, seed=1, guesses=guesses).points
    assert points.shape == (5, 2)
    np.testing.assert_allclose(points[0], two_step_problem.x_true)
    np.testing.assert_array_equal(points[1:], start_points(two_step_problem, init, 4, seed=1).points)


@pytest.mark.parametrize(
    "text, message",
    [
        ("k1\n0.5\n", "no column for R2_k2"),
        ("k1,R2_k2,k9\n0.5,0.2,1\n", "'k9' is not an estimated parameter"),
        ("k1,log(R2_k2)\n0.5,-1\n", "estimated on log10 scale"),
        ("k1,R2_k2\n0.5,abc\n", "row 1, column 'R2_k2'"),
        ("k1,R2_k2\n0.5,0.2\n-1,0.2\n", "row 2, column 'k1'"),
        ("k1,R2_k2\n0.5,0.2\n500,0.2\n", "row 2: k1 lies outside its bounds"),
        ("k1,k1\n0.5,0.2\n", "two columns"),
        ("k1,R2_k2\n", "no start points"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, two_step_problem, text, message):
    with pytest.raises(ConfigError, match=message):
        read_starts_file(write(tmp_path, text), two_step_problem)


def test_more_guesses_than_starts_is_refused(tmp_path, two_step_problem):
    guesses = read_starts_file(write(tmp_path, "k1,R2_k2\n0.5,0.2\n0.4,0.1\n"), two_step_problem)
    with pytest.raises(ConfigError, match="2 points but only 1 starts"):
        start_points(two_step_problem, initializers.get("random")(), 1, seed=0, guesses=guesses)
