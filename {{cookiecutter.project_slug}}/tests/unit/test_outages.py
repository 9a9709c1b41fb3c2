import logging

import pytest

from {{ cookiecutter.package_name }}.outages import Outage, backoff_seconds


def test_the_backoff_doubles_then_stays_at_its_cap_for_any_number_of_failures() -> None:
    waits = [backoff_seconds(0.5, failures, 30.0) for failures in range(1, 2001)]

    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(waits) == waits[-1] == 30.0


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage(logging.getLogger("test"), "the broker", first_wait=0.1, longest_wait=1.0)

    with caplog.at_level(logging.INFO):
        waits = [outage.failed(ConnectionError(f"refused {n}")) for n in range(2000)]
        outage.ended()
        outage.ended()

    assert max(waits) == 1.0
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "the broker unavailable, retrying with backoff: ConnectionError: refused 0"),
        ("INFO", "the broker available again after 2000 failed attempt(s)"),
    ]
