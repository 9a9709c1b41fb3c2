import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Settings
from {{ cookiecutter.package_name }}.main import create_app

from tests.support.app import app_client
from tests.support.endpoints import ServiceEndpoints

pytestmark = pytest.mark.integration


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_checks_every_service_the_suite_runs(
    client: AsyncClient, services: ServiceEndpoints
) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == set(services.services)
    assert set(body["checks"].values()) == {"ok"}


async def test_ready_is_503_naming_the_unreachable_database_and_nothing_more(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = DatabaseSettings(url="postgresql://app:Xk39-unused@127.0.0.1:1/app")
    app = create_app(settings.model_copy(update={"database": unreachable}))

    async with app_client(app) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["type"], body["detail"]) == ("/problems/not-ready", "unavailable: postgres")
    assert body["checks"].pop("postgres") == "unavailable"
    assert set(body["checks"].values()) <= {"ok"}
    for internal in ("127.0.0.1", "Xk39", "OperationalError"):
        assert internal not in response.text
    # The reason goes to the log, for operators.
    assert any(
        "postgres" in record.getMessage() and "OperationalError" in record.getMessage()
        for record in caplog.records
    )
