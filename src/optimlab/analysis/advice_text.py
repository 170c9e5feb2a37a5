"""Measured ranges in words (:class:`~optimlab.analysis.advice.MeasuredRange`): what was run, what worked, the
verification run, the edges of the search, and the theory beside it. Returns strings; the CLI prints them."""

from __future__ import annotations

from optimlab.analysis.advice import MeasuredRange


def _g(x: float) -> str:
    return f"{x:.3g}"


def _span(what: str, low: float, high: float) -> str:
    return f"{what} = {_g(low)}" if _g(low) == _g(high) else f"{what} from {_g(low)} to {_g(high)}"


def describe_range(r: MeasuredRange, what: str, epochs: int) -> str:
    """A measured range in words: what was run, what worked, the verification, the edges, the theory."""
    g = _g
    lo, hi = r.search
    if r.found:
        m = r.middle_outcome
        goal = "converged or noise floor"
        if r.goal_loss is not None:
            goal += (f", at a loss of at most {r.goal_loss:.4g}: no optimum is known, so within a quarter (in "
                     f"decades) of the lowest final loss measured, {r.best_loss:.4g}")
        text = (f"Measured: {_span(what, r.low, r.high)} reached the goal ({goal}) in "
                f"{'every one of ' + str(len(r.seeds)) + ' seeds' if len(r.seeds) > 1 else 'seed ' + str(r.seeds[0])}"
                f" with these settings ({r.configurations} configurations run over {g(lo)}–{g(hi)}); its middle "
                f"{g(r.middle)}, run again alone, ended {m['label'].replace('_', ' ')} at loss {m['final_loss']:.4g} "
                f"(start {m['initial_loss']:.4g}).")
        for edge in r.edges:
            text += (f" The range reaches the {edge} end of the search range ({g(lo if edge == 'low' else hi)}): "
                     f"better values may lie beyond it.")
    else:
        text = (f"Measured: no {what} in {g(lo)}–{g(hi)} reached the goal within {epochs} epochs with these "
                f"settings ({r.configurations} configurations run), so no range is recommended.")
        alt = r.alternative or {}
        if alt.get("change") == "epochs":
            text += (f" With {alt['epochs']} epochs, {_span(what, alt['low'], alt['high'])} does "
                     f"(measured on seed {alt['seed']}): add epochs.")
        elif alt.get("change") == "no_decay":
            text += (f" Without the schedule's decay, {_span(what, alt['low'], alt['high'])} does (measured "
                     f"on seed {alt['seed']}): decay later, or not at all.")
        elif alt.get("ended_below_start") == 0:
            text += (f" No {what} searched ended below its start, so more epochs of the same would not help: "
                     f"another start, a smaller initial scale or another optimizer.")
        else:
            if alt.get("tried"):
                tried = [f"{e} epochs" if t == "epochs" else "dropping the decay" for t, e in alt["tried"]]
                text += (f" Nor did {', '.join(tried)} (measured on seed {r.seeds[0]}): the goal needs more epochs "
                         f"than that, another start or another optimizer.")
            skipped = [f"{e} epochs" if t == "epochs" else "dropping the decay" for t, e in alt.get("skipped", [])]
            if skipped:
                text += (f" Not measured: {', '.join(skipped)} (beyond this call's budget of "
                         f"{alt.get('budget', 0):.3g} multiply-adds for such checks; run them with --epochs).")
            elif not alt.get("tried"):
                text += " More epochs would be needed (not measured here: too costly for this call)."
    note = r.theory.get("note")
    if note:
        text += (" Theory and measurement disagree: " if r.theory.get("agrees") is False else " Theory: ") + note + "."
    return text
