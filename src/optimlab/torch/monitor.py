"""A stability monitor for any PyTorch training loop.

One line in the loop, between ``loss.backward()`` and ``optimizer.step()`` (where the gradient and the parameters
it was taken at are both there)::

    monitor = StabilityMonitor(model, optimizer, loss_fn)
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        monitor.step(loss, (x, y))
        optimizer.step()
    print(monitor.explain().explanation)

Every step it keeps the loss and η (a list append: turning the loss into a number would wait for the device).
Every ``every`` steps it reads those losses, the gradient norm ‖g‖, and measures the critical sharpness along the
optimizer's next update on the batch (a handful of forward passes,
:func:`~optimlab.torch.sharpness.critical_sharpness`); every ``sharpness_every`` steps λ_max by Lanczos
(preconditioned by the optimizer's live state for Adam, RMSprop, Adagrad) against its threshold (2/η, 2(1+γ)/η,
38/η, ...). The monitor times itself and the loop: it widens an interval as far as needed for that measurement to
cost at most 40% of ``budget`` (10% of the loop's time by default), so the overhead stays bounded; ``overhead``
reports it. Its measurements leave no trace: the optimizer's state, the parameters, the buffers and the RNG
(dropout) are as they were, so a monitored run is bit-identical to an unmonitored one.

It diagnoses the run with :func:`optimlab.analysis.log_diagnosis.diagnose_log`, the same classes and criteria as
``optimlab explain --log``; ``status`` turns to ``"diverged"`` (non-finite loss, or ``divergence_factor`` × the first
loss) or ``"stalled"`` (no new best loss for ``stall_window`` steps) within ``every`` steps of it happening.
"""

from __future__ import annotations

import math
import time

import torch

from optimlab.analysis import logs
from optimlab.analysis.log_diagnosis import diagnose_log
from optimlab.torch.sharpness import critical_sharpness, sharpness
from optimlab.train import DIVERGENCE_FACTOR

COLUMNS = ("step", "loss", "lr", "grad_norm", "critical_lr", "critical_sharpness", "sharpness",
           "sharpness_threshold", "sharpness_ratio", "monitor_seconds")
STALL_REL = 1e-3  # a new best loss must beat the old one by 0.1% to count as progress
RULES = {"sgd": "2 for gradient descent, 2(1+γ) with heavy-ball momentum γ, 2(1+γ)/(1+2γ) with Nesterov",
         "adam": "2(1+β1)/(1−β1) for Adam, 38 at β1 = 0.9", "rmsprop": "2(1+μ) for RMSprop with momentum μ",
         "adagrad": "2 for Adagrad", "adadelta": "2 for Adadelta"}


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


class StabilityMonitor:
    def __init__(self, model, optimizer, loss_fn=None, every: int = 10, sharpness_every: int = 100,
                 budget: float | None = 0.1, stall_window: int = 200, divergence_factor: float = DIVERGENCE_FACTOR,
                 tol: float = 1e-3):
        self.every = _positive_int("every", every)
        self.sharpness_every = _positive_int("sharpness_every", sharpness_every)
        self.stall_window = _positive_int("stall_window", stall_window)
        if budget is not None and not 0 < budget <= 1:
            raise ValueError(f"budget must be in (0, 1] or None (no limit), got {budget}")
        if not divergence_factor > 1:
            raise ValueError(f"divergence_factor must be > 1, got {divergence_factor}")
        if not 0 < tol < 1:
            raise ValueError(f"tol must be in (0, 1), got {tol}")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.budget, self.divergence_factor, self.tol = budget, divergence_factor, tol
        self._log: list[dict] = []
        self._pending: list = []
        self._steps = 0
        self.notes: list[str] = []
        self.status = "running"
        self.diverged_at: int | None = None
        self._own = 0.0
        self._start = self._last = None
        self._next_critical = self._next_sharpness = 0
        self._best, self._best_step = math.inf, 0
        self._guess = None
        self._loop_step = None
        self._rule = None  # (family, c, kind) of the last Lanczos measurement, to name the threshold
        self._due_step, self._due_exit, self._own_at_due = -1, None, 0.0
        self._asked = {"every": every, "sharpness_every": sharpness_every}

    # -- the one call in the loop ----------------------------------------------------------------------------------
    def step(self, loss, batch=None) -> str:
        """Record this step (call it after ``backward()``, before ``optimizer.step()``); returns ``status``.

        Between measurements it only keeps the detached loss tensor and η: turning a loss into a Python float
        waits for the device, so the losses are read together, once every ``every`` steps (``status`` is as
        fresh as that; reading ``log`` brings it up to date)."""
        enter = time.perf_counter()
        if self._start is None:
            self._start = enter
        t = self._steps
        self._steps += 1
        self._pending.append((t, loss.detach() if torch.is_tensor(loss) else float(loss),
                              float(self.optimizer.param_groups[0]["lr"])))
        if t >= self._next_critical or t >= self._next_sharpness:
            self._time_the_loop(enter, t)
            self._flush()
            row = self._log[-1]
            row["grad_norm"] = self._grad_norm()
            measurable = math.isfinite(row["loss"]) and self.loss_fn is not None and batch is not None and \
                self.status != "diverged"
            if measurable and t >= self._next_critical:
                began = time.perf_counter()
                self._critical(row, batch)
                self._keep_to_budget("every", time.perf_counter() - began)
                self._next_critical = t + self.every
            if measurable and t >= self._next_sharpness:
                began = time.perf_counter()
                done = self._sharpness(row, batch)
                self._keep_to_budget("sharpness_every", time.perf_counter() - began)
                self._next_sharpness = t + (self.sharpness_every if done else 1)
            if not measurable:  # nothing to measure here (diverged, or no batch): look again in `every` steps
                self._next_critical = self._next_sharpness = t + self.every
            row["monitor_seconds"] = time.perf_counter() - enter
        self._last = time.perf_counter()
        self._own += self._last - enter
        if t == self._due_step:
            self._due_exit, self._own_at_due = self._last, self._own
        return self.status

    def _time_the_loop(self, enter, t):
        """τ, the loop's own time per step since the previous measurement (the monitor's time taken out)."""
        if self._due_exit is not None and t > self._due_step:
            loop = ((enter - self._due_exit) - (self._own - self._own_at_due)) / (t - self._due_step)
            self._loop_step = loop if self._loop_step is None else 0.5 * (self._loop_step + loop)
        self._due_step = t

    def _flush(self):
        """Read the pending losses in one transfer and append their rows."""
        if not self._pending:
            return
        values = [v for _, v, _ in self._pending]
        tensors = [v.reshape(()).to(torch.float64) for v in values if torch.is_tensor(v)]
        read = iter(torch.stack(tensors).tolist() if tensors else [])
        for (t, value, lr) in self._pending:
            value = next(read) if torch.is_tensor(value) else value
            row = dict.fromkeys(COLUMNS, math.nan)
            row.update(step=t, loss=value, lr=lr)
            self._watch(t, value)
            self._log.append(row)
        self._pending.clear()

    @property
    def log(self) -> list[dict]:
        """One row per step: step, loss, lr, and where measured grad_norm, critical_lr, critical_sharpness,
        sharpness, sharpness_threshold, sharpness_ratio, monitor_seconds (NaN elsewhere)."""
        self._flush()
        return self._log

    def _grad_norm(self) -> float:
        grads = [p.grad.detach() for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return math.nan
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))

    def _critical(self, row, batch):
        c = critical_sharpness(self.model, self.loss_fn, batch, self.optimizer, rtol=0.05, guess=self._guess)
        self._guess = c.critical_lr if 0 < c.critical_lr < math.inf else None  # next bracket starts here
        row.update(critical_lr=c.critical_lr, critical_sharpness=c.critical_sharpness)

    def _sharpness(self, row, batch):
        try:
            s = sharpness(self.model, self.loss_fn, batch, self.optimizer, tol=self.tol)
        except ValueError as e:  # e.g. Adam before its first step has no second moment to read: try next step
            if str(e) not in self.notes:
                self.notes.append(str(e))
            return False
        row.update(sharpness=s.lambda_max, sharpness_threshold=s.threshold, sharpness_ratio=s.ratio)
        self._rule = (s.optimizer, s.bound, s.kind)
        return True

    def _watch(self, t, value):
        first = self._log[0]["loss"] if self._log else value
        if not math.isfinite(value) or (math.isfinite(first) and value > self.divergence_factor * abs(first)):
            if self.diverged_at is None:
                self.diverged_at = t
            self.status = "diverged"
            return
        if self.status == "diverged":
            return
        if self._best == math.inf or value < self._best - STALL_REL * abs(self._best):
            self._best, self._best_step = value, t
        self.status = "stalled" if t - self._best_step >= self.stall_window else "running"

    def _keep_to_budget(self, kind: str, cost: float) -> None:
        """Space a measurement so that it costs at most 40% of the budget (the two kinds 80%; the rest is for the
        per-step bookkeeping and the first measurements, made before their cost is known): measured every k steps
        it adds cost/(k·τ) to a loop step of τ seconds (τ: an average of the loop's own time per step, the
        monitor's excluded), so k ≥ cost/(0.4·budget·τ). Never closer than the interval asked for; wider only as
        far as needed. The bound holds over the run, not over its first steps."""
        if self._loop_step is None or self.budget is None:
            return
        needed = math.ceil(cost / (0.4 * self.budget * self._loop_step))
        asked = self._asked[kind]
        new = max(asked, needed)
        if new != getattr(self, kind):
            if new > asked and getattr(self, kind) == asked:
                self.notes.append(f"step {self._steps - 1}: {kind} widened from {asked} to {new} steps to keep the "
                                  f"monitor within {self.budget:.0%} of the loop's time")
            setattr(self, kind, new)

    # -- results ---------------------------------------------------------------------------------------------------
    @property
    def overhead(self) -> float:
        """The monitor's time over the rest of the loop's: the run is (1 + overhead)× slower for being monitored."""
        if self._start is None or self._last is None:
            return 0.0
        rest = (self._last - self._start) - self._own
        return self._own / rest if rest > 0 else math.inf

    def training_log(self) -> logs.TrainingLog:
        """The log as the torch-free table that ``optimlab explain --log`` reads."""
        cols = {name: [row[name] for row in self.log] for name in
                ("step", "loss", "lr", "grad_norm", "sharpness", "sharpness_threshold")}
        return logs.from_columns(cols, "monitor")

    def explain(self):
        """The run so far in the lecture's terms (a :class:`~optimlab.analysis.log_diagnosis.LogDiagnosis`)."""
        if len(self.log) < 2:
            raise ValueError(f"the monitor needs at least 2 steps to explain a run, got {len(self.log)}")
        d = diagnose_log(self.training_log(), divergence_factor=self.divergence_factor)
        over = [row for row in self.log if row["critical_lr"] < row["lr"]]
        if over:
            row = over[0]
            d.numbers["step_above_critical_at"] = row["step"]
            d.explanation += (f" From step {row['step']} the step η = {row['lr']:.3g} exceeded the critical step "
                              f"η_c = {row['critical_lr']:.3g} along the update (critical sharpness 2/η_c = "
                              f"{row['critical_sharpness']:.3g} > 2/η): that update raised the loss on its batch.")
        if self._rule and self._rule[1]:
            family, c, kind = self._rule
            what = "λ_max(P⁻¹H), P the optimizer's √ŝ + ε per coordinate" if kind == "preconditioned" else "λ_max"
            d.explanation += f" (Sharpness here is {what}; its threshold is c/η with c = {c:.3g}: {RULES[family]}.)"
        if self.status == "stalled":
            d.explanation += (f" No new best loss for {len(self.log) - 1 - self._best_step} steps "
                              f"(best {self._best:.4g} at step {self._best_step}).")
        d.numbers.update(status=self.status, monitor_overhead=self.overhead, notes=list(self.notes))
        return d

    def to_frame(self):
        """The log as a pandas DataFrame (``pip install pandas``)."""
        import pandas as pd
        return pd.DataFrame(self.log, columns=list(COLUMNS))

    def figure(self):
        return figure(self.log)


def figure(log: list[dict]):
    """Loss (top) and sharpness against its threshold, with the critical sharpness (bottom), over the steps."""
    import matplotlib.pyplot as plt  # lazily: the monitor itself needs no plotting
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    steps = [r["step"] for r in log]
    top.plot(steps, [r["loss"] for r in log], lw=1)
    top.set_yscale("log")
    top.set_ylabel("loss")
    pick = [r for r in log if math.isfinite(r["sharpness"])]
    bottom.plot([r["step"] for r in pick], [r["sharpness"] for r in pick], "o-", label="sharpness (Lanczos)")
    bottom.plot([r["step"] for r in pick], [r["sharpness_threshold"] for r in pick], "k--", label="threshold")
    crit = [r for r in log if math.isfinite(r["critical_sharpness"])]
    bottom.plot([r["step"] for r in crit], [r["critical_sharpness"] for r in crit], ".", ms=3,
                label="critical sharpness 2/η_c")
    bottom.set_yscale("log")
    bottom.set_xlabel("step")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig
