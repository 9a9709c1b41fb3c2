"""configure_logging, as the app and the worker call it at startup."""

import io
import json
import logging
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.config import LogFormat, Settings
from {{ cookiecutter.package_name }}.logs import configure_logging, request_id


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What the app's handler writes, for the test; logging as it was afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_request_id_of_the_request_being_served(logged: io.StringIO) -> None:
    configure_logging(Settings(log_format=LogFormat.JSON), stream=logged)
    worker = logging.getLogger("worker.anything")

    worker.info("outside a request")
    token = request_id.set("r-42")
    try:
        worker.warning("inside %s", "one")
    finally:
        request_id.reset(token)

    outside, inside = (json.loads(line) for line in logged.getvalue().splitlines())
    assert "request_id" not in outside
    assert (inside["level"], inside["message"], inside["request_id"]) == (
        "WARNING",
        "inside one",
        "r-42",
    )


def test_text_lines_are_for_people(logged: io.StringIO) -> None:
    configure_logging(Settings(log_format=LogFormat.TEXT), stream=logged)
    token = request_id.set("r-7")
    try:
        logging.getLogger("app").error("it broke")
    finally:
        request_id.reset(token)

    assert logged.getvalue().rstrip().endswith("ERROR   app [r-7] it broke")


def test_uvicorn_logs_through_the_same_handler(logged: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").addHandler(logging.NullHandler())
    configure_logging(Settings(log_format=LogFormat.JSON), stream=logged)

    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/users", "1.1", 200
    )

    line = json.loads(logged.getvalue())
    assert line["http"] == {
        "method": "GET",
        "path": "/users",
        "status": 200,
        "client": "127.0.0.1:5000",
    }
    assert logging.getLogger("uvicorn.access").handlers == []


def test_configuring_twice_keeps_one_handler(logged: io.StringIO) -> None:
    configure_logging(Settings(), stream=logged)
    configure_logging(Settings(), stream=logged)

    logging.getLogger("app").warning("once")

    assert logged.getvalue().count("once") == 1
