"""The write side's contract tests run on both backends: ids `sqlite` and `postgres`."""

from tests.domain.conftest import backend

__all__ = ["backend"]
