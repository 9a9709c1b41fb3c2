"""The image the Dockerfile builds, run as a container beside the run's services.

Marked `image`: runs with `pytest --image` (CI does), skipped otherwise.
"""

from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient

from tests.support.endpoints import ServiceEndpoints
from tests.support.image import AppContainer, app_in_container, build_app_image
from tests.support.services import module_names
from tests.support.services.postgres import PostgresEndpoint, cloned_database, on_network

pytestmark = pytest.mark.image


@pytest.fixture(scope="module")
def app_container(services: ServiceEndpoints, postgres: PostgresEndpoint) -> Iterator[AppContainer]:
    """The image, serving from a database of its own: one container per xdist worker that
    runs tests of this module (the engine's build cache makes the second build quick)."""
    image = build_app_image()
    with cloned_database(postgres) as database_url:
        environment = {"ENVIRONMENT": "test", "DATABASE_URL": on_network(database_url)}
        with app_in_container(image, services, environment) as app:
            yield app


@pytest.fixture
async def client(app_container: AppContainer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(base_url=app_container.url, timeout=10) as client:
        yield client


async def test_the_image_is_ready(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("service", module_names())
async def test_the_image_reaches_each_service_it_is_configured_for(
    client: AsyncClient, app_container: AppContainer, service: str
) -> None:
    if service not in app_container.configured_for:
        pytest.skip(f"the app is not configured for {service} by tests/support/services/")

    response = await client.get("/health/ready")

    assert response.json()["checks"][service] == "ok", response.text


async def test_the_image_serves_the_api(client: AsyncClient) -> None:
    created = await client.post("/users", json={"email": "ada@example.com", "full_name": "Ada"})
    assert created.status_code == 201, created.text

    fetched = await client.get(f"/users/{created.json()['id']}")

    assert fetched.json()["email"] == "ada@example.com"
