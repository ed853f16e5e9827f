"""Which models of a corpus become estimation problems, which are refused and why, and which hang?

    python benchmarks/corpus_build.py [FOLDER] [--timeout 120] [--workers 2]

Every SBML file of FOLDER (default ``../shared/biomodels/models``) is built into a
synthetic problem with the default settings, each in its own process with a wall-clock
limit (roadrunner cannot be interrupted from Python, so a hang is only visible this way).
Prints counts by outcome, the refusal reasons grouped, the slowest builds, and per model
a line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, TimeoutError
from pathlib import Path

COLLECTION = Path(__file__).resolve().parents[1].parent / "shared" / "biomodels" / "models"


def build(path: str) -> tuple[str, str, float]:
    from biobench.errors import BiobenchError, first_line
    from biobench.settings import ProblemSettings
    from biobench.sources import load_problem

    started = time.perf_counter()
    try:
        problem = load_problem(path, ProblemSettings())
        return "built", f"{problem.n_parameters} parameters, {problem.n_data} data", time.perf_counter() - started
    except BiobenchError as exc:
        return "refused", first_line(exc)[:160], time.perf_counter() - started
    except Exception as exc:  # a library error that escaped biobench's checks: a bug to fix
        return "crashed", f"{type(exc).__name__}: {first_line(exc)[:140]}", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(COLLECTION))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    files = sorted(str(p) for p in Path(args.folder).glob("*.xml"))
    outcomes: dict[str, tuple[str, str, float]] = {}
    started = time.perf_counter()
    for path in files:  # one pool per model: a hung build is abandoned with its process
        with ProcessPoolExecutor(max_workers=1) as pool:
            future = pool.submit(build, path)
            try:
                outcomes[path] = future.result(timeout=args.timeout)
            except TimeoutError:
                outcomes[path] = ("hung", f"no problem after {args.timeout:g} s", args.timeout)
                for process in pool._processes.values():  # the executor cannot cancel a running call
                    process.kill()
        print(f"{Path(path).stem}: {outcomes[path][0]}: {outcomes[path][1]} ({outcomes[path][2]:.1f} s)",
              file=sys.stderr, flush=True)
    counts = Counter(outcome for outcome, _, _ in outcomes.values())
    print(f"{len(files)} models in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common()))
    reasons = Counter(f"{outcome}: {_reason_kind(reason)}" for outcome, reason, _ in outcomes.values()
                      if outcome != "built")
    print("\n| outcome: reason | models |\n|---|---|")
    for reason, n in reasons.most_common():
        print(f"| {reason} | {n} |")
    slowest = sorted(outcomes.items(), key=lambda item: -item[1][2])[:5]
    print("\nslowest: " + ", ".join(f"{Path(p).stem} {o[2]:.1f} s ({o[0]})" for p, o in slowest))


def _reason_kind(reason: str) -> str:
    """A refusal's cause without the model's own names, so equal causes group."""
    for cause in ("has neither floating species nor rate rules", "cannot be simulated to find a time horizon",
                  "simulation at the nominal parameters fails", "cannot simulate this model", "is not valid SBML",
                  "has no estimable parameters"):
        if cause in reason:
            return f"{cause}: {reason.split(cause, 1)[1].strip(' :.')[:70]}"
    return reason[:90]


if __name__ == "__main__":
    main()
