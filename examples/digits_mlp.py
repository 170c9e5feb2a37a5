"""A small MLP on scikit-learn's bundled digits (8×8 images, 10 classes), trained with an optimlab optimizer,
range-tested first, monitored while it trains, and explained at the end. Runs in a few seconds on a CPU.

    python examples/digits_mlp.py [--epochs 15] [--log run.csv]

The four optimlab calls a practitioner would copy into their own loop are marked  # <- optimlab.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import optimlab.torch as ot
from optimlab.analysis.log_diagnosis import diagnose_log
from optimlab.analysis.logs import read_log


def make_adam(params, lr):
    """optimlab's drop-in Adam under torch's conventions."""
    from optimlab.torch import make

    return make("adam", params, convention="torch", lr=lr)


def data(seed: int = 0):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    mean, std = X_train.mean(0), X_train.std(0) + 1e-8  # standardize with the training statistics only
    as_x = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    return as_x(X_train), torch.tensor(y_train), as_x(X_test), torch.tensor(y_test)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", metavar="FILE", help="also write the monitor's log as CSV (optimlab explain --log)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # a model this small gains nothing from threads, and a busy machine loses much
    torch.manual_seed(args.seed)
    X, y, X_test, y_test = data(args.seed)
    dataset = torch.utils.data.TensorDataset(X, y)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = make_adam(model.parameters(), lr=1e-3)

    # 1. the range test: a suggestion with a band over seeds; model, optimizer and RNG untouched
    found = ot.lr_find(model, loss_fn, loader, optimizer, start_lr=1e-5, end_lr=1.0, steps=60, seeds=2)  # <- optimlab
    lr = found.suggestion if found.suggestion is not None else 1e-3
    print(f"lr_find: suggestion {lr:.3g}, band {found.band[0]:.3g} to {found.band[1]:.3g}" if found.band else
          f"lr_find: {found.statement}")
    for group in optimizer.param_groups:
        group["lr"] = lr

    # 2. the monitor: one line in the loop, between backward() and step()
    monitor = ot.StabilityMonitor(model, optimizer, loss_fn, every=10, sharpness_every=100)  # <- optimlab
    for _ in range(args.epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            monitor.step(loss, (xb, yb))  # <- optimlab
            optimizer.step()

    with torch.no_grad():
        train_loss = float(loss_fn(model(X), y))
        accuracy = float((model(X_test).argmax(1) == y_test).float().mean())
    print(f"train loss {train_loss:.4f}")
    print(f"test accuracy {accuracy:.4f}")

    # 3. the sharpness at the end, through Adam's own preconditioner, against its threshold 38/η
    s = ot.sharpness(model, loss_fn, (X, y), optimizer)  # <- optimlab
    print(f"preconditioned sharpness {s.lambda_max:.4g}, threshold {s.threshold:.4g} (ratio {s.ratio:.3f}); "
          f"{s.hvps} Hessian-vector products in {s.seconds:.2f} s")
    print(f"monitor overhead {monitor.overhead:.1%} ({len(monitor.log)} steps)")

    # 4. the diagnosis, in the lecture's terms; the same as `optimlab explain --log` on the written log
    d = monitor.explain()
    print(f"diagnosis {d.diagnosis}: {d.explanation}")
    if args.log:
        monitor.to_frame().to_csv(args.log, index=False)
        print(f"log written to {args.log}; optimlab explain --log says: {diagnose_log(read_log(args.log)).diagnosis}")
    return 0 if np.isfinite(train_loss) else 1


if __name__ == "__main__":
    raise SystemExit(main())
