"""The learning-rate range test on the user's own model, that leaves no trace.

Classic test (Smith 2017; fastai's and torch-lr-finder's ``lr_find``): train with η growing exponentially from
``start_lr`` to ``end_lr`` over ``steps`` minibatches, record each minibatch loss, smooth it and read a suggestion
off the curve with the rules of :mod:`optimlab.analysis.range_test` (``suggest_valley``, ``suggest_steepest``,
``suggest_minimum``, ``smooth``; the same 4×-the-minimum stop). optimlab repeats it over ``seeds`` (batch order), so
the suggestion comes with a band, and sets it against the stability bound c/λ_max at the start (λ_max by Lanczos,
:func:`~optimlab.torch.sharpness.sharpness`; c = 2 for SGD, 2(1+γ) with momentum).

No trace: the test trains deep copies of the model and optimizer (copied together, so that the copy's optimizer
holds the copy's parameters), inside saved and restored RNG states (torch, numpy, random): the model's parameters
and buffers, the optimizer's state and param_groups and the RNG streams are bit-identical afterwards.
"""

from __future__ import annotations

import copy
import math
import random
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from optimlab.analysis.range_test import STOP_FACTOR, smooth, suggest_minimum, suggest_steepest, suggest_valley
from optimlab.results import jsonable
from optimlab.torch.sharpness import sharpness

FLAT = 0.01  # a curve whose smoothed loss never falls 1% below its start has nothing to suggest
MIN_POINTS = 5  # fewer recorded steps than this give no slope to read


@dataclass
class LRFind:
    lrs: np.ndarray  # η of each step, the same for every seed
    losses: np.ndarray  # (seeds, steps): minibatch loss before each update, NaN after a stop
    smoothed: np.ndarray  # (seeds, steps)
    seed_suggestions: list  # per seed: {"steepest", "valley", "minimum/10"} or None (nothing to read)
    stopped: list  # per seed: why it stopped, in words
    suggestion: float | None  # the median over seeds of fastai's valley rule
    band: tuple | None  # (lowest, highest) valley suggestion over seeds
    lambda_max: float | None = None
    max_stable_lr: float | None = None  # c/λ_max at the start
    notes: list = field(default_factory=list)

    @property
    def curve(self) -> dict:
        """The smoothed curve over seeds: median, lowest and highest at each η."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns once every seed has stopped
            return {"lrs": self.lrs, "median": np.nanmedian(self.smoothed, axis=0),
                    "low": np.nanmin(self.smoothed, axis=0), "high": np.nanmax(self.smoothed, axis=0)}

    @property
    def statement(self) -> str:
        """Everything the test has to say, in words: the suggestion, its band, why it stopped, the bound."""
        parts = []
        if self.suggestion is None:
            parts.append("No suggestion.")
        else:
            parts.append(f"Suggested η = {self.suggestion:.3g} (fastai's valley rule, median over "
                         f"{len(self.stopped)} seeds; band {self.band[0]:.3g} to {self.band[1]:.3g}).")
        parts += sorted(set(self.stopped), key=self.stopped.index)
        parts += self.notes
        return " ".join(parts)

    def to_dict(self) -> dict:
        return jsonable({"lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed,
                         "seed_suggestions": self.seed_suggestions, "stopped": self.stopped,
                         "suggestion": self.suggestion, "band": self.band, "lambda_max": self.lambda_max,
                         "max_stable_lr": self.max_stable_lr, "notes": self.notes, "curve": self.curve,
                         "statement": self.statement})


def lr_find(model, loss_fn, loader, optimizer, start_lr: float = 1e-6, end_lr: float = 10.0, steps: int = 100,
            seeds: int = 3, seed: int = 0) -> LRFind:
    """Range-test ``optimizer`` (any torch optimizer; its other hyperparameters are kept, η is swept) on ``model``
    with ``loss_fn(model(x), y)`` over ``loader`` (any re-iterable of ``(x, y)``: a DataLoader, a list), once per
    seed ``seed, seed + 1, ...`` (torch's seed, which orders a shuffling DataLoader)."""
    if not (isinstance(start_lr, (int, float)) and start_lr > 0 and math.isfinite(start_lr)):
        raise ValueError(f"start_lr must be > 0, got {start_lr}")
    if not (isinstance(end_lr, (int, float)) and end_lr > start_lr and math.isfinite(end_lr)):
        raise ValueError(f"end_lr must be > start_lr={start_lr:g}, got {end_lr}")
    for name, value, low in (("steps", steps, MIN_POINTS), ("seeds", seeds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    lrs = np.geomspace(start_lr, end_lr, steps)
    notes: list[str] = []
    with _rng_kept():
        runs = [_one(model, optimizer, loss_fn, loader, lrs, seed + s, notes) for s in range(seeds)]
        lam, max_stable = _bound(model, optimizer, loss_fn, loader, notes)
    losses = np.array([r[0] for r in runs])
    smoothed, per_seed, stopped = [], [], []
    for raw, why in runs:
        sm, suggestion, reason = _read(raw, lrs, notes)
        smoothed.append(sm)
        per_seed.append(suggestion)
        stopped.append(why + reason)
    valleys = [s["valley"] for s in per_seed if s]
    suggestion = float(np.median(valleys)) if valleys else None
    band = (float(min(valleys)), float(max(valleys))) if valleys else None
    if suggestion is not None and max_stable is not None:
        side = "below" if suggestion < max_stable else "ABOVE"
        notes.append(f"The suggestion is {side} the stability bound c/λ_max = {max_stable:.3g} at the start "
                     f"(λ_max = {lam:.4g})" + ("." if side == "below" else
                                               ": the curve reads past the edge, keep η under it."))
    return LRFind(lrs, losses, np.array(smoothed), per_seed, stopped, suggestion, band, lam, max_stable,
                  list(dict.fromkeys(notes)))


class _rng_kept:
    """Save torch's (CPU and CUDA), numpy's and Python's RNG states; put them back on the way out."""

    def __enter__(self):
        self.fork = torch.random.fork_rng(devices=list(range(torch.cuda.device_count())))
        self.fork.__enter__()
        self.np, self.py = np.random.get_state(), random.getstate()

    def __exit__(self, *exc):
        np.random.set_state(self.np)
        random.setstate(self.py)
        return self.fork.__exit__(*exc)


def _copies(model, optimizer):
    """Deep copies of both, made together so that the copy's optimizer holds the copy's parameters and state.
    torch.optim.Optimizer pickles (and so deep-copies) only its defaults, state and param_groups: attributes a
    subclass adds (an optimlab drop-in's rule name and convention) are carried over by reference, read-only; never
    a callable, which may be bound to the original (an lr scheduler wraps ``optimizer.step`` on the instance)."""
    m, opt = copy.deepcopy((model, optimizer))
    for key, value in vars(optimizer).items():
        if not callable(value):
            vars(opt).setdefault(key, value)
    return m, opt


def _one(model, optimizer, loss_fn, loader, lrs, seed, notes):
    """One classic run on copies; returns (losses, why it stopped)."""
    torch.manual_seed(seed)
    m, opt = _copies(model, optimizer)
    m.train()
    ratios = [g["lr"] / optimizer.param_groups[0]["lr"] if optimizer.param_groups[0]["lr"] else 1.0
              for g in optimizer.param_groups]  # groups keep their η relative to the first
    losses = np.full(len(lrs), np.nan)
    batches, total, per_pass = iter(loader), 0, None
    for i, lr in enumerate(lrs):
        try:
            x, y = next(batches)
        except StopIteration:
            if total == 0:
                raise ValueError("loader yielded no batches") from None
            if per_pass is None:
                per_pass = total
                notes.append(f"The loader has only {per_pass} batches, fewer than the {len(lrs)} steps: it is read "
                             f"again, so the later steps see examples the test has already trained on.")
            batches = iter(loader)
            try:
                x, y = next(batches)
            except StopIteration:  # a one-shot iterator: it cannot be read twice
                notes.pop()
                return losses, (f"The loader ran out after {total} batches (a one-shot iterator): the test "
                                f"stopped at step {i}; pass a list or a DataLoader to run all {len(lrs)} steps.")
        total += 1
        for g, r in zip(opt.param_groups, ratios):
            g["lr"] = float(lr) * r
        opt.zero_grad()
        loss = loss_fn(m(x), y)
        value = float(loss.detach())
        losses[i] = value
        if not math.isfinite(value):
            return losses, f"Stopped at step {i}: the loss became {value} at η = {lr:.3g}."
        loss.backward()
        opt.step()
        seen = losses[: i + 1]
        if i >= MIN_POINTS and (seen > 0).all():
            sm = smooth(seen)
            if sm[-1] > STOP_FACTOR * sm.min():
                return losses, f"Stopped at step {i}: the smoothed loss passed {STOP_FACTOR:g}× its minimum."
    return losses, f"Ran all {len(lrs)} steps up to η = {lrs[-1]:.3g} without the loss exceeding 4× its minimum."


def _read(raw, lrs, notes):
    """Smooth one run and apply the suggestion rules; (smoothed, suggestions or None, reason when None)."""
    kept = np.flatnonzero(np.isfinite(raw))
    smoothed = np.full(len(raw), np.nan)
    if kept.size < MIN_POINTS:
        return smoothed, None, f" Only {kept.size} finite losses (fewer than {MIN_POINTS}): nothing to read."
    n = kept[-1] + 1
    values = raw[:n]
    if (values <= 0).any():
        low, high = float(values.min()), float(values.max())
        shift = -low + 0.01 * max(high - low, abs(low), 1e-12)
        notes.append(f"The loss reached {low:.4g} ≤ 0, which has no logarithm: the curve was smoothed and "
                     f"stopped at 4× its minimum after shifting it by +{shift:.4g} (the suggestion rules read "
                     f"slopes and minima, which a shift does not move).")
        sm = smooth(values + shift) - shift
        above = np.flatnonzero(sm + shift > STOP_FACTOR * np.minimum.accumulate(sm + shift))
        if above.size:
            n = int(above[0]) + 1
            sm = sm[:n]
    else:
        sm = smooth(values)
    smoothed[:len(sm)] = sm
    drop = (sm[0] - sm.min()) / max(abs(sm[0]), 1e-300)
    if drop < FLAT:
        return smoothed, None, (f" Flat: the smoothed loss never fell {FLAT:.0%} below its start between "
                                f"η = {lrs[0]:.3g} and {lrs[len(sm) - 1]:.3g} (at most {drop:.2%}); the model "
                                f"looks already trained, or the range starts too high: no suggestion.")
    x = lrs[:len(sm)]
    return smoothed, {"steepest": suggest_steepest(x, sm), "valley": suggest_valley(x, sm),
                      "minimum/10": suggest_minimum(x, sm)}, ""


def _bound(model, optimizer, loss_fn, loader, notes):
    """λ_max at the start on the first batch, and the largest stable η for the optimizer's family."""
    m, opt = _copies(model, optimizer)
    batch = next(iter(loader), None)
    if batch is None:
        return None, None
    try:
        s = sharpness(m, loss_fn, tuple(batch), opt, tol=1e-4)
        # stable while λ_max < c/η (λ_max of H, or of P⁻¹H with P frozen): η < c/λ_max
        return s.lambda_max, (s.bound / s.lambda_max if s.bound and s.lambda_max > 0 else None)
    except ValueError:  # e.g. an adaptive optimizer before its first step: no preconditioner to read yet
        pass
    try:
        s = sharpness(m, loss_fn, tuple(batch), tol=1e-4)
    except ValueError as e:
        notes.append(f"No stability bound at the start: {e}.")
        return None, None
    notes.append(f"λ_max = {s.lambda_max:.4g} at the start, 2/λ_max = {2 / s.lambda_max:.3g}: for reference only, "
                 f"{type(optimizer).__name__}'s bound is on the preconditioned curvature, read from its state "
                 f"during training (StabilityMonitor).")
    return s.lambda_max, None


def plot_lr_find(result: LRFind, ax=None):
    """The smoothed loss against η (median and band over seeds), the suggestion and the stability bound."""
    import matplotlib.pyplot as plt  # lazily
    fig = ax.figure if ax is not None else plt.figure(figsize=(7, 4))
    ax = ax or fig.add_subplot()
    curve = result.curve
    ax.fill_between(curve["lrs"], curve["low"], curve["high"], alpha=0.3, label="band over seeds")
    ax.plot(curve["lrs"], curve["median"], label="median (smoothed)")
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="g", ls="--", label=f"suggestion {result.suggestion:.3g}")
    if result.max_stable_lr is not None:
        ax.axvline(result.max_stable_lr, color="r", ls=":", label=f"c/λ_max {result.max_stable_lr:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("η")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return fig
