"""A multilayer perceptron with one or two hidden layers, over K parameter vectors at once, with exact
gradients (backpropagation) and exact Hessian-vector products (Pearlmutter's R-operator), all by hand in NumPy."""

from __future__ import annotations

import numpy as np

from optimlab import checks
from optimlab.problems.datasets import load
from optimlab.problems.softmax import log_softmax, softmax_hvp_factor
from optimlab.problems.supervised import SupervisedProblem

ACTIVATIONS = ("tanh", "relu")
LOSSES = ("cross-entropy", "squared")


def _activate(z, kind):
    """(φ(z), φ'(z), φ''(z)). tanh: φ' = 1 − a², φ'' = −2a(1 − a²). relu: φ' = 1[z > 0], φ'' = 0 (its kink at 0 is
    a set of measure zero, where we take the derivative from the left)."""
    if kind == "tanh":
        a = np.tanh(z)
        d1 = 1.0 - a * a
        return a, d1, -2.0 * a * d1
    a = np.maximum(z, 0.0)
    d1 = (z > 0).astype(z.dtype)
    return a, d1, np.zeros_like(z)


def _mm(A, B):
    """A @ B where one side may be shared by all K configurations (2-D) and the other stacked (K, ., .).

    numpy's matmul falls back to a loop without BLAS when a stacked operand is broadcast (stride 0), which made
    X (n, d) @ W (K, d, h) ~10x slower than it should be. Folding K into the columns (or rows) of the other side
    makes it one BLAS product: X @ [W_1 | … | W_K], then unfolded.
    """
    if A.ndim == 2 and B.ndim == 3:
        k, m, h = B.shape
        out = A @ B.transpose(1, 0, 2).reshape(m, k * h)
        return np.ascontiguousarray(out.reshape(A.shape[0], k, h).transpose(1, 0, 2))
    if A.ndim == 3 and B.ndim == 2:
        return (A.reshape(-1, A.shape[-1]) @ B).reshape(A.shape[:-1] + (B.shape[-1],))
    return A @ B


class MLP(SupervisedProblem):
    """f(θ) = (1/n) Σ_i ℓ(z_L(x_i), t_i) of the network a_0 = x, z_l = a_{l−1} W_l + b_l, a_l = φ(z_l) (hidden
    layers, φ = tanh or relu), output z_L = a_{L−1} W_L + b_L (linear).

    Loss ℓ: "cross-entropy" (softmax over the C classes; the default on classification data) or "squared",
    ½|z_L − t|² with t the one-hot class (classification) or the standardized target (regression, one output).

    Backpropagation with δ_L = ∂ℓ/∂z_L / B (softmax(z) − onehot, or z − t): ∇W_l = a_{l−1}ᵀ δ_l, ∇b_l = Σ δ_l,
    δ_{l−1} = (δ_l W_lᵀ) ⊙ φ'(z_{l−1}). The Hessian-vector product in direction V = (V_W, V_b) is the R-operator
    (forward-over-reverse): R z_l = R a_{l−1} W_l + a_{l−1} V_{W_l} + V_{b_l}, R a_l = φ'(z_l) ⊙ R z_l;
    R δ_L = ∂²ℓ/∂z² R z_L / B ((diag p − p pᵀ) R z, or R z); R∇W_l = R a_{l−1}ᵀ δ_l + a_{l−1}ᵀ R δ_l,
    R∇b_l = Σ R δ_l; R δ_{l−1} = (R δ_l W_lᵀ + δ_l V_{W_l}ᵀ) ⊙ φ'(z_{l−1}) + (δ_l W_lᵀ) ⊙ φ''(z_{l−1}) ⊙ R z_{l−1}.

    Parameters are W_1, b_1, W_2, b_2, ... flattened in that order (each W row-major, fan_in × fan_out).
    Initialisation (``init_params``): W_l ~ N(0, s²·σ_l²) with σ_l² = 2/(fan_in + fan_out) (Glorot) for tanh and
    2/fan_in (He) for relu, s = ``train``'s init_scale; biases 0. Non-convex: no known optimum (optimal_loss None).
    """

    def __init__(self, dataset: str = "digits", hidden=(32,), activation: str = "tanh", loss: str | None = None,
                 standardize: bool = True, eval_examples: int | None = None):
        hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        if len(hidden) not in (1, 2):
            raise ValueError(f"hidden must give one or two layer widths, got {len(hidden)}: {hidden}")
        hidden = tuple(checks.check_int("hidden", h, minimum=1) for h in hidden)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        data = load(dataset, standardize)
        classify = data.task == "classification"
        loss = loss if loss is not None else ("cross-entropy" if classify else "squared")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if loss == "cross-entropy" and not classify:
            raise ValueError(f"loss cross-entropy needs class labels; dataset {data.name} is a regression data set "
                             f"(use loss='squared')")
        outputs = len(data.classes) if classify else 1
        targets = np.eye(outputs)[data.y] if classify else data.y[:, None]
        super().__init__(data, targets, eval_examples,
                         {"dataset": data.name, "hidden": list(hidden), "activation": activation, "loss": loss,
                          "standardize": bool(standardize)})
        self.name = "mlp"
        self.activation, self.loss_kind = activation, loss
        self.widths = (data.features, *hidden, outputs)
        self.shapes = [(a, b) for a, b in zip(self.widths[:-1], self.widths[1:])]
        names = []
        for layer, (fan_in, fan_out) in enumerate(self.shapes, start=1):
            names += [f"W{layer}[{i},{j}]" for i in range(fan_in) for j in range(fan_out)]
            names += [f"b{layer}[{j}]" for j in range(fan_out)]
        self.param_names = tuple(names)

    def _layers(self, params):
        """[(W_l, b_l)] as views of params (..., P): W_l (..., fan_in, fan_out), b_l (..., 1, fan_out)."""
        out, at, lead = [], 0, params.shape[:-1]
        for fan_in, fan_out in self.shapes:
            W = params[..., at:at + fan_in * fan_out].reshape(lead + (fan_in, fan_out))
            at += fan_in * fan_out
            b = params[..., at:at + fan_out].reshape(lead + (1, fan_out))
            at += fan_out
            out.append((W, b))
        return out

    def _forward(self, params, X):
        """Pre-activations z_l and activations a_l (a_0 = X), each (..., B, width), and φ', φ'' of the hidden z."""
        acts, pre, d1, d2 = [X], [], [], []
        layers = self._layers(params)
        for depth, (W, b) in enumerate(layers):
            z = _mm(acts[-1], W) + b
            pre.append(z)
            if depth < len(layers) - 1:
                a, p1, p2 = _activate(z, self.activation)
                acts.append(a)
                d1.append(p1)
                d2.append(p2)
        return layers, pre, acts, d1, d2

    def _loss(self, params, X, T):
        out = self._forward(params, X)[1][-1]
        if self.loss_kind == "cross-entropy":
            return -np.mean((log_softmax(out) * T).sum(axis=-1), axis=-1)
        return 0.5 * np.mean(((out - T) ** 2).sum(axis=-1), axis=-1)

    def _output_delta(self, out, T):
        if self.loss_kind == "cross-entropy":
            return (np.exp(log_softmax(out)) - T) / T.shape[0]
        return (out - T) / T.shape[0]

    def _flatten(self, parts, lead):
        return np.concatenate([p.reshape(lead + (-1,)) for p in parts], axis=-1)

    def _grad(self, params, X, T):
        layers, pre, acts, d1, _ = self._forward(params, X)
        delta = self._output_delta(pre[-1], T)
        parts = []
        for depth in range(len(layers) - 1, -1, -1):
            W, _ = layers[depth]
            parts = [_mm(np.swapaxes(acts[depth], -1, -2), delta), delta.sum(axis=-2)] + parts
            if depth > 0:
                delta = _mm(delta, np.swapaxes(W, -1, -2)) * d1[depth - 1]
        return self._flatten(parts, params.shape[:-1])

    def _hvp(self, params, V, X, T):
        layers, pre, acts, d1, d2 = self._forward(params, X)
        dirs = self._layers(V)
        # forward R-pass: R z_l and R a_l (R a_0 = 0: the data do not depend on θ)
        r_acts, r_pre = [np.zeros_like(X)], []
        for depth, ((W, _), (VW, Vb)) in enumerate(zip(layers, dirs)):
            rz = _mm(r_acts[-1], W) + _mm(acts[depth], VW) + Vb
            r_pre.append(rz)
            if depth < len(layers) - 1:
                r_acts.append(d1[depth] * rz)
        out, r_out, B = pre[-1], r_pre[-1], T.shape[0]
        delta = self._output_delta(out, T)
        if self.loss_kind == "cross-entropy":
            r_delta = softmax_hvp_factor(np.exp(log_softmax(out)), r_out) / B
        else:
            r_delta = r_out / B
        parts = []
        for depth in range(len(layers) - 1, -1, -1):
            W, _ = layers[depth]
            VW, _ = dirs[depth]
            a_t, ra_t = np.swapaxes(acts[depth], -1, -2), np.swapaxes(r_acts[depth], -1, -2)
            parts = [_mm(ra_t, delta) + _mm(a_t, r_delta), r_delta.sum(axis=-2)] + parts
            if depth > 0:
                back = _mm(delta, np.swapaxes(W, -1, -2))
                r_delta = ((_mm(r_delta, np.swapaxes(W, -1, -2)) + _mm(delta, np.swapaxes(VW, -1, -2))) * d1[depth - 1]
                           + back * d2[depth - 1] * r_pre[depth - 1])
                delta = back * d1[depth - 1]
        return self._flatten(parts, params.shape[:-1])

    def init_params(self, rng, scale=1.0):
        """Glorot (tanh) or He (relu) weights times ``scale``, zero biases (see the class docstring)."""
        parts = []
        for fan_in, fan_out in self.shapes:
            var = 2.0 / fan_in if self.activation == "relu" else 2.0 / (fan_in + fan_out)
            parts += [scale * np.sqrt(var) * rng.normal(size=fan_in * fan_out), np.zeros(fan_out)]
        return np.concatenate(parts)

    def split(self, params):
        params = np.asarray(params, dtype=np.float64)
        out = {}
        for layer, (W, b) in enumerate(self._layers(params), start=1):
            out[f"W{layer}"], out[f"b{layer}"] = W, b[..., 0, :]
        return out
