"""Evaluation harness: labelled cases, metrics per configuration, reports with plots (``assistant eval``)."""

from assistant.evaluation.cases import CaseFileError, EvalCase, load_cases, parse_cases
from assistant.evaluation.runner import EvalRun, choose_configs, run_eval, write_outputs

__all__ = [
    "CaseFileError",
    "EvalCase",
    "EvalRun",
    "choose_configs",
    "load_cases",
    "parse_cases",
    "run_eval",
    "write_outputs",
]
