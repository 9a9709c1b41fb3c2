from typing import ClassVar, Self

import pytest
from pydantic import BaseModel, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.support.settings import cached_settings


class Pool(BaseModel):
    size: int = 10


class Counted(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUNTED_")
    builds: ClassVar[int] = 0

    name: str
    level: int = 1
    pool: Pool = Pool()

    @model_validator(mode="after")
    def count_the_build(self) -> Self:
        type(self).builds += 1
        return self


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """Values no other test builds: the cache lives as long as the process."""
    name: str = request.node.name
    return name


def test_the_same_values_are_built_once_and_each_caller_gets_a_copy_of_its_own(
    name: str,
) -> None:
    builds = Counted.builds

    for _ in range(2):  # the build's caller, then a later one
        changed = cached_settings(Counted, name=name)
        changed.level = 2
        changed.pool.size = 1
    later = cached_settings(Counted, name=name)

    assert Counted.builds == builds + 1
    assert (later.level, later.pool.size) == (1, 10)


def test_other_values_are_built_anew(name: str) -> None:
    cached_settings(Counted, name=name)
    builds = Counted.builds

    other = cached_settings(Counted, name=name + "-other")

    assert Counted.builds == builds + 1
    assert other.name == name + "-other"


def test_a_changed_environment_is_read_as_a_build_would(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cached_settings(Counted, name=name).level == 1

    monkeypatch.setenv("COUNTED_LEVEL", "5")

    assert cached_settings(Counted, name=name).level == 5


def test_the_variable_pytest_sets_for_each_test_is_no_change(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_settings(Counted, name=name)
    builds = Counted.builds

    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/unit/test_other.py::test_next (setup)")
    cached_settings(Counted, name=name)

    assert Counted.builds == builds
