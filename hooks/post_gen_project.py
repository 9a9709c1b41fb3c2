"""Remove the files of every feature the answers turned off, as the manifest below says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The answers as cookiecutter rendered them, as JSON: intact whatever they hold.
ANSWERS = r"""{{ cookiecutter | tojson }}"""


@dataclass(frozen=True)
class Feature:
    option: str
    on_when: tuple[str, ...]  # the answers that turn it on
    paths: tuple[str, ...]  # what it owns: globs relative to the project; {package} is the package
    words: tuple[str, ...] = ()  # must not appear in a project without it (whole words)

    def is_on(self, answers: dict[str, str]) -> bool:
        return answers.get(self.option, "") in self.on_when


# The manifest: every optional feature and the paths it owns. The template's tests read it
# too (the bake matrix, the files-absent and the no-trace checks).
FEATURES = {
    "redis": Feature(
        option="use_redis",
        on_when=("y",),
        paths=(
            "src/{package}/integrations/redis",
            "tests/support/services/redis.py",
            "tests/integration/test_cache.py",
        ),
        words=("redis",),
    ),
    "kafka": Feature(
        option="use_kafka",
        on_when=("y",),
        paths=(
            "src/{package}/integrations/kafka",
            "tests/support/services/kafka.py",
            "tests/integration/test_events.py",
            "tests/unit/test_event_recovery.py",
            "tests/integration/test_worker_faults.py",
            "migrations/versions/*_create_user_events.py",
            "migrations/versions/*_create_outbox_events.py",
        ),
        words=("kafka",),
    ),
    "s3": Feature(
        option="object_storage",
        on_when=("localstack", "minio"),
        paths=(
            "src/{package}/integrations/s3",
            "src/{package}/users/avatars.py",
            "tests/support/services/s3.py",
            "tests/integration/test_avatars.py",
        ),
        words=("s3", "localstack", "minio", "aiobotocore", "avatar", "avatars"),
    ),
    "pgvector": Feature(
        option="postgres_image",
        on_when=("pgvector/pgvector",),
        paths=(
            "src/{package}/integrations/pgvector",
            "migrations/versions/*_create_user_embeddings.py",
            "tests/support/embeddings.py",
            "tests/unit/test_embeddings.py",
            "tests/integration/test_similar_users.py",
        ),
        words=("embedding", "embeddings", "user_embeddings"),
    ),
    "postgis": Feature(
        option="postgres_image",
        on_when=("postgis/postgis",),
        paths=(
            "src/{package}/integrations/postgis",
            "migrations/versions/*_create_user_locations.py",
            "tests/support/locations.py",
            "tests/unit/test_locations.py",
            "tests/integration/test_nearby_users.py",
        ),
        words=("geoalchemy2", "geography", "user_locations"),
    ),
    "github": Feature(option="ci", on_when=("github+gitlab", "github"), paths=(".github",)),
    "gitlab": Feature(
        option="ci", on_when=("github+gitlab", "gitlab"), paths=(".gitlab-ci.yml", "renovate.json")
    ),
}


# The test times pytest-split cuts the suite by, when CI runs it in shards (ci_shards > 1).
SHARD_DURATIONS = ".test_durations"


def whole_word(word: str) -> re.Pattern[str]:
    """`word` between non-alphanumerics: `kafka` in KAFKA_URL or kafka.py, not in aiokafka."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", re.IGNORECASE)


def matching_paths(project: Path, pattern: str, package: str) -> list[Path]:
    return sorted(project.glob(pattern.format(package=package)))


def owned_paths(project: Path, feature: Feature, package: str) -> list[Path]:
    return [path for pattern in feature.paths for path in matching_paths(project, pattern, package)]


def remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def keep_the_test_times_of_this_bake(durations: Path, answers: dict[str, str]) -> None:
    """The committed test times cover every feature; a bake keeps those of its own tests
    (their module is there, and they name no feature that is off), or none unsharded."""
    if answers["ci_shards"] == "1":
        durations.unlink()
        return
    off = [whole_word(word) for f in FEATURES.values() if not f.is_on(answers) for word in f.words]
    times = json.loads(durations.read_text())
    kept = {
        test: seconds
        for test, seconds in times.items()
        if (durations.parent / test.split("::")[0]).is_file()
        and not any(word.search(test) for word in off)
    }
    durations.write_text(json.dumps(kept, indent=2) + "\n")


REVISION = re.compile(r'^revision: str = "(?P<id>[^"]+)"$', re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision: str \| None = .*$", re.MULTILINE)
REVISES = re.compile(r"^Revises:.*$", re.MULTILINE)


def chain_migrations(versions: Path) -> None:
    """Link the bake's revisions in the order of their file names (dated, so in the order
    they were written): an option's revisions follow whatever precedes them in this bake,
    those of the options turned off being gone."""
    previous: str | None = None
    for path in sorted(versions.glob("*.py")):
        text = path.read_text()
        found = REVISION.search(text)
        if found is None:
            continue
        down = f'"{previous}"' if previous else "None"
        text = DOWN_REVISION.sub(f"down_revision: str | None = {down}", text, count=1)
        text = REVISES.sub(f"Revises: {previous}" if previous else "Revises:", text, count=1)
        path.write_text(text)
        previous = found["id"]


def create_lock(project: Path) -> None:
    """The Dockerfile and CI install from uv.lock: create it now, so the bake runs at once."""
    how = "run `uv lock` in the project before `docker compose up --build`"
    uv = shutil.which("uv")
    if uv is None:
        print(f"note: uv.lock not created (uv is not installed): {how}", file=sys.stderr)
        return
    locked = subprocess.run(
        [uv, "lock", "--quiet"], cwd=project, capture_output=True, text=True, check=False
    )
    if locked.returncode != 0:
        reason = (locked.stderr.strip().splitlines() or ["uv lock failed"])[-1]
        print(f"note: uv.lock not created ({reason}): {how}", file=sys.stderr)


def main() -> None:
    answers = json.loads(ANSWERS)
    project = Path.cwd()
    for feature in FEATURES.values():
        if not feature.is_on(answers):
            remove(owned_paths(project, feature, answers["package_name"]))
    chain_migrations(project / "migrations" / "versions")
    keep_the_test_times_of_this_bake(project / SHARD_DURATIONS, answers)
    create_lock(project)
    print(next_steps(project))


def next_steps(project: Path) -> str:
    """Where the project is, and its README's two commands."""
    return (
        f"created {project}\n"
        f"next:  cd {project.name}\n"
        "       docker compose up --build    # the stack: the app on http://localhost:8000\n"
        "       uv run pytest -n auto        # the tests, against real services (needs Docker)"
    )


if __name__ == "__main__":
    main()
