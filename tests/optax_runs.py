"""optax's side of the optax parity tests, run in a subprocess of its own (python tests/optax_runs.py): JAX starts
threads, and a test process that later forks (the lecture's figure workers) must not carry them.

Prints JSON: for each case id, optax's iterates and the η optax used at each step (None without a schedule); for
each translation case, optimlab.translate's result."""

import json
import sys
from pathlib import Path

import jax
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).parent))
import parity  # noqa: E402

jax.config.update("jax_enable_x64", True)  # float64 on both sides; optax alone would compute in float32

EXP = optax.exponential_decay(0.05, transition_steps=5, decay_rate=0.7)
COS = optax.cosine_decay_schedule(0.05, decay_steps=40)
CASES = {
    "sgd": (optax.sgd(0.05), None),
    "sgd momentum+exp": (optax.sgd(EXP, momentum=0.9), EXP),
    "sgd nesterov+cosine": (optax.sgd(COS, momentum=0.9, nesterov=True), COS),
    "adagrad": (optax.adagrad(0.5), None),
    "rmsprop": (optax.rmsprop(0.01), None),
    "rmsprop centered+momentum+exp": (optax.rmsprop(EXP, centered=True, momentum=0.9), EXP),
    "adam+cosine": (optax.adam(COS), COS),
    "adamw": (optax.adamw(0.05, weight_decay=0.1), None),
    "adadelta": (optax.adadelta(0.5), None),
}


def trajectory(tx):
    x = jax.numpy.asarray(parity.X0)
    state, xs = tx.init(x), []
    for t in range(parity.STEPS):
        updates, state = tx.update(jax.numpy.asarray(parity.gradient(np.asarray(x), t)), state, x)
        x = optax.apply_updates(x, updates)
        xs.append(np.asarray(x).tolist())
    return xs


def main():
    out = {"trajectories": {}, "translations": []}
    for case_id, (tx, schedule) in CASES.items():
        # η_t as optax evaluates it inside the update: at its int32 step count, where exponential_decay computes in
        # float32 even under x64 (~1e-8 from the exact 0.05·0.7^(t/5)); the schedule is not under test
        lrs = None if schedule is None else [float(schedule(jax.numpy.int32(t))) for t in range(parity.STEPS)]
        out["trajectories"][case_id] = {"xs": trajectory(tx), "lrs": lrs}
    from optimlab.translate import translate
    for name, source, hyper in json.loads(sys.argv[1]) if len(sys.argv) > 1 else []:
        out["translations"].append(translate(name, "optax", source=source, **hyper).to_dict())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
