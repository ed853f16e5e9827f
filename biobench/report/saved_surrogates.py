"""``biobench surrogate``'s networks in the report: accuracy, speed-up and the accuracy figure of each saved one.

A surrogate is trained outside any run (``biobench surrogate`` saves it under ``surrogates/``
by default), so the store does not know it; the report reads the saved folders' JSON
configs (what the command measured on held-out simulations) and their ``accuracy.png``
(held-out trajectories, objective predicted against simulated). Nothing is retrained or
loaded into torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.errors import ConfigError
from biobench.saved_networks import CONFIG
from biobench.surrogate.build import training_seconds
from biobench.surrogate.quality import worst_observable


def saved_surrogates(folder: str | Path | None) -> list[tuple[dict, Path | None]]:
    """(config, accuracy figure or None) of every surrogate saved under ``folder`` (None: none), oldest first."""
    if folder is None:
        return []
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"--surrogates {folder}: no such folder; give the folder 'biobench surrogate --out' "
                          "saved into (default: surrogates).")
    found = []
    for config_path in sorted(root.glob(f"*/{CONFIG}"), key=lambda p: p.stat().st_mtime):
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a folder being written or damaged: the surrogate command names it when it is used
        if "quality" not in config or "design_cost" not in config:
            continue  # another network's folder (generative, amortized)
        figure = config_path.parent / "accuracy.png"
        found.append((config, figure if figure.is_file() else None))
    return found


def surrogate_table(found: list[tuple[dict, Path | None]]) -> pd.DataFrame:
    """One row per saved surrogate: design, training, held-out accuracy, speed-up against roadrunner."""
    rows = []
    for config, _ in found:
        cost, quality, options = config["design_cost"], config["quality"], config["options"]
        r2 = {name: v["r2"] for name, v in quality["observables"].items() if np.isfinite(v["r2"])}
        worst = worst_observable(quality["observables"])
        speed = quality.get("speed", {})
        training = config["training"]
        rows.append({
            "problem": config["problem_id"],
            "network": f"{options['layers']} x {options['width']}" + (
                f", 2 states x {options['members']}" if options.get("arch") == "regimes" else ""),
            "simulations": cost["simulations"],
            "refined": cost.get("refinement", {}).get("simulations", 0),
            "failed": cost["failed"],
            "training s": training_seconds(training),
            "worst R2": r2[worst] if worst else float("nan"),
            "worst observable": worst or "",
            "its R2, 90% bootstrap interval": _interval(quality["observables"][worst]) if worst else "",
            "median R2": float(np.median(list(r2.values()))) if r2 else float("nan"),
            "Spearman of fval": quality["objective"]["spearman"],
            "x roadrunner, batched": speed.get("speedup_batched_cpu", float("nan")),
        })
    return pd.DataFrame(rows)


def _interval(observable: dict) -> str:
    """Networks saved before the interval existed have none."""
    low_high = observable.get("r2_interval")
    return f"{low_high[0]:.3g} .. {low_high[1]:.3g}" if low_high else ""


def figure(config: dict, png: Path) -> tuple[str, bytes, str]:
    """(title, PNG bytes, caption) of a saved surrogate's accuracy figure, for the report's figure layout."""
    caption = (f"Held-out simulations (solid) and the network's predictions (dashed) for three test points, and "
               f"the objective computed from the network's outputs against the simulated one on "
               f"{config['quality']['test_points']} test points.")
    return f"Surrogate of {config['problem_id']}", png.read_bytes(), caption
