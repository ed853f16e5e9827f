"""Benchmark configurations (``biobench bench CONFIG``): models x methods x seeds, validated.

A method list entry is a name (``lhs``) or a one-key mapping to its options
(``{ga: {pop_size: 10}}``). A model entry is a BioModels ID, an SBML path, the name
of a suite (``suite:offline``, ``suite:biomodels-small``), or a folder whose SBML files
(``*.xml``, ``*.sbml``, sorted by name) are the suite (``dir:../shared/biomodels/models``;
relative to the current directory, as SBML paths are), or a collection folder of PEtab
problems, one sub-folder each (``petab_dir:../shared/benchmark_models_petab``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from biobench.errors import ConfigError
from biobench.settings import ProblemSettings, _Strict, parse_settings, read_yaml

if TYPE_CHECKING:
    from biobench.method_spec import MethodSpec

# Genuine BioModels entries that installed packages ship: available with no network.
OFFLINE_SUITE = ["BIOMD0000000012", "BIOMD0000000507"]
# Small curated ODE models of BioModels (fetched on first use): oscillators, switches and
# signalling cascades of 3-20 species with mass-action or Michaelis-Menten kinetics.
SMALL_SUITE = [
    "BIOMD0000000005",  # Tyson 1991, cell cycle
    "BIOMD0000000010",  # Kholodenko 2000, MAPK cascade with negative feedback
    "BIOMD0000000012",  # Elowitz 2000, repressilator
    "BIOMD0000000021",  # Leloup 1999, Drosophila circadian clock
    "BIOMD0000000028",  # Markevich 2004, MAPK double phosphorylation
    "BIOMD0000000035",  # Vilar 2002, genetic oscillator
    "BIOMD0000000507",  # Gardner 2000, genetic toggle switch
]
SUITES = {"offline": OFFLINE_SUITE, "biomodels-small": SMALL_SUITE}

MethodEntry = str | dict[str, dict[str, Any]]  # a name, or {name: {option: value}}


class CostScaling(_Strict):
    """A time allowance per method and problem, and fewer starts where a simulation is slow.

    Each method may spend ``seconds`` on one problem, shared equally by its starts (each start's
    time limit). A start should have time for at least ``min_evaluations`` simulations, so a
    problem whose simulation is slow runs only the first ``seconds / (min_evaluations x seconds per
    simulation)`` of the config's starts (at least ``min_starts``). The seconds per simulation are the
    problem's measured feature (roadrunner, nominal point; kept in the store, so a resumed bench scales
    as it did). The starts run are the first ones of the full design, so a method is the same method
    on every problem; its leaderboard row says how many starts ran.
    """

    seconds: float = Field(gt=0)
    min_evaluations: int = Field(200, ge=1)
    min_starts: int = Field(3, ge=1)

    def starts_and_limit(self, starts: int, seconds_per_simulation: float,
                         time_limit: float | None) -> tuple[int, float]:
        """(starts to run, seconds per start) on a problem; an unmeasured simulation time runs ``min_starts``."""
        per_start = self.min_evaluations * seconds_per_simulation
        affordable = int(self.seconds // per_start) if 0 < per_start < float("inf") else 0
        run = min(starts, max(self.min_starts, affordable))
        limit = self.seconds / run
        return run, limit if time_limit is None else min(limit, time_limit)


class BenchConfig(_Strict):
    """Everything ``biobench bench`` expands into tasks."""

    models: list[str] = Field(min_length=1)
    problem: ProblemSettings = ProblemSettings()
    initializers: list[MethodEntry] = Field(default_factory=lambda: ["random"], min_length=1)
    optimizers: list[MethodEntry] = Field(default_factory=lambda: ["local"], min_length=1)
    starts: int = Field(10, ge=1)
    budget: int = Field(1000, ge=1)
    time_limit: float | None = Field(None, gt=0)  # seconds per start at most: slow models end early, not hang
    scale: CostScaling | None = None  # starts and time limits per problem from its cost (a collection of sizes)
    # Seconds one evaluation may take beyond time_limit before its start is killed (--executor processes):
    # the time limit is checked between evaluations, so only a kill ends a simulation that hangs.
    simulation_time_limit: float | None = Field(None, gt=0)
    # Seconds to build one problem (load the SBML, simulate the nominal point, measure its features) before
    # the model is refused; the build then runs in a worker process that can be killed.
    build_time_limit: float | None = Field(None, gt=0)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    # simulators every method runs on (biobench.engines: roadrunner, amici, amici:adjoint, ..., auto); each
    # engine's runs are methods of their own
    engines: list[str] = Field(default_factory=lambda: ["roadrunner"], min_length=1)
    delta: float = Field(0.1, ge=0)
    results: str | None = None

    @field_validator("initializers", "optimizers")
    @classmethod
    def _one_key_mappings(cls, methods: list[MethodEntry]) -> list[MethodEntry]:
        for method in methods:
            if isinstance(method, dict) and len(method) != 1:
                raise ValueError("a method with options is a mapping with exactly one key: {name: {option: value}}")
        return methods

    @model_validator(mode="after")
    def _simulation_limit_needs_a_time_limit(self) -> BenchConfig:
        if self.simulation_time_limit is not None and self.time_limit is None and self.scale is None:
            raise ValueError("simulation_time_limit needs time_limit (or scale) too: a start is killed at "
                             "time_limit + simulation_time_limit seconds (set time_limit: 60, say)")
        return self

    @field_validator("engines")
    @classmethod
    def _known_engines(cls, engines: list[str]) -> list[str]:
        from biobench.engines import check_engine

        return [check_engine(name) for name in engines]

    @field_validator("seeds")
    @classmethod
    def _non_negative(cls, seeds: list[int]) -> list[int]:
        if any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct non-negative integers")
        return seeds

    def model_specs(self) -> list[str]:
        """Models with suites expanded, duplicates dropped, order kept."""
        specs: list[str] = []
        for entry in self.models:
            if entry.startswith("suite:"):
                name = entry.removeprefix("suite:")
                if name not in SUITES:
                    raise ConfigError(f"models: unknown suite {name!r}; known: {', '.join(sorted(SUITES))}.")
                specs += SUITES[name]
            elif entry.startswith("dir:"):
                specs += sbml_files(entry.removeprefix("dir:"))
            elif entry.startswith("petab_dir:"):
                specs += petab_problems(entry.removeprefix("petab_dir:"))
            else:
                specs.append(entry)
        return list(dict.fromkeys(specs))

    def method_specs(self, kind: Literal["initializer", "optimizer"]) -> list[MethodSpec]:
        """The config's initializers or optimizers as specs (names and options validated: a ``PluginError``)."""
        from biobench.method_spec import MethodSpec

        entries = self.initializers if kind == "initializer" else self.optimizers
        named = [(entry, {}) if isinstance(entry, str) else next(iter(entry.items())) for entry in entries]
        return [MethodSpec.of(kind, name, options) for name, options in named]


def sbml_files(folder: str) -> list[str]:
    """The SBML files of a folder suite, sorted by name; a missing or empty folder is a config error."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"models: dir:{folder}: no such folder (relative paths start at the current directory, "
                          f"{Path.cwd()}).")
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in (".xml", ".sbml"))
    if not files:
        raise ConfigError(f"models: dir:{folder} holds no SBML files (*.xml, *.sbml).")
    return [str(f) for f in files]


def petab_yaml(folder: Path) -> Path | None:
    """A collection sub-folder's problem file: ``<folder name>.yaml`` (PEtab v1) or ``problem.yaml``."""
    return next((path for path in (folder / f"{folder.name}.yaml", folder / "problem.yaml") if path.is_file()), None)


def petab_problems(folder: str) -> list[str]:
    """The PEtab problems of a collection folder (Benchmark-Models-PEtab's layout: one sub-folder per problem
    holding ``<name>.yaml`` or ``problem.yaml``), sorted by name; a folder with none is a config error."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"models: petab_dir:{folder}: no such folder (relative paths start at the current "
                          f"directory, {Path.cwd()}).")
    found = [str(yaml) for yaml in map(petab_yaml, sorted(p for p in path.iterdir() if p.is_dir())) if yaml]
    if not found:
        raise ConfigError(f"models: petab_dir:{folder} holds no PEtab problems (sub-folders with <name>.yaml or "
                          "problem.yaml).")
    return found


def load_bench_config(path: str | Path) -> BenchConfig:
    config = parse_settings(read_yaml(path), str(path), BenchConfig)
    # Unknown method names and options are named now, not after an hour of runs.
    for kind, key in (("initializer", "initializers"), ("optimizer", "optimizers")):
        try:
            specs = config.method_specs(kind)
        except Exception as exc:
            raise ConfigError(f"{path}: {key}: {exc}") from None
        for spec in specs:
            method = spec.build()
            refused = [e for e in config.engines if getattr(method, "engines", None) and e != "auto"
                       and e.partition(":")[0] not in method.engines]
            if refused:
                raise ConfigError(f"{path}: optimizers: {spec.name} runs on {' or '.join(method.engines)} only "
                                  f"({method.engines_reason}), not on {', '.join(refused)}; give it a bench of "
                                  "its own, or use engines: [auto].")
    for spec in config.model_specs():  # what cannot even name a model is a typo: refused now, not after a bench
        _check_model_spec(spec, path)
    return config


def _check_model_spec(spec: str, config_path: str | Path) -> None:
    """A path must exist and anything else must be a BioModels ID; models that exist but cannot become
    problems are refused later, one by one, without stopping the bench."""
    from biobench.models.ids import looks_like_model_id
    from biobench.models.resolve import is_path_spec
    from biobench.sources import is_petab_spec

    if is_path_spec(spec) or is_petab_spec(spec):
        if not Path(spec).expanduser().exists():
            raise ConfigError(f"{config_path}: models: {spec}: no such file (relative paths start at the current "
                              f"directory, {Path.cwd()}).")
    elif not looks_like_model_id(spec):
        raise ConfigError(f"{config_path}: models: {spec!r} is neither a BioModels ID (BIOMD0000000012, BIOMD12, "
                          "MODEL...) nor a file path.")
