"""The tests of a worker share one started app per distinct settings (tests/support/app.py):
building an app and running its lifespan costs more than most API tests. A test that changes
the shared app fails, and the app is not lent again."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.config import Settings, get_settings

from tests.support.app import SharedApps


async def test_tests_with_equal_settings_share_one_started_app(
    shared_apps: SharedApps, settings: Settings, db_session: AsyncSession
) -> None:
    async with shared_apps.lend(settings, db_session) as first:
        pass
    async with shared_apps.lend(settings.model_copy(deep=True), db_session) as again:
        pass

    assert again is first


async def test_other_settings_get_an_app_of_their_own(
    shared_apps: SharedApps, settings: Settings, db_session: AsyncSession
) -> None:
    other = settings.model_copy(update={"api_title": "Another title"})

    async with shared_apps.lend(settings, db_session) as first:
        pass
    async with shared_apps.lend(other, db_session) as second:
        pass

    assert second is not first
    assert first.title != "Another title"
    assert second.title == "Another title"


async def answer_nothing() -> None:
    return None


def add_a_route(app: FastAPI) -> None:
    app.add_api_route("/added", answer_nothing)


def override_a_dependency(app: FastAPI) -> None:
    app.dependency_overrides[get_settings] = answer_nothing


def replace_what_the_state_holds(app: FastAPI) -> None:
    app.state.settings = app.state.settings.model_copy()


@pytest.mark.parametrize(
    "change", [add_a_route, override_a_dependency, replace_what_the_state_holds]
)
async def test_a_test_that_changes_the_shared_app_fails_and_the_app_is_not_lent_again(
    shared_apps: SharedApps,
    settings: Settings,
    db_session: AsyncSession,
    change: Callable[[FastAPI], None],
) -> None:
    with pytest.raises(pytest.fail.Exception, match="own_app"):
        async with shared_apps.lend(settings, db_session) as changed:
            change(changed)

    async with shared_apps.lend(settings, db_session) as next_lent:
        assert next_lent is not changed
        assert "/added" not in {getattr(route, "path", None) for route in next_lent.routes}
        assert get_settings not in next_lent.dependency_overrides


async def test_a_client_to_an_app_not_shared_runs_its_lifespan_for_the_client(
    shared_apps: SharedApps, own_app: FastAPI
) -> None:
    async with shared_apps.client(own_app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert hasattr(own_app.state, "session_factory")

    assert own_app not in [started.app for started in shared_apps.started]
