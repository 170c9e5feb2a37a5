"""optimlab: understand, tune and trust gradient-descent optimizers.

    import optimlab
    problem = optimlab.problems.make("linear-regression", seed=1)
    opt = optimlab.optim.make("sgd", lr=[0.01, 0.1, 1.0])
    run = optimlab.train(problem, opt, batch_size=10, epochs=5, seed=1,
                         schedule=optimlab.schedules.make("lecture", after=2, factor=0.1))
    run.losses.shape  # (3, 501)
"""

from importlib import metadata

from optimlab import optim, problems, schedules
from optimlab.analysis.diagnosis import explain
from optimlab.results import Run
from optimlab.train import train

try:
    __version__ = metadata.version("optimlab")
except metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["Run", "explain", "optim", "problems", "schedules", "train", "__version__"]
