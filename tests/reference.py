"""Independent references: the lecture's update functions and training loop transcribed as plain Python loops,
one scalar at a time, sharing no code with optimlab."""

from __future__ import annotations

import math

import numpy as np


def sgd(x, grads, lr):
    x = list(x)
    for g in grads:
        x = [xi - lr * gi for xi, gi in zip(x, g)]
    return x


def momentum(x, grads, lr, momentum):
    x, v = list(x), [0.0] * len(x)
    for g in grads:
        v = [momentum * vi + lr * gi for vi, gi in zip(v, g)]
        x = [xi - vi for xi, vi in zip(x, v)]
    return x


def nesterov(x, grads, lr, momentum):
    x, v = list(x), [0.0] * len(x)
    for g in grads:
        v = [momentum * vi + lr * gi for vi, gi in zip(v, g)]
        x = [xi - (momentum * vi + lr * gi) for xi, vi, gi in zip(x, v, g)]
    return x


def adagrad(x, grads, lr, eps):
    x, s = list(x), [0.0] * len(x)
    for g in grads:
        s = [si + gi * gi for si, gi in zip(s, g)]
        x = [xi - lr * gi / math.sqrt(si + eps) for xi, gi, si in zip(x, g, s)]
    return x


def rmsprop(x, grads, lr, gamma, eps):
    x, s = list(x), [0.0] * len(x)
    for g in grads:
        s = [gamma * si + (1 - gamma) * gi * gi for si, gi in zip(s, g)]
        x = [xi - lr * gi / math.sqrt(si + eps) for xi, gi, si in zip(x, g, s)]
    return x


def adam(x, grads, lr, beta1, beta2, eps, weight_decay=0.0):
    x, v, s = list(x), [0.0] * len(x), [0.0] * len(x)
    for t, g in enumerate(grads, start=1):
        x = [xi - lr * weight_decay * xi for xi in x]
        v = [beta1 * vi + (1 - beta1) * gi for vi, gi in zip(v, g)]
        s = [beta2 * si + (1 - beta2) * gi * gi for si, gi in zip(s, g)]
        x = [xi - lr * (vi / (1 - beta1 ** t)) / (math.sqrt(si / (1 - beta2 ** t)) + eps)
             for xi, vi, si in zip(x, v, s)]
    return x


def adamw(x, grads, lr, beta1, beta2, eps, weight_decay):
    return adam(x, grads, lr, beta1, beta2, eps, weight_decay)


def adadelta(x, grads, rho, eps):
    x, s, d = list(x), [0.0] * len(x), [0.0] * len(x)
    for g in grads:
        s = [rho * si + (1 - rho) * gi * gi for si, gi in zip(s, g)]
        step = [math.sqrt(di + eps) / math.sqrt(si + eps) * gi for di, si, gi in zip(d, s, g)]
        d = [rho * di + (1 - rho) * c * c for di, c in zip(d, step)]
        x = [xi - c for xi, c in zip(x, step)]
    return x


def lecture_train(X, y, w0, b0, orders, batch_size, lr, period, decay=True):
    """The lecture's ``train()`` (§6.1) with plain SGD, one configuration, given init and per-epoch orders.
    Returns the curve (total_loss) and the final parameters."""
    w, b = np.array(w0, dtype=float), float(b0)

    def full_loss():
        return float(np.mean((X @ w + b - y) ** 2 / 2))

    total = [full_loss()]
    for epoch, perm in enumerate(orders, start=1):
        if decay and epoch > 2:
            lr *= 0.1
        for batch_i, i in enumerate(range(0, len(y), batch_size)):
            j = perm[i:i + batch_size]
            r = X[j] @ w + b - y[j]
            w = w - lr * (X[j].T @ r) / len(j)
            b = b - lr * r.sum() / len(j)
            if batch_i * batch_size % period == 0:
                total.append(full_loss())
    return np.array(total), w, b
