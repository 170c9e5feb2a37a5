"""Stability maps: a grid of two settings (hyperparameters, batch size, seed) trained cell by cell in vectorized
chunks, the final loss against the optimum, with the stability theory on top.

    import optimlab
    from optimlab.maps import stability_map, draw
    problem = optimlab.problems.make("linear-regression")
    m = stability_map(problem, "momentum", x=("lr", np.geomspace(1e-3, 10, 100)),
                      y=("momentum", np.linspace(0, 0.99, 100)), batch_size=1000, epochs=100)
    m.final_loss.shape      # (100, 100): rows follow y
    m.agreement()           # cells where the runs agree with the theory's verdict
    draw(m).savefig("map.png")
"""

from optimlab.maps.axes import Axis, parse
from optimlab.maps.compute import StabilityMap, stability_map


def draw(stability: StabilityMap, ax=None):
    """The heat map as a matplotlib Figure (see :func:`optimlab.maps.figure.draw`)."""
    from optimlab.maps.figure import draw as _draw

    return _draw(stability, ax=ax)


__all__ = ["Axis", "StabilityMap", "draw", "parse", "stability_map"]
