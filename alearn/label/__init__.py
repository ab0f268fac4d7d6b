"""Reference labels: calculator protocol, plugins registry, job directories, dispatcher, engines.

The one entry point is :func:`label_structures` (structures + calculator + profile → labels in
the store), run on an engine from :func:`make_engine` (a context manager).
"""

from alearn.label.dispatcher import JobOutcome, LabelReport, Status, label_structures
from alearn.label.engines import make_engine
from alearn.label.jobs import request_cancel
from alearn.label.protocol import CalculationFailed, FailureKind, Profile, ReferenceCalculator
from alearn.label.registry import calculator_classes, calculator_params, make_calculator

__all__ = [
    "CalculationFailed", "FailureKind", "JobOutcome", "LabelReport", "Profile",
    "ReferenceCalculator", "Status", "calculator_classes", "calculator_params", "label_structures",
    "make_calculator", "make_engine", "request_cancel",
]
