"""Remove the files of every feature the answers turned off."""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGE_NAME = "{{ cookiecutter.package_name }}"
USE_REDIS = "{{ cookiecutter.use_redis }}" == "y"
USE_KAFKA = "{{ cookiecutter.use_kafka }}" == "y"
CI = "{{ cookiecutter.ci }}"
USE_GITHUB = CI in ("github+gitlab", "github")
USE_GITLAB = CI in ("github+gitlab", "gitlab")


def remove(project: Path, *relative_paths: str) -> None:
    for relative_path in relative_paths:
        path = project / relative_path
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_redis_files(project: Path) -> None:
    remove(project, f"src/{PACKAGE_NAME}/cache.py", "tests/integration/test_cache.py")


def remove_kafka_files(project: Path) -> None:
    remove(
        project,
        f"src/{PACKAGE_NAME}/events.py",
        f"src/{PACKAGE_NAME}/worker.py",
        f"src/{PACKAGE_NAME}/users/events.py",
        "tests/integration/test_events.py",
        "tests/support/kafka.py",
    )
    for migration in (project / "migrations/versions").glob("*create_user_events.py"):
        migration.unlink()


def remove_github_files(project: Path) -> None:
    remove(project, ".github")


def remove_gitlab_files(project: Path) -> None:
    remove(project, ".gitlab-ci.yml", "renovate.json")


def main() -> None:
    project = Path.cwd()
    if not USE_REDIS:
        remove_redis_files(project)
    if not USE_KAFKA:
        remove_kafka_files(project)
    if not USE_GITHUB:
        remove_github_files(project)
    if not USE_GITLAB:
        remove_gitlab_files(project)


if __name__ == "__main__":
    main()
