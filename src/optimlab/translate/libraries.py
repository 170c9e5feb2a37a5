"""How each library writes optimlab's optimizers: constructor, argument names, and which conventions it can express.

Each ``to_<library>(name, v, scheduled)`` takes an optimizer name and ``v``, its resolved hyperparameters and
options in optimlab's terms (``optim.make(...).options`` and ``.hyperparams`` merged), and returns a
:class:`Target`: the constructor call as code, its keyword arguments (for the verification run), and ``missing``,
one sentence per convention the library has no option for (empty when the translation is exact). ``scheduled``
says whether η changes during the run: η inside or outside the momentum buffer only matters then.
"""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    code: str
    constructor: str
    kwargs: dict
    missing: list


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(x) for x in value) + ")"
    return repr(value) if not isinstance(value, float) else f"{value!r}"


def _call(constructor: str, first: str | None, kwargs: dict) -> str:
    args = ([first] if first else []) + [f"{k}={_fmt(v)}" for k, v in kwargs.items()]
    return f"{constructor}({', '.join(args)})"


def _lr_position(lib: str, name: str, v: dict, scheduled: bool, inside_is: bool) -> list:
    """The momentum buffer: η inside (``inside_is=True``) or outside in the target library."""
    has_buffer = name in ("momentum", "nesterov") or (name == "rmsprop" and v.get("momentum", 0) > 0)
    if has_buffer and scheduled and v.get("lr_in_velocity", True) != inside_is:
        where = "inside" if v.get("lr_in_velocity", True) else "outside"
        return [f"{lib} keeps η {'inside' if inside_is else 'outside'} the momentum buffer and has no option for "
                f"η {where} it; the two differ once a schedule changes η (they agree for a constant η)"]
    return []


def _decay(lib: str, v: dict, coupled_ok: bool, decoupled_ok: bool, name: str) -> list:
    if v.get("weight_decay", 0) == 0 or name == "sgd":  # for plain SGD the two kinds of decay are one update
        return []
    decoupled = name == "adamw" or v.get("decoupled", False)
    if decoupled and not decoupled_ok:
        return [f"{lib}'s {name} has no decoupled weight decay (x := x − ηλx)"]
    if not decoupled and not coupled_ok:
        return [f"{lib}'s {name} has no L2 weight decay coupled into the gradient (g := g + λx)"]
    return []


def _eps_root(lib: str, v: dict, inside: bool | None) -> list:
    """``inside``: where the library puts ε (None: it has the option)."""
    if inside is None or v["eps_in_root"] == inside:
        return []
    ours = "g/√(s + ε)" if v["eps_in_root"] else "g/(√s + ε)"
    theirs = "g/√(s + ε)" if inside else "g/(√s + ε)"
    return [f"{lib} computes {theirs} and has no option for ε {'inside' if v['eps_in_root'] else 'outside'} the "
            f"root, {ours}"]


def _eps_adam(lib: str, v: dict, uncorrected: bool) -> list:
    if v.get("eps_uncorrected", False) == uncorrected:
        return []
    return [f"{lib}'s Adam adds ε to {'√s before' if uncorrected else '√ŝ after'} the bias correction and has no "
            f"option for the other placement ({'ε on √ŝ' if uncorrected else 'ε on √s, the ε̂ form'})"]


def to_torch(name: str, v: dict, scheduled: bool) -> Target:
    lr, wd = v.get("lr", 1.0), v.get("weight_decay", 0.0)
    missing = _lr_position("torch.optim", name, v, scheduled, inside_is=False)
    missing += _decay("torch.optim", v, coupled_ok=name != "adamw", decoupled_ok=name in ("adam", "adamw"), name=name)
    if name in ("sgd", "momentum", "nesterov"):
        kw = {"lr": lr}
        if name != "sgd":
            kw["momentum"] = v["momentum"]
        if name == "nesterov":
            kw["nesterov"] = True
        ctor = "torch.optim.SGD"
    elif name == "adagrad":
        missing += _eps_root("torch.optim.Adagrad", v, inside=False)
        kw = {"lr": lr, "lr_decay": v["lr_decay"], "initial_accumulator_value": v["initial_accumulator"],
              "eps": v["eps"]}
        ctor = "torch.optim.Adagrad"
    elif name == "rmsprop":
        missing += _eps_root("torch.optim.RMSprop", v, inside=False)
        kw = {"lr": lr, "alpha": v["gamma"], "eps": v["eps"], "momentum": v["momentum"], "centered": v["centered"]}
        ctor = "torch.optim.RMSprop"
    elif name in ("adam", "adamw"):
        missing += _eps_adam("torch.optim", v, uncorrected=False)
        decoupled = name == "adamw" or (v.get("decoupled", False) and wd > 0)
        kw = {"lr": lr, "betas": (v["beta1"], v["beta2"]), "eps": v["eps"], "amsgrad": v["amsgrad"]}
        ctor = "torch.optim.AdamW" if decoupled else "torch.optim.Adam"
        kw["weight_decay"] = wd  # AdamW's default is 0.01: always spelled out
    else:  # adadelta
        kw = {"lr": lr if v.get("lr_multiplier", False) else 1.0, "rho": v["rho"], "eps": v["eps"]}
        ctor = "torch.optim.Adadelta"
    if wd and "weight_decay" not in kw:
        kw["weight_decay"] = wd
    return Target(_call(ctor, "params", kw), ctor, kw, missing)


def to_optax(name: str, v: dict, scheduled: bool) -> Target:
    lr, wd = v.get("lr", 1.0), v.get("weight_decay", 0.0)
    missing = _lr_position("optax", name, v, scheduled, inside_is=name == "rmsprop")
    coupled = wd > 0 and not v.get("decoupled", False) and name not in ("adamw", "adadelta")
    missing += _decay("optax", v, coupled_ok=True, decoupled_ok=name in ("adam", "adamw"), name=name)
    if name in ("sgd", "momentum", "nesterov"):
        kw = {"learning_rate": lr}
        if name != "sgd":
            kw["momentum"] = v["momentum"]
        if name == "nesterov":
            kw["nesterov"] = True
        ctor = "optax.sgd"
    elif name == "adagrad":
        missing += _eps_root("optax.adagrad", v, inside=True)
        if v["lr_decay"]:
            missing.append("optax.adagrad has no learning-rate decay δ (use an optax schedule for η instead)")
        kw = {"learning_rate": lr, "initial_accumulator_value": v["initial_accumulator"], "eps": v["eps"]}
        ctor = "optax.adagrad"
    elif name == "rmsprop":
        kw = {"learning_rate": lr, "decay": v["gamma"], "eps": v["eps"], "eps_in_sqrt": v["eps_in_root"],
              "centered": v["centered"]}
        if v["momentum"]:
            kw["momentum"] = v["momentum"]
        ctor = "optax.rmsprop"
    elif name in ("adam", "adamw"):
        missing += _eps_adam("optax", v, uncorrected=False)
        if v["amsgrad"]:
            missing.append("optax.amsgrad takes the maximum of the bias-corrected ŝ, not of s (torch, Keras): no "
                           "exact equivalent")
        decoupled = name == "adamw" or (v.get("decoupled", False) and wd > 0)
        kw = {"learning_rate": lr, "b1": v["beta1"], "b2": v["beta2"], "eps": v["eps"]}
        if decoupled:
            kw["weight_decay"] = wd
        ctor = "optax.adamw" if decoupled else "optax.adam"
    else:
        kw = {"learning_rate": lr if v.get("lr_multiplier", False) else 1.0, "rho": v["rho"], "eps": v["eps"]}
        if wd:
            kw["weight_decay"] = wd
            missing += [] if not v.get("decoupled", False) else ["optax.adadelta has no decoupled weight decay"]
        ctor = "optax.adadelta"
    code = _call(ctor, None, kw)
    if coupled:  # L2 in the gradient: add λx before the optimizer's transform
        code = f"optax.chain(optax.add_decayed_weights({wd!r}), {code})"
    return Target(code, ctor, {**kw, "_coupled_weight_decay": wd if coupled else 0.0}, missing)


def to_keras(name: str, v: dict, scheduled: bool) -> Target:
    lr, wd = v.get("lr", 1.0), v.get("weight_decay", 0.0)
    missing = _lr_position("Keras", name, v, scheduled, inside_is=True)
    missing += _decay("Keras", v, coupled_ok=False, decoupled_ok=True, name=name)
    kw = {"learning_rate": lr}
    if name in ("sgd", "momentum", "nesterov"):
        if name != "sgd":
            kw["momentum"] = v["momentum"]
        if name == "nesterov":
            kw["nesterov"] = True
        ctor = "keras.optimizers.SGD"
    elif name == "adagrad":
        missing += _eps_root("Keras Adagrad", v, inside=True)
        if v["lr_decay"]:
            missing.append("Keras Adagrad has no learning-rate decay δ (use a LearningRateSchedule)")
        kw.update(initial_accumulator_value=v["initial_accumulator"], epsilon=v["eps"])
        ctor = "keras.optimizers.Adagrad"
    elif name == "rmsprop":
        missing += _eps_root("Keras RMSprop", v, inside=True)
        kw.update(rho=v["gamma"], momentum=v["momentum"], epsilon=v["eps"], centered=v["centered"])
        ctor = "keras.optimizers.RMSprop"
    elif name in ("adam", "adamw"):
        missing += _eps_adam("Keras", v, uncorrected=True)
        kw.update(beta_1=v["beta1"], beta_2=v["beta2"], epsilon=v["eps"], amsgrad=v["amsgrad"])
        ctor = "keras.optimizers.AdamW" if name == "adamw" else "keras.optimizers.Adam"
    else:
        kw.update(learning_rate=lr if v.get("lr_multiplier", False) else 1.0, rho=v["rho"], epsilon=v["eps"])
        ctor = "keras.optimizers.Adadelta"
    if wd:
        kw["weight_decay"] = wd
    return Target(_call(ctor, None, kw), ctor, kw, missing)


GLUON_NAMES = {"sgd": "sgd", "momentum": "sgd", "nesterov": "nag", "adagrad": "adagrad", "rmsprop": "rmsprop",
               "adam": "adam", "adamw": "adamw", "adadelta": "adadelta"}


def to_gluon(name: str, v: dict, scheduled: bool) -> Target:
    """MXNet 1.x Gluon, from its documented update rules (mxnet.optimizer): η inside the momentum buffer for 'sgd'
    and 'rmsprop', outside for 'nag'; ε inside the roots; Adam's ε on √s; weight decay 'wd' added to g."""
    lr, wd = v.get("lr", 1.0), v.get("weight_decay", 0.0)
    missing = _lr_position("Gluon", name, v, scheduled, inside_is=name != "nesterov")
    missing += _decay("Gluon", v, coupled_ok=name != "adamw", decoupled_ok=name == "adamw", name=name)
    kw = {"learning_rate": lr}
    if name in ("momentum", "nesterov"):
        kw["momentum"] = v["momentum"]
    elif name == "adagrad":
        missing += _eps_root("Gluon AdaGrad", v, inside=True)
        if v["lr_decay"] or v["initial_accumulator"]:
            missing.append("Gluon AdaGrad has no learning-rate decay δ and no initial accumulator s₀")
        kw["epsilon"] = v["eps"]
    elif name == "rmsprop":
        missing += _eps_root("Gluon RMSProp", v, inside=True)
        if v["momentum"] and not v["centered"]:
            missing.append("Gluon RMSProp takes momentum (gamma2) only with centered=True")
        kw.update(gamma1=v["gamma"], epsilon=v["eps"], centered=v["centered"])
        if v["centered"]:
            kw["gamma2"] = v["momentum"]
    elif name in ("adam", "adamw"):
        missing += _eps_adam("Gluon", v, uncorrected=True)
        if v["amsgrad"]:
            missing.append("Gluon 1.x Adam has no amsgrad")
        kw.update(beta1=v["beta1"], beta2=v["beta2"], epsilon=v["eps"])
    else:
        if v.get("lr_multiplier", False) and lr != 1.0:
            missing.append("Gluon AdaDelta has no learning-rate multiplier η")
        kw = {"rho": v["rho"], "epsilon": v["eps"]}
    if wd:
        kw["wd"] = wd
    code = f"gluon.Trainer(net.collect_params(), {GLUON_NAMES[name]!r}, {{" + \
        ", ".join(f"{k!r}: {_fmt(x)}" for k, x in kw.items()) + "})"
    return Target(code, GLUON_NAMES[name], kw, missing)


TARGETS = {"torch": to_torch, "optax": to_optax, "keras": to_keras, "gluon": to_gluon}
MODULES = {"torch": "torch", "optax": "optax", "keras": "keras", "gluon": "mxnet"}
