"""The measurement times of a synthetic problem when its config says ``time.end: auto``.

A settling model is measured over twice its settling time, so the transient is seen. A
model that does not settle within ``MAX_AUTO_END`` may oscillate: then a fixed 51-point
grid can fall below a few points per period (aliasing: the data no longer show the
oscillation the fit must reproduce), so the period is measured on the nominal trajectory
and the grid gets at least ``POINTS_PER_PERIOD`` points per period over at most
``PERIODS`` periods. A model whose nominal simulation fails before ``MAX_AUTO_END`` (it
blows up, or CVODE gives up late) gets the same rules within the longest of 100, 10 and
1 time units that it survives. Peak finding is scipy's; the horizon rules are biobench's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.signal import find_peaks

from biobench.errors import ProblemError
from biobench.settings import TimeSettings

MAX_AUTO_END = 1000.0
SETTLE_TOLERANCE = 0.02  # settled: every observable within 2% of its range of its final value
POINTS_PER_PERIOD = 8
PERIODS = 10  # an oscillator's horizon covers this many periods (within MAX_AUTO_END)
MAX_POINTS = 2001  # the most time points an automatic grid may get
_PROBE_POINTS = 20_001  # uniform probe of [0, MAX_AUTO_END] for peaks: periods down to ~0.5 time units
_PEAK_PROMINENCE = 0.05  # a peak rises by 5% of the observable's range above its surroundings

Trajectory = Callable[[np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class TimeGrid:
    times: np.ndarray
    period: float | None = None  # of the nominal trajectory's sustained oscillation, when one was found

    def describe(self) -> str | None:
        """One line for a problem summary when the grid was shaped by an oscillation."""
        if self.period is None:
            return None
        per_period = (len(self.times) - 1) * self.period / (self.times[-1] - self.times[0])
        return (f"the nominal trajectory oscillates with period {self.period:.4g}: {len(self.times)} time points, "
                f"{per_period:.1f} per period, over {(self.times[-1] - self.times[0]) / self.period:.1f} periods")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= value, so horizons read well."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 2, 5, 10):
        if mantissa * 10.0**exponent >= value * (1 - 1e-12):
            return float(mantissa * 10.0**exponent)
    return float(10.0 ** (exponent + 1))


def settling_end(trajectory: Trajectory, window: float = MAX_AUTO_END) -> float | None:
    """Twice the time the nominal trajectory needs to settle within 2% of its final state; None if it never does."""
    times = np.concatenate([[0.0], np.logspace(-4, math.log10(window), 281)])
    y = _simulate(trajectory, times)
    scale = np.abs(y).max(axis=0)
    moving = scale > 0
    if not moving.any():
        return window  # nothing moves: the full window, as before oscillation-aware grids
    deviation = np.abs(y[:, moving] - y[-1, moving]) / scale[moving]
    unsettled = np.flatnonzero((deviation > SETTLE_TOLERANCE).any(axis=1))
    if unsettled.size == 0:
        return nice_ceiling(times[1])
    if unsettled[-1] >= len(times) - 2:
        return None  # still moving at the end of the window
    return min(window, nice_ceiling(2.0 * times[unsettled[-1] + 1]))


def oscillation_period(trajectory: Trajectory, window: float = MAX_AUTO_END) -> float | None:
    """The shortest period among observables that keep oscillating through the second half of the window.

    Sustained means at least three prominent peaks in the second half; damped oscillations
    settle and never get here, slow drifts have no peaks.
    """
    times = np.linspace(0.0, window, _PROBE_POINTS)
    y = _simulate(trajectory, times)
    late = times >= window / 2
    periods = []
    for column in y.T:
        span = np.ptp(column)
        if span <= 0:
            continue
        peaks, _ = find_peaks(column[late], prominence=_PEAK_PROMINENCE * span)
        if len(peaks) >= 3:
            periods.append(float(np.median(np.diff(times[late][peaks]))))
    return min(periods) if periods else None


def time_grid(settings: TimeSettings, trajectory: Trajectory) -> TimeGrid:
    """Explicit points, ``n`` points over a fixed end, or an automatic horizon (see the module docstring)."""
    if settings.points is not None:
        return TimeGrid(np.asarray(settings.points, dtype=float))
    if settings.end != "auto":
        return TimeGrid(np.linspace(0.0, float(settings.end), settings.n))
    for window in _WINDOWS:
        try:
            return _automatic(settings, trajectory, window)
        except _Unsimulable:
            continue
    raise ProblemError("the nominal model cannot be simulated even to t = 1 to find a time horizon; set time.end "
                       "in the config.")


_WINDOWS = (MAX_AUTO_END, 100.0, 10.0, 1.0)


class _Unsimulable(Exception):
    """The nominal trajectory fails within the window being tried."""


def _automatic(settings: TimeSettings, trajectory: Trajectory, window: float) -> TimeGrid:
    end = settling_end(trajectory, window)
    if end is not None:
        return TimeGrid(np.linspace(0.0, end, settings.n))
    period = oscillation_period(trajectory, window)
    if period is None:
        return TimeGrid(np.linspace(0.0, window, settings.n))
    end = min(window, nice_ceiling(PERIODS * period))
    n = min(MAX_POINTS, max(settings.n, math.ceil(POINTS_PER_PERIOD * end / period) + 1))
    return TimeGrid(np.linspace(0.0, end, n), period)


def _simulate(trajectory: Trajectory, times: np.ndarray) -> np.ndarray:
    y = trajectory(times)
    if y is None:
        raise _Unsimulable()
    return y
