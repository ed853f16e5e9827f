"""The results store: SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL) on request.

One row per start in ``runs``, its best-so-far trace in ``traces``, every point it
evaluated in ``evaluations`` (training data for the cvae), and one row per problem in
``problems`` (with the objective at the true parameters, which
leaderboards need for f_ref). A start's rows are written in a single
transaction, so a run killed midway leaves only complete rows behind.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from biobench.errors import StoreError
from biobench.home import under_home
from biobench.running.records import RunRecord

RESULTS_ENV = "BIOBENCH_RESULTS"
DEFAULT_RESULTS = "results/biobench.sqlite"
_VERSIONED = ("biobench", "libroadrunner", "python-libsbml", "numpy", "scipy")

meta = sa.MetaData()

problems = sa.Table(
    "problems",
    meta,
    sa.Column("problem_key", sa.String(64), primary_key=True),
    sa.Column("problem_id", sa.String(200), nullable=False),
    sa.Column("model_id", sa.String(200), nullable=False),
    sa.Column("model_name", sa.Text),
    sa.Column("model_sha256", sa.String(64)),
    sa.Column("parameter_ids", sa.Text, nullable=False),  # JSON list
    sa.Column("x_true", sa.Text),  # JSON list, scaled; null where no truth is known (PEtab problems)
    sa.Column("f_true", sa.Float),
    # a published problem's best value found by some start and confirmed by a second engine at the same point
    # (``biobench collection check --results``): with f_true, the target its starts are judged against
    sa.Column("f_confirmed", sa.Float),
    sa.Column("confirmed_by", sa.Text),  # JSON: the start's key and each engine's value there
    sa.Column("n_data", sa.Integer),
    sa.Column("description", sa.Text),  # JSON: Problem.describe()
    sa.Column("created_at", sa.String(40)),
)

runs = sa.Table(
    "runs",
    meta,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_key", sa.String(64), nullable=False, unique=True),
    sa.Column("problem_key", sa.String(64), sa.ForeignKey("problems.problem_key"), nullable=False, index=True),
    sa.Column("model_id", sa.String(200), nullable=False, index=True),
    sa.Column("initializer", sa.String(100), nullable=False),
    sa.Column("optimizer", sa.String(100), nullable=False),
    sa.Column("engine", sa.String(40), nullable=False, server_default="roadrunner"),
    sa.Column("init_options", sa.Text),
    sa.Column("opt_options", sa.Text),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("start_index", sa.Integer, nullable=False),
    sa.Column("n_starts", sa.Integer, nullable=False),
    sa.Column("budget", sa.Integer, nullable=False),
    sa.Column("x0", sa.Text, nullable=False),
    sa.Column("fval0", sa.Float),
    sa.Column("x_best", sa.Text, nullable=False),
    sa.Column("fval_best", sa.Float),
    sa.Column("n_evals", sa.Float, nullable=False),  # simulation-equivalents: a sensitivity solve counts its cost
    sa.Column("n_failures", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("simulation_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("cpu_seconds", sa.Float, nullable=False, server_default="0"),  # process CPU time, every thread
    sa.Column("pilot_evals", sa.Float, nullable=False, server_default="0"),
    sa.Column("pilot_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("extras", sa.Text),  # JSON
    sa.Column("versions", sa.Text),
    sa.Column("created_at", sa.String(40)),
)

traces = sa.Table(
    "traces",
    meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("eval_index", sa.Integer, primary_key=True),
    sa.Column("fval_best", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
)


evaluations = sa.Table(
    "evaluations",
    meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("eval_index", sa.Integer, primary_key=True),
    sa.Column("x", sa.Text, nullable=False),  # JSON list, scaled
    sa.Column("fval", sa.Float),  # NULL: the simulation failed
)


refusals = sa.Table(
    "refusals",
    meta,
    sa.Column("model_spec", sa.String(1000), primary_key=True),  # what the config named
    sa.Column("reason", sa.Text, nullable=False),  # one line: why no problem could be built
    sa.Column("created_at", sa.String(40)),
)


features = sa.Table(
    "features",
    meta,
    sa.Column("problem_key", sa.String(64), primary_key=True),
    sa.Column("problem_id", sa.String(200), nullable=False),
    sa.Column("model_id", sa.String(200), nullable=False),
    sa.Column("features", sa.Text, nullable=False),  # JSON: name -> number (NaN as null)
    sa.Column("created_at", sa.String(40)),
)


def _versions() -> str:
    found = {}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return json.dumps(found, sort_keys=True)


def _float(value: float) -> float | None:
    """NaN is stored as NULL; +inf (a failed start) is stored as is."""
    return None if value is None or math.isnan(value) else float(value)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _resolved(location: str | os.PathLike | None) -> str | Path:
    """What a results location names: an SQLAlchemy URL, or the SQLite file (a folder gets the default name);
    from the argument, ``$BIOBENCH_RESULTS`` or the default in the home folder."""
    location = str(location or os.environ.get(RESULTS_ENV) or under_home(DEFAULT_RESULTS))
    if location.startswith(("postgresql://", "postgres://")):  # the driver biobench installs: psycopg 3
        return "postgresql+psycopg://" + location.split("://", 1)[1]
    if "://" in location:
        return location
    path = Path(location)
    return path / Path(DEFAULT_RESULTS).name if path.is_dir() or location.endswith(("/", os.sep)) else path


def results_url(location: str | os.PathLike | None = None) -> str:
    """An SQLAlchemy URL from a path, a URL, ``$BIOBENCH_RESULTS`` or the default; an SQLite file's folder is
    created."""
    path = _resolved(location)
    if isinstance(path, str):
        return path
    blocking = next((p for p in [path.parent, *path.parent.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise StoreError(f"cannot create the results store {path}: {blocking} is a file, not a folder. "
                         "Pass --results with a path inside a folder (or a new one).")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {path.parent} for the results store: {exc.strerror}. "
                         "Pass --results with a writable path.") from None
    return f"sqlite:///{path}"


class Store:
    """Reads and writes run records; the only module that knows the schema."""

    def __init__(self, location: str | os.PathLike | None = None, must_exist: bool = False) -> None:
        """``must_exist``: a command that only reads results refuses an SQLite store that is not there, rather
        than creating an empty one under a misspelled name."""
        if must_exist:
            self._refuse_missing(location)
        self.url = results_url(location)
        try:
            self.engine = sa.create_engine(self.url)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            try:
                meta.create_all(self.engine)
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                meta.create_all(self.engine)  # another process created the tables at the same moment
            _add_missing_columns(self.engine)
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the results store {self.url}: {exc}. "
                             "Pass --results with a writable path or a valid SQLAlchemy URL.") from None
        self._versions = _versions()

    @staticmethod
    def _refuse_missing(location) -> None:
        path = _resolved(location)  # a database server's tables are created on first use: nothing to misspell
        if isinstance(path, Path) and not path.is_file():
            raise StoreError(f"no results store at {path}: run 'biobench run' or 'biobench bench' first, or pass "
                             "--results with the store's path (or set BIOBENCH_RESULTS).")

    def add_problem(self, problem, f_true: float) -> None:
        """Record a problem once; later calls with the same key (from any process) are no-ops."""
        with self.engine.connect() as conn:
            exists = conn.execute(sa.select(problems.c.problem_key).where(problems.c.problem_key == problem.key))
            if exists.first() is not None:
                return
        try:
            self._insert_problem(problem, f_true)
        except sa.exc.IntegrityError:
            pass  # another driver recorded it a moment ago

    def _insert_problem(self, problem, f_true: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(problems.insert().values(
                problem_key=problem.key,
                problem_id=problem.problem_id,
                model_id=problem.model.model_id,
                model_name=problem.model.name,
                model_sha256=problem.model.sha256,
                parameter_ids=json.dumps(list(problem.parameter_ids)),
                x_true=json.dumps(problem.x_true.tolist()) if problem.has_truth else None,
                f_true=_float(f_true),
                n_data=problem.n_data,
                description=json.dumps(problem.describe()),
                created_at=_now(),
            ))

    def set_confirmed(self, problem_key: str, fval: float, evidence: dict) -> None:
        """Record a best value of a published problem that a second engine reproduced at the same point."""
        with self.engine.begin() as conn:
            conn.execute(problems.update().where(problems.c.problem_key == problem_key).values(
                f_confirmed=_float(fval), confirmed_by=json.dumps(evidence, sort_keys=True)))

    def set_refusal(self, model_spec: str, reason: str | None) -> None:
        """Record why a model could not become a problem (one line), or clear that record (``reason=None``)."""
        self._replace(refusals, refusals.c.model_spec == model_spec,
                      None if reason is None else dict(model_spec=model_spec, reason=reason))

    def _replace(self, table: sa.Table, where, row: dict | None, attempts: int = 5) -> None:
        """Delete the rows ``where`` selects and insert ``row`` in one transaction. Two drivers sharing a
        store (PostgreSQL) may both insert the same key between the other's delete and insert: the
        loser's transaction fails on the unique key and is simply run again, so the last write wins."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    conn.execute(table.delete().where(where))
                    if row is not None:
                        conn.execute(table.insert().values(**row, created_at=_now()))
                return
            except sa.exc.IntegrityError:
                if attempt == attempts - 1:
                    raise

    def refusals_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(refusals).order_by(refusals.c.model_spec), conn)

    def set_features(self, problem_key: str, problem_id: str, model_id: str, values: dict) -> None:
        """Store (or replace) a problem's model features (``biobench.analysis.features``)."""
        blob = json.dumps({k: _float(v) for k, v in values.items()}, sort_keys=True)
        self._replace(features, features.c.problem_key == problem_key, dict(
            problem_key=problem_key, problem_id=problem_id, model_id=model_id, features=blob))

    def feature_keys(self, required: tuple[str, ...] = ()) -> set[str]:
        """Keys of the problems with stored features, of those that name every feature in ``required``."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(features.c.problem_key, features.c.features)).all()
        return {key for key, blob in rows if not required or set(required) <= set(json.loads(blob))}

    def features_frame(self) -> pd.DataFrame:
        """One row per problem with features: its key, id, model and one column per feature (NaN where unmeasured)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(features).order_by(features.c.problem_id)).all()
        return pd.DataFrame([{"problem_key": r.problem_key, "problem_id": r.problem_id, "model_id": r.model_id,
                              **{k: np.nan if v is None else v for k, v in json.loads(r.features).items()}}
                             for r in rows])

    def add_run(self, record: RunRecord) -> int | None:
        """Write a start's rows atomically; return its run_id, or None when the start was already stored.

        Task keys are unique: when two drivers share a store (PostgreSQL) and both ran a
        start, the second write is dropped, so nothing is ever counted twice.
        """
        try:
            return self._insert_run(record)
        except sa.exc.IntegrityError:
            if self.done_task_keys([record.start.key]):
                return None
            raise

    def _insert_run(self, record: RunRecord) -> int:
        row = record.columns()
        trace = row.pop("trace")
        evaluated = row.pop("evaluations")
        for key in ("x0", "x_best"):
            row[key] = json.dumps([float(v) for v in row[key]])
        for key in ("init_options", "opt_options", "extras"):
            row[key] = json.dumps(row[key], sort_keys=True)
        row.update(task_key=record.start.key, fval0=_float(record.fval0), fval_best=_float(record.fval_best),
                   versions=self._versions, created_at=_now())
        with self.engine.begin() as conn:
            result = conn.execute(runs.insert().values(**row))
            run_id = result.inserted_primary_key[0]
            if trace:
                conn.execute(traces.insert(), [
                    {"run_id": run_id, "eval_index": i, "fval_best": f, "seconds": s} for i, f, s in trace
                ])
            if evaluated:
                conn.execute(evaluations.insert(), [
                    {"run_id": run_id, "eval_index": i, "x": json.dumps(x), "fval": f if math.isfinite(f) else None}
                    for i, (x, f) in enumerate(evaluated, start=1)
                ])
        return run_id

    @property
    def artifacts_dir(self) -> Path:
        """Where bulky per-run output (MCMC samples) goes: beside an SQLite file, else under results/."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            db = Path(self.engine.url.database)
            return db.with_name(db.stem + "_artifacts")
        return Path(DEFAULT_RESULTS).parent / "artifacts"

    def done_task_keys(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs.c.task_key).where(runs.c.task_key.in_(keys)))
            return {row[0] for row in rows}

    def runs_frame(self, model_id: str | None = None) -> pd.DataFrame:
        """All runs joined with their problem, one row per start; vectors decoded to lists."""
        query = (
            sa.select(runs, problems.c.problem_id, problems.c.parameter_ids, problems.c.f_true,
                      problems.c.f_confirmed, problems.c.x_true.is_not(None).label("has_truth"))
            .join(problems, runs.c.problem_key == problems.c.problem_key)
            .order_by(runs.c.run_id)
        )
        if model_id is not None:
            query = query.where(runs.c.model_id == model_id)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        for column in ("x0", "x_best", "parameter_ids", "init_options", "opt_options", "extras", "versions"):
            frame[column] = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) else v)
        frame["problem_id"] = readable_problem_ids(frame["problem_id"], frame["problem_key"])
        if len(frame) and (frame["n_evals"] % 1 == 0).all():  # whole simulations: shown as counts, not 455.0
            frame["n_evals"] = frame["n_evals"].astype(int)
        return frame

    def problems_frame(self) -> pd.DataFrame:
        """One row per stored problem; ``x_true`` decoded (None where the problem has no truth)."""
        with self.engine.connect() as conn:
            frame = pd.read_sql(sa.select(problems), conn)
        frame["x_true"] = frame["x_true"].map(lambda v: json.loads(v) if isinstance(v, str) else None)
        return frame

    def evaluated_points(self, problem_key: str) -> tuple[np.ndarray, np.ndarray]:
        """Every point evaluated by any stored run of a problem: (x, fval), +inf where it failed."""
        query = (sa.select(evaluations.c.x, evaluations.c.fval)
                 .join(runs, runs.c.run_id == evaluations.c.run_id)
                 .where(runs.c.problem_key == problem_key))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return np.empty((0, 0)), np.empty(0)
        x = np.array([json.loads(r[0]) for r in rows], dtype=float)
        f = np.array([np.inf if r[1] is None else r[1] for r in rows], dtype=float)
        return x, f

    def traces_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(traces).order_by(traces.c.run_id, traces.c.eval_index), conn)


def readable_problem_ids(problem_ids: pd.Series, problem_keys: pd.Series) -> pd.Series:
    """A problem's id without its settings digest (``Boehm_JProteomeRes2014``, not ``...:05b298a80f``) where its
    model has no other problem among these; the digest stays where it tells two problems apart."""
    model = problem_ids.str.rsplit(":", n=1).str[0]
    alone = model.map(pd.Series(problem_keys.values, index=model.values).groupby(level=0).nunique()) == 1
    return model.where(alone, problem_ids)


def _add_missing_columns(engine: sa.Engine) -> None:
    """Bring a store written by an older biobench up to date: add new columns, never drop data.

    Only columns that can be added to existing rows (nullable, or with a server
    default) are ever introduced, so this is always possible.
    """
    inspector = sa.inspect(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    continue
                if not column.nullable and column.server_default is None:
                    raise StoreError(f"the store's table {table.name} lacks column {column.name}, which cannot be "
                                     "added to existing rows; use a new --results location.")
                kind = column.type.compile(dialect=engine.dialect)
                default = f" DEFAULT {column.server_default.arg}" if column.server_default is not None else ""
                null = "" if column.nullable else " NOT NULL"
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}{null}'))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
