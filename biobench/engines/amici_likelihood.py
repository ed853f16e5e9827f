"""The objective of a problem simulated by AMICI: value, weighted residuals, and exact derivatives.

AMICI's PEtab layer maps the problem's parameters onto each condition's model parameters
(``fill_in_parameters``) and computes, per condition, the log-likelihood, the weighted
residuals and, with sensitivities, their derivatives with respect to the (scaled) model
parameters. This module sums them over conditions and maps the derivatives back onto the
problem's parameters, which AMICI's own ``aggregate_sllh`` does for the gradient only: the
residual Jacobian (what fides' Gauss-Newton Hessian and least squares need) is mapped here,
through one 0/1 matrix per condition. Objective priors are biobench's own
(``biobench.priors``, the PEtab v1 convention), added to AMICI's likelihood, so both engines
score a problem with one prior.

Residuals are AMICI's: ``0.5 * |r|^2`` equals the negative log-likelihood up to a constant
(with sigma residuals for parameter-dependent noise, ``Model.set_add_sigma_residuals``).
A surrogate (``--opt surrogate``) learns this engine's simulated observable and the log of its
sigma at every measurement (``simulator.last_outputs``), which ``fvals_of_outputs`` scores with
the noise model (Gaussian on the observable's lin, log or log10 scale) without a simulation.
"""

from __future__ import annotations

import math
import time

import numpy as np

from biobench.engines.amici_build import CompiledModel, quiet_logs, compile_model, silence_simulation_logs
from biobench.engines.costs import load_or_measure
from biobench.errors import ProblemError
from biobench.likelihood import Derivatives, ReferenceValues
from biobench.priors import ObjectivePrior
from biobench.problem import Problem

_ABSOLUTE_TOLERANCE = 1e-12


class EngineClock:
    """What the ``Objective`` reads of an engine's simulator: time inside it, the last failure, and the outputs
    of the last successful simulation (a surrogate's training data), made from its results only when read:
    the objective runs millions of times, a surrogate reads a few hundred."""

    def __init__(self, outputs_of) -> None:
        self.seconds = 0.0
        self.last_error: str | None = None
        self._outputs_of = outputs_of  # (AMICI's results, fval) -> outputs, or None
        self._last: tuple | None = None
        self._outputs: np.ndarray | None = None

    def keep(self, rdatas, fval: float) -> None:
        self._last, self._outputs = (rdatas, fval), None

    @property
    def last_outputs(self) -> np.ndarray | None:
        if self._outputs is None and self._last is not None:
            self._outputs = self._outputs_of(*self._last)
        return self._outputs


class AmiciLikelihood(ReferenceValues):
    """Scaled parameters -> (residuals, negative log-posterior), and derivatives, by AMICI.

    ``gradient`` ("forward", "adjoint", "differences") fixes how methods get derivatives; by default the
    cheapest way measured on the problem (``SensitivityCosts.choose``)."""

    def __init__(self, problem: Problem, compiled: CompiledModel | None = None, say=print,
                 gradient: str | None = None) -> None:
        import amici.sim.sundials as sundials
        from amici.sim.sundials.petab.v1 import create_edatas
        from amici.sim.sundials.petab.v1._parameter_mapping import create_parameter_mapping

        self._sundials = sundials
        silence_simulation_logs()
        self.problem = problem
        self.lower, self.upper = problem.lower, problem.upper
        self.compiled = compiled or compile_model(problem, say=say)
        petab_problem = self.compiled.petab_problem
        free_ids = list(petab_problem.x_free_ids)
        if free_ids != list(problem.parameter_ids):
            raise ProblemError(f"{problem.model.model_id}: AMICI estimates {free_ids}, biobench "
                               f"{list(problem.parameter_ids)}; use --engine roadrunner.")
        self._ids = free_ids
        self.model = self.compiled.create()
        # events and piecewise switches: AMICI warns that its adjoint may be wrong across them
        self.discontinuous = self.model.ne > 0
        self.model.set_add_sigma_residuals(True)  # parameter-dependent sigma: its log term as residuals too
        self.solver = self.model.create_solver()
        integrator = problem.settings.integrator
        self.solver.set_relative_tolerance(integrator.relative_tolerance)
        # roadrunner's default absolute tolerance, not AMICI's 1e-16: with that, forward sensitivities of
        # Lucarelli at its nominal point end in AMICI_TOO_MUCH_WORK (1e-12: 3.3 CPU s, fval moves by 5e-9 rel)
        self.solver.set_absolute_tolerance(integrator.absolute_tolerance or _ABSOLUTE_TOLERANCE)
        self.solver.set_max_steps(max(integrator.maximum_num_steps, 100_000))  # AMICI counts steps per interval
        # a steady state is reached at the integration tolerances, not AMICI's 100 times looser default: with it
        # Raimundez's likelihood at nominal is 550.2001, with this 550.0360 (the collection's 550.0360, roadrunner's too)
        self.solver.set_steady_state_tolerance_factor(1.0)
        self.solver.set_steady_state_sensi_tolerance_factor(1.0)
        with quiet_logs():
            conditions = petab_problem.get_simulation_conditions_from_measurement_df()
            self._mapping = create_parameter_mapping(petab_problem, conditions, scaled_parameters=True,
                                                     amici_model=self.model)
            self._edatas = create_edatas(amici_model=self.model, petab_problem=petab_problem,
                                         simulation_conditions=conditions)
        # the nominal point within the bounds (Lang's nominal 0 on log10 scale is -inf), or the centre of the
        # bounds where it has no value: mapped now, costs measured there
        reference = self.reference = (np.clip(problem.x_true, self.lower, self.upper)
                                      if not np.isnan(problem.nominal).any() else 0.5 * (self.lower + self.upper))
        self._fill(reference)
        self._maps = [self._column_map(mapping, edata) for mapping, edata in zip(self._mapping, self._edatas)]
        self._prior = (ObjectivePrior(problem.objective_priors, problem.scales)
                       if any(p is not None for p in problem.objective_priors) else None)
        n_model = sum(len(edata.get_timepoints()) for edata in self._edatas) * self.model.ny * 2
        self._surrogate_scoring()
        self.n_residuals = n_model + (self._prior.n_residuals if self._prior else 0)
        self.simulator = EngineClock(self._outputs_of)
        self._check_least_squares(reference)
        # what a sensitivity solve is charged: measured once per problem, kept beside the compiled model
        self.costs = load_or_measure(self, reference, self.compiled.module_dir / f"costs-{problem.key[:16]}.json")
        # how methods get derivatives here: the cheapest measured way, or the one ``gradient`` fixes
        self.jacobian_method = self.costs.choose("jacobian", gradient)
        self.gradient_method = self.costs.choose("gradient", gradient)

    def _check_least_squares(self, x: np.ndarray) -> None:
        """fval - 0.5 |r|^2 must not depend on the parameters: fides' gradient J^T r and least squares rest on it.

        True of AMICI's Gaussian residuals (sigma residuals included); refused, not approximated, otherwise.
        """
        offsets = []
        for point in (x, np.clip(x + 0.05, self.lower, self.upper)):
            evaluated = self.evaluate(point)
            if evaluated is not None:
                offsets.append(evaluated[1] - 0.5 * float(evaluated[0] @ evaluated[0]))
        if len(offsets) == 2 and abs(offsets[0] - offsets[1]) > 1e-6 * max(1.0, abs(offsets[0])):
            raise ProblemError(f"{self.problem.model.model_id}: AMICI's residuals are not a least-squares form of "
                               "its likelihood here (Laplace noise?), which gradient-based methods rely on; use "
                               "--engine roadrunner.")

    # -- parameter mapping --------------------------------------------------------------------
    def _fill(self, x: np.ndarray) -> None:
        from amici.sim.sundials.petab.v1 import fill_in_parameters

        fill_in_parameters(edatas=self._edatas, problem_parameters=dict(zip(self._ids, map(float, x))),
                           scaled_parameters=True, parameter_mapping=self._mapping, amici_model=self.model)

    def _column_map(self, mapping, edata) -> np.ndarray:
        """(sensitivity column of this condition) x (problem parameter): 1 where the model parameter is it."""
        free = self.model.get_free_parameter_ids()
        plist = list(edata.plist) or list(range(len(free)))
        index = {pid: i for i, pid in enumerate(self._ids)}
        matrix = np.zeros((len(plist), len(self._ids)))
        for row, ip in enumerate(plist):
            target = mapping.map_sim_var[free[ip]]
            if isinstance(target, str) and target in index:
                if mapping.scale_map_sim_var[free[ip]] != self.problem.scales[index[target]]:
                    raise ProblemError(f"{self.problem.model.model_id}: AMICI maps {free[ip]} on another scale "
                                       f"than {target}'s; use --engine roadrunner.")
                matrix[row, index[target]] = 1.0
        return matrix

    # -- evaluation ---------------------------------------------------------------------------
    def natural(self, x: np.ndarray) -> np.ndarray:
        return self.problem.to_natural(x)

    def _simulate(self, x: np.ndarray, method: str | None):
        s = self._sundials
        order = s.SensitivityOrder.none if method is None else s.SensitivityOrder.first
        # residuals mode: llh, res and sres without full trajectories; an adjoint solve reports sllh in full
        # mode only, and AMICI refuses residuals mode while the adjoint method is set, so order matters
        if method == "adjoint":
            self.solver.set_return_data_reporting_mode(s.RDataReporting.full)
            self.solver.set_sensitivity_method(s.SensitivityMethod.adjoint)
        else:
            self.solver.set_sensitivity_method(s.SensitivityMethod.forward)
            self.solver.set_return_data_reporting_mode(s.RDataReporting.residuals)
        self.solver.set_sensitivity_order(order)
        started = time.perf_counter()
        try:
            self._fill(x)
            rdatas = s.run_simulations(self.model, self.solver, self._edatas, failfast=True)
        finally:
            self.simulator.seconds += time.perf_counter() - started
        for rdata in rdatas:
            if rdata.status != s.AMICI_SUCCESS:
                self.simulator.last_error = f"AMICI: {s.simulation_status_to_str(rdata.status)}"
                return None
        return rdatas

    def _value(self, rdatas, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        fval = -float(sum(rdata.llh for rdata in rdatas))
        residuals = np.concatenate([np.asarray(rdata.res, dtype=float) for rdata in rdatas])
        self.simulator.keep(rdatas, fval)
        if self._prior is not None:
            prior = self._prior.residuals(x, self.natural(x))
            fval += 0.5 * float(prior @ prior) + self._prior.constant
            residuals = np.concatenate([residuals, prior])
        if not (math.isfinite(fval) and np.isfinite(residuals).all()):
            self.simulator.last_error = "non-finite likelihood"
            return None
        return residuals, fval

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(residuals, fval) at scaled ``x``; None when a simulation fails."""
        rdatas = self._simulate(x, None)
        return None if rdatas is None else self._value(rdatas, x)

    __call__ = evaluate

    def derivatives(self, x: np.ndarray, method: str = "forward") -> Derivatives | None:
        """Value, gradient and (forward only) residual Jacobian at scaled ``x``; None when a simulation fails."""
        rdatas = self._simulate(x, method)
        if rdatas is None:
            return None
        value = self._value(rdatas, x)
        if value is None:
            return None
        jacobian = None
        if method == "forward":
            jacobian = np.vstack([np.asarray(rdata.sres, dtype=float).reshape(len(rdata.res), -1) @ matrix
                                  for rdata, matrix in zip(rdatas, self._maps)])
            model_residuals = value[0][:len(jacobian)]
            gradient = jacobian.T @ model_residuals
        else:
            gradient = -sum(np.asarray(rdata.sllh, dtype=float) @ matrix for rdata, matrix in zip(rdatas, self._maps))
        if self._prior is not None:
            prior_jacobian = self._prior_jacobian(x)
            prior = value[0][len(value[0]) - self._prior.n_residuals:]
            gradient = gradient + prior_jacobian.T @ prior
            if jacobian is not None:
                jacobian = np.vstack([jacobian, prior_jacobian])
        if not np.isfinite(gradient).all() or (jacobian is not None and not np.isfinite(jacobian).all()):
            self.simulator.last_error = "non-finite sensitivities"
            return None
        return Derivatives(value[0], value[1], np.asarray(gradient, dtype=float), jacobian)

    # -- a surrogate's outputs and their score ---------------------------------------------------
    def _surrogate_scoring(self) -> None:
        """Which (time, observable) entries of each condition were measured, their values and scale."""
        scaling = np.array([int(self.model.get_observable_scaling(i)) for i in range(self.model.ny)])
        masks, values, scales = [], [], []
        for edata in self._edatas:
            measured = np.asarray(edata.get_measurements(), dtype=float)
            mask = np.isfinite(measured)
            masks.append(mask)
            values.append(measured[mask])
            scales.append(np.tile(scaling, len(measured) // max(1, self.model.ny))[mask])
        self._measured_masks = masks
        self._scale = np.concatenate(scales)  # AMICI's ObservableScaling: 0 lin, 1 log, 2 log10
        self._data = self._on_scale(np.concatenate(values))
        self._model_offset: float | None = None  # fval minus the Gaussian terms the outputs give: constant

    def _on_scale(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._scale == 1, np.log(values), np.where(self._scale == 2, np.log10(values), values))

    def _outputs_of(self, rdatas, fval: float) -> np.ndarray | None:
        """The simulated observables and log sigmas at the measurements (a surrogate's training data); the
        constant that turns their Gaussian terms into this fval is kept for ``fvals_of_outputs``."""
        y = np.concatenate([np.asarray(r.y, dtype=float).ravel()[m] for r, m in zip(rdatas, self._measured_masks)])
        sigma = np.concatenate([np.asarray(r.sigmay, dtype=float).ravel()[m]
                                for r, m in zip(rdatas, self._measured_masks)])
        with np.errstate(divide="ignore", invalid="ignore"):
            outputs = np.concatenate([y, np.log(sigma)])
        if not (math.isfinite(fval) and np.isfinite(outputs).all()):
            return None
        self._model_offset = fval - self._gaussian_terms(outputs[None])[0]
        return outputs

    def _gaussian_terms(self, outputs: np.ndarray) -> np.ndarray:
        """Per row of (observables, log sigmas): sum of 0.5 ((data - y) / sigma)^2 + log sigma on each
        observable's scale (the rest of AMICI's Gaussian log-likelihood depends on the data only)."""
        n = len(self._data)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_sigma = outputs[:, n:]
            weighted = (self._data - self._on_scale(outputs[:, :n])) * np.exp(-log_sigma)
            return 0.5 * np.einsum("ij,ij->i", weighted, weighted) + log_sigma.sum(axis=1)

    def fvals_of_outputs(self, outputs: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The objective for many (outputs, scaled x) pairs, ``outputs`` shaped as ``simulator.last_outputs``
        (observables and log sigmas a surrogate predicts), plus the priors at x; inf where that fails."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self._model_offset is None:  # no simulation's outputs read yet: no constant to add
            return np.full(len(x), np.inf)
        fvals = self._gaussian_terms(np.asarray(outputs, dtype=float).reshape(len(x), -1)) + self._model_offset
        if self._prior is not None:
            fvals = fvals + np.array([self.prior(point) for point in x])
        return np.where(np.isfinite(fvals), fvals, np.inf)

    def _prior_jacobian(self, x: np.ndarray) -> np.ndarray:
        """d(prior residuals)/dx by central differences of closed-form functions (no simulation; error ~1e-10)."""
        jac = np.zeros((self._prior.n_residuals, len(x)))
        for i in range(len(x)):
            h = 1e-6 * max(1.0, abs(x[i]))
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            jac[:, i] = (self._prior.residuals(up, self.natural(up))
                         - self._prior.residuals(down, self.natural(down))) / (2 * h)
        return jac
