"""Bench and check: every deployed variant measured in its runtime, against the baseline and the budget."""
from .bench import BenchResult, bench
from .budget import BudgetError, Verdict, check, read_budget

__all__ = ["BenchResult", "BudgetError", "Verdict", "bench", "check", "read_budget"]
