"""The Keras side of a translation's verification run, in a child process of its own (see
:func:`optimlab.translate.verify.run_keras`): reads the constructor, its arguments, the gradients and η per step as
JSON on stdin, runs the Keras 3 optimizer on one float64 variable, and writes its iterates as JSON on stdout.

    python -P keras_run.py < request.json
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    request = json.load(sys.stdin)
    import keras

    keras.config.set_floatx("float64")  # the optimizer's own variables (η, β powers) in float64 too, as ours
    ctor = getattr(keras.optimizers, request["constructor"].rsplit(".", 1)[1])
    opt = ctor(**request["kwargs"])
    x = keras.Variable(request["x0"], dtype="float64")
    lrs, xs = request["lrs"], []
    for t, grad in enumerate(request["grads"]):
        if lrs is not None and "learning_rate" in request["kwargs"]:
            opt.learning_rate = lrs[t]  # what a schedule does: this step's η
        opt.apply_gradients([(keras.ops.convert_to_tensor(grad, dtype="float64"), x)])
        xs.append(keras.ops.convert_to_numpy(x).tolist())
    json.dump({"backend": keras.backend.backend(), "version": keras.__version__, "iterates": xs}, sys.stdout)


if __name__ == "__main__":
    main()
