"""optimlab: understand, tune and trust gradient-descent optimizers.

    import optimlab
    problem = optimlab.problems.make("linear-regression", seed=1)
    opt = optimlab.optim.make("sgd", lr=[0.01, 0.1, 1.0])
    run = optimlab.train(problem, opt, batch_size=10, epochs=5, seed=1,
                         schedule=optimlab.schedules.make("lecture", after=2, factor=0.1))
    run.losses.shape  # (3, 501)
"""

from optimlab import optim, problems, schedules
from optimlab.results import Run
from optimlab.train import train

__all__ = ["Run", "analysis", "explain", "lecture", "optim", "plots", "problems", "schedules", "train",
           "__version__"]

# Loaded on first use, so that `import optimlab` (and `optimlab --help`) stays light: plots and the lecture need
# matplotlib, the analysis its solvers.
_LAZY = {"plots": "optimlab.plots", "lecture": "optimlab.lecture", "analysis": "optimlab.analysis"}


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    if name == "__version__":  # importlib.metadata costs ~0.07 s at start-up: read it when asked
        from importlib import metadata

        try:
            return metadata.version("optimlab")
        except metadata.PackageNotFoundError:  # a source tree that was not installed
            return "0+unknown"
    if name == "explain":
        from optimlab.analysis.diagnosis import explain

        return explain
    raise AttributeError(f"module 'optimlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"explain"})

