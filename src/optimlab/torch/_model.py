"""What the bridge's tools share about a model: its trainable parameters as one flat vector, the loss over a set of
batches as one loss, and forward passes that leave no trace (same dropout masks every time, RNG and buffers as they
were)."""

from __future__ import annotations

import contextlib

import torch


def trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters that require grad")
    return params


def as_batches(batches) -> list:
    """``(inputs, targets)`` or an iterable of them (a list, a DataLoader) -> a list of ``(inputs, targets)``."""
    if isinstance(batches, tuple) and len(batches) == 2 and torch.is_tensor(batches[0]):
        batches = [batches]
    out = [tuple(b) for b in batches]
    if not out:
        raise ValueError("batches must hold at least one (inputs, targets) batch, got none")
    for i, b in enumerate(out):
        if len(b) != 2:
            raise ValueError(f"batch {i} must be (inputs, targets), got {len(b)} items")
    return out


def size(batch) -> int:
    x = batch[0]
    return int(x.shape[0]) if torch.is_tensor(x) and x.ndim else 1


def weights(batches) -> list[float]:
    """Each batch's share of the examples: the mean of per-batch mean losses weighted this way is the mean loss over
    all examples, whatever the batch sizes."""
    sizes = [size(b) for b in batches]
    total = sum(sizes)
    return [s / total for s in sizes]


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def unflat(vector: torch.Tensor, like) -> list[torch.Tensor]:
    out, start = [], 0
    for p in like:
        out.append(vector[start:start + p.numel()].view_as(p))
        start += p.numel()
    return out


@contextlib.contextmanager
def quiet(model: torch.nn.Module):
    """Forward passes inside leave the model's buffers (BatchNorm running statistics) and torch's RNG as they found
    them, and each forward pass draws the same random numbers (dropout masks): the loss is then a deterministic
    function of the parameters, which a line search and a Hessian need."""
    buffers = [b.detach().clone() for b in model.buffers()]
    with torch.random.fork_rng(devices=_devices(model)):
        start = torch.get_rng_state()

        def rewind():
            torch.set_rng_state(start)
        try:
            yield rewind
        finally:
            with torch.no_grad():
                for b, saved in zip(model.buffers(), buffers):
                    b.copy_(saved)


def _devices(model) -> list:
    return sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})


def loss_on(model, loss_fn, batches, rewind) -> torch.Tensor:
    """Σ_b w_b·loss_fn(model(x_b), y_b) with w_b the batch's share of the examples; the RNG is rewound first, so
    that every evaluation draws the same random numbers."""
    rewind()
    total = 0.0
    for w, (x, y) in zip(weights(batches), batches):
        total = total + w * loss_fn(model(x), y)
    return total
