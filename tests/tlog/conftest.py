"""The verifiable log's tests through the log run on both backends: ids `sqlite` and `postgres`."""

from tests.domain.conftest import backend

__all__ = ["backend"]
