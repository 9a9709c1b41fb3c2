"""The suite's machinery; tests use it through the fixtures of tests/conftest.py.

    plugin.py                 the pytest plugin: which services the selected tests use, start
                              them once per run, hand their endpoints to xdist workers; the
                              fixtures every service module shares (worker, every_service)
    services/__init__.py      TestService (container, endpoint, a test's share, dev mode) and
                              the registry of the service modules present
    services/<name>.py        one per compose service the suite runs: its container class,
                              endpoint, share, fixtures (PostgreSQL's: template and clones)
    containers.py             start the containers in parallel, Ryuk, one-line failures,
                              a container for one fault test
    endpoints.py              the endpoints, written by the process that started the services,
                              read back by workers into each service's endpoint class
    container_engine.py       the Docker/Podman client, and how mapped ports are reached
    testcontainers_internals.py  every use of Testcontainers' private API, each tested
    reuse.py                  --reuse-containers: labels, config hashes, adoption
    images.py                 the images, read from compose.yaml; the CI pre-pull
    testcase.py               IntegrationTestCase, for unittest
    dev.py, revision.py       `python -m tests.support.dev`, `... .revision "message"`
    app.py, served.py, app_image.py  the app in-process (one started app a worker's tests
                              share), in a process of its own, in its image
    factories.py, proxy.py    factory_boy helpers; a TCP proxy fault tests cut
    settings.py               the fixtures' settings, built once per worker for the same values

From a test to a running container: pytest collects the selected tests; plugin.py reads
each one's fixture closure (`db_session` -> `worker_database_url` -> `postgres`) and, in the
xdist controller, containers.py starts the services used, each built by its module's
`container()`; each module's `endpoint()` describes its container (PostgreSQL migrates the
template there), endpoints.py hands those to the workers, and the fixture named after the
service returns its endpoint to the test's fixtures.
"""
