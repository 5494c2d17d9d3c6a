"""Concord's model: the event catalogue and how a submission is checked, codes and dates,
the aggregates and their rules over time, errors, and the public envelope. No SQL, threads
or files (an import-linter contract keeps it so)."""
