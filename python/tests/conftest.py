"""Fixtures for the `interpose` package's suite: a Temporal server and guest components.

The suite runs against a Temporal dev server and guests built from source, which
`cargo xtask test` provides (`tests/tests/python_pytest.rs` starts the server, builds the
guests and runs pytest with):

- ``INTERPOSE_TEST_TEMPORAL``: the server's ``host:port``;
- ``INTERPOSE_TEST_GUESTS``: a JSON object, guest name -> component path.

To run it alone: ``cargo xtask python-package`` then, with a server running and the
variables set, ``python -m pytest python/tests`` with the package on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import pytest


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(
            f"{name} is not set: run this suite with `cargo xtask test` (or see conftest.py)"
        )
    return value


@pytest.fixture(scope="session")
def temporal_address() -> str:
    return _env("INTERPOSE_TEST_TEMPORAL")


@pytest.fixture(scope="session")
def guests() -> dict:
    return json.loads(_env("INTERPOSE_TEST_GUESTS"))


@pytest.fixture
def config(tmp_path: Path, guests: dict):
    """``config(("name", "guest", "toml lines"), ...)``: writes an ``interpose.toml`` with
    these guests, in order, and returns its path."""

    def write(*entries) -> str:
        toml = ""
        for name, which, extra in entries:
            toml += f'[[guest]]\nname = "{name}"\npath = "{guests[which]}"\n{extra}\n'
        path = tmp_path / f"interpose-{uuid.uuid4().hex[:8]}.toml"
        path.write_text(toml)
        return str(path)

    return write


class Lines(logging.Handler):
    """The guest log lines the package sends to logger ``interpose``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def of(self, guest: str) -> list[str]:
        """Lines of one guest, without the ``[guest] hook: `` prefix."""
        prefix = f"[{guest}] "
        return [l[len(prefix) :].split(": ", 1)[-1] for l in self.lines if l.startswith(prefix)]


@pytest.fixture
def guest_logs():
    handler = Lines()
    logger = logging.getLogger("interpose")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus) -> None:
    _status["code"] = int(exitstatus)


def pytest_unconfigure(config) -> None:
    # The SDK's native bridge can abort interpreter finalization once workers ran: leave
    # with pytest's own status once it has reported everything.
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_status["code"])
