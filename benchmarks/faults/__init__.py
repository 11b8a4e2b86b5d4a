"""The fault suite (issue #9): ``make faults`` / ``python -m benchmarks.faults``."""
