"""The lecture as software: its experiments and figures, each with its claim checked by a run, and the report.

    report = optimlab.lecture.reproduce(seed=1)      # data: entries with verdicts, runs and figures
    optimlab.lecture.write_report(report, "report/") # index.html, results.json, one PNG per figure
"""

from optimlab.lecture.report import write_report
from optimlab.lecture.reproduction import Report, describe, names, reproduce

__all__ = ["Report", "describe", "names", "reproduce", "write_report"]
