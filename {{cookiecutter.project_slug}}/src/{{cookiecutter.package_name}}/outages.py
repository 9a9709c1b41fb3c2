"""Waiting out a dependency's outage in a loop that must not end: one warning when the outage
starts, capped exponential backoff while it lasts, one line when it is over."""

from __future__ import annotations

import logging
import math

# Beyond this many doublings the wait is the cap whatever the first wait is.
MAX_DOUBLINGS = 64


def backoff_seconds(first: float, failures: int, longest: float) -> float:
    """`first` after the first failure, doubled after each further one, never above
    `longest`, for any number of failures (`first * 2**failures` overflows at 1,024)."""
    doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
    return min(math.ldexp(first, doublings), longest)


def first_line(error: BaseException) -> str:
    """The exception's type and the first line of its message, for a log line."""
    message = next(iter(str(error).strip().splitlines()), "")
    return f"{type(error).__name__}: {message[:300]}" if message else type(error).__name__


class Outage:
    """The consecutive failures of one dependency: `failed()` for each (it says how long to
    wait before trying again), `ended()` after a success."""

    def __init__(
        self,
        logger: logging.Logger,
        dependency: str,
        *,
        meanwhile: str = "retrying with backoff",
        first_wait: float = 0.0,
        longest_wait: float = 0.0,
    ) -> None:
        self.logger = logger
        self.dependency = dependency
        self.meanwhile = meanwhile
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self.failures = 0

    def failed(self, error: BaseException) -> float:
        """Count a failure, warn if it starts an outage; the seconds to wait before retrying."""
        self.failures += 1
        if self.failures == 1:
            self.logger.warning(
                "%s unavailable, %s: %s", self.dependency, self.meanwhile, first_line(error)
            )
        return backoff_seconds(self.first_wait, self.failures, self.longest_wait)

    def ended(self) -> None:
        if self.failures:
            self.logger.info(
                "%s available again after %d failed attempt(s)", self.dependency, self.failures
            )
            self.failures = 0
