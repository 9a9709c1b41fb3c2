"""Settings models for the tests' fixtures, built once per process for the same values.

A pydantic-settings model reads the environment and .env each time it is built (the
settings of one test, with their integrations: about 2 ms, a tenth of a short API test).
The fixtures build the same values for every test of a worker, so each is built once, and
every test gets a deep copy: a test that changes its settings changes nobody else's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, cast

from pydantic_settings import BaseSettings

PER_TEST_VARIABLE = "PYTEST_CURRENT_TEST"  # pytest sets it anew for every test
KEPT = 32  # more would mean a fixture whose values change every test: nothing to reuse


@dataclass(frozen=True)
class Built:
    kind: type[BaseSettings]
    values: dict[str, Any]
    environment: dict[str, str]
    settings: BaseSettings


_built: list[Built] = []


def cached_settings[S: BaseSettings](kind: type[S], **values: Any) -> S:
    """`kind(**values)`, built anew only when the values or the environment variables differ
    from an earlier build's (.env is read by the first: the suite never writes it); a copy
    of its own for the caller."""
    environment = {name: value for name, value in os.environ.items() if name != PER_TEST_VARIABLE}
    for built in _built:
        if built.kind is kind and built.values == values and built.environment == environment:
            return cast(S, built.settings.model_copy(deep=True))
    settings = kind(**values)
    _built.append(Built(kind, values, environment, settings))
    del _built[:-KEPT]
    return settings.model_copy(deep=True)
