"""Named conventions: where the lecture, torch.optim, optax, Keras and MXNet/Gluon write "the same optimizer"
differently, each difference is an option of the optimizer (see ``base.FLAGS``); a convention only sets options.

    make("rmsprop", convention="torch", lr=0.01)     # ε outside the root, η outside the momentum buffer
    make("rmsprop", convention="torch", eps_in_root=True)   # an explicit option overrides the preset

What each library does (checked against torch.optim and optax in tests/test_conventions.py; Keras and Gluon from
their documented update rules, not run here):

=========================  =========  ==============  ===========  ============  ===========
difference                 lecture    torch.optim     optax        Keras 3       Gluon 1.x
=========================  =========  ==============  ===========  ============  ===========
ε in Adagrad/RMSProp root  inside     outside         inside       inside        inside
η in the momentum buffer   inside     outside         SGD outside, inside        inside (NAG
                                                      RMSProp in                 outside)
weight decay               (none)     L2 in g         (chained)    decoupled     L2 in g
Adadelta η multiplier      none       η (1.0)         η            η (1e-3)      none
Adagrad s₀                 0          0               0.1          0.1           0
Adam's ε                   on √ŝ      on √ŝ           on √ŝ        on √s (ε̂)     on √s (ε̂)
=========================  =========  ==============  ===========  ============  ===========

Numeric defaults (η, ε, the decays) are hyperparameters, not conventions: a preset never changes them, so
``make("adam", convention="torch")`` still has the lecture's η = 0.1; give torch's values explicitly
(``optimlab translate`` prints them). Not modelled: torch's SGD ``dampening`` (default 0), optax's ``eps_root``
(default 0), Keras's ``ema_momentum`` and gradient clipping, optax's AMSGrad, which takes the maximum of the
bias-corrected ŝ rather than of s (torch, Keras); optax's RMSProp ``bias_correction`` (default off).
"""

from __future__ import annotations

# convention -> {"*": options for every optimizer that has them, optimizer name: its own overrides}
CONVENTIONS: dict[str, dict[str, dict]] = {
    "lecture": {"*": {}},
    "torch": {"*": {"eps_in_root": False, "lr_in_velocity": False, "decoupled": False, "lr_multiplier": True,
                    "eps_uncorrected": False}},
    "optax": {"*": {"eps_in_root": True, "lr_in_velocity": False, "lr_multiplier": True, "eps_uncorrected": False},
              # optax.rmsprop scales by η before its momentum trace; optax.sgd traces g and scales after
              "rmsprop": {"lr_in_velocity": True},
              "adagrad": {"initial_accumulator": 0.1}},
    "keras": {"*": {"eps_in_root": True, "lr_in_velocity": True, "decoupled": True, "lr_multiplier": True,
                    "eps_uncorrected": True},
              "adagrad": {"initial_accumulator": 0.1}},
    # MXNet/Gluon 1.x: momentum -lr*g inside the buffer, wd added to g, Adam's lr scaled by √(1-β2^t)/(1-β1^t)
    "gluon": {"*": {"eps_in_root": True, "lr_in_velocity": True, "decoupled": False, "lr_multiplier": False,
                    "eps_uncorrected": True},
              "nesterov": {"lr_in_velocity": False}},  # MXNet's 'nag': b := γb + g; x −= η(g + γb)
}
DEFAULT_CONVENTION = "lecture"


def preset(convention: str, name: str, options: dict) -> dict:
    """The option values ``convention`` sets for optimizer ``name``, among the ``options`` it takes."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}")
    table = CONVENTIONS[convention]
    chosen = {**table["*"], **table.get(name, {})}
    return {key: value for key, value in chosen.items() if key in options}
