"""A seed sweep: the same toy run at several seeds, one row per seed, then mean +- standard deviation.

A GAN's final numbers depend on luck: the networks' initial weights and the random stream decide where a
generator that circles the modes stops. A number reported for one seed says little; chapter 07's ``--seeds
0-4`` reruns its gradient-penalty run at each seed and prints what holds over all of them.
"""
from __future__ import annotations

import math

import numpy as np

from ..data import ToyData
from .experiment import LABELS, Scale, ToyRun, describe, run_toy, toy_config, recipe_options


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]; ``"2"`` -> [2]. Raises ValueError otherwise."""
    seeds = []
    try:
        for part in str(text).split(","):
            first, dash, last = part.strip().partition("-")
            seeds.extend(range(int(first), int(last) + 1) if dash else [int(first)])
    except ValueError:
        raise ValueError(f"--seeds must be like 0-4 or 0,3,7 (integers >= 0); got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must name distinct integers >= 0, like 0-4 or 0,3,7; got {text!r}")
    return seeds


def seed_sweep(lipschitz: str, args, scale: Scale, data: ToyData, seeds: list[int],
               done: dict | None = None) -> list[ToyRun]:
    """The chapter's run of ``lipschitz`` at each seed (``done`` maps seeds already run to their ToyRun)."""
    runs = []
    for seed in seeds:
        if done and seed in done:
            runs.append(done[seed])
            continue
        config = toy_config(lipschitz, scale.steps, seed, args.device, paper=args.paper, **recipe_options(args))
        print(f"  seed {seed}: " + describe(config, scale, data))
        runs.append(run_toy(LABELS[lipschitz], config, data, scale))
    return runs


def _mean_std(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.4g} +- {np.std(values, ddof=1) if len(values) > 1 else math.nan:.2g}"


def sweep_rows(runs: list[ToyRun]) -> list[dict]:
    """One dict per run: seed, modes, high-quality share of the averaged and the trained generator, W1."""
    return [{"seed": run.config.seed, "modes": run.modes, "n_modes": run.n_modes, "high_quality": run.high_quality,
             "high_quality_raw": run.high_quality_raw, "w1_to_data": run.w1_to_data,
             "w1_to_data_raw": run.w1_to_data_raw, "w1_floor": run.w1_floor} for run in runs]


def print_sweep(runs: list[ToyRun]) -> None:
    """The table: one row per seed, then the mean and the standard deviation over seeds (ddof 1)."""
    rows = sweep_rows(runs)
    modes = rows[0]["n_modes"] is not None
    print("    seed   modes   high quality (averaged)   high quality (trained)   W1 to data   W1 floor")
    for r in rows:
        quality = (f"{r['modes']:3d}/{r['n_modes']:<3d} {100 * r['high_quality']:17.1f} %"
                   + (f" {100 * r['high_quality_raw']:22.1f} %" if r["high_quality_raw"] is not None
                      else f" {'-':>24}") if modes else f"{'-':>7} {'-':>19} {'-':>24}")
        print(f"  {r['seed']:6d}  {quality}   {r['w1_to_data']:10.4f}   {r['w1_floor']:8.4f}")
    if modes:
        print(f"  modes: min {min(r['modes'] for r in rows)}/{rows[0]['n_modes']} over {len(rows)} seeds")
        print("  high quality (averaged): " + _mean_std([100 * r["high_quality"] for r in rows]) + " %;  min "
              f"{100 * min(r['high_quality'] for r in rows):.1f} %")
        if rows[0]["high_quality_raw"] is not None:
            print("  high quality (trained):  " + _mean_std([100 * r["high_quality_raw"] for r in rows]) + " %")
    print("  W1 to data: " + _mean_std([r["w1_to_data"] for r in rows]))
