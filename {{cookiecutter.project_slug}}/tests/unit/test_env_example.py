"""Every setting the app and its integrations read is in .env.example, where people look."""

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.config import (
    DatabaseSettings,
    IntegrationSettings,
    Settings,
)
from {{ cookiecutter.package_name }}.integrations import installed_integrations

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def variables(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings.model_fields.items():
        if field.exclude or isinstance(field.default_factory, type):  # nested settings
            continue
        alias = field.validation_alias  # a setting read under another name: its last choice
        names.add(str(alias.choices[-1]) if isinstance(alias, AliasChoices) else prefix + name)
    return {name.upper() for name in names}


def test_every_setting_is_in_the_env_example() -> None:
    installed_integrations()  # importing them defines their settings classes
    classes: list[type[BaseSettings]] = [
        Settings,
        DatabaseSettings,
        *IntegrationSettings.__subclasses__(),
    ]
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))

    missing = {name for cls in classes for name in variables(cls)} - listed
    assert missing == set()
