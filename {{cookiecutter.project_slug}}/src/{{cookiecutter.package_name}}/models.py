"""Every ORM model, imported in one place so Alembic sees the whole schema."""

from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.integrations import installed_integrations
from {{ cookiecutter.package_name }}.users.models import User

# Integrations that own tables define them when they are imported.
INTEGRATIONS = installed_integrations()

__all__ = ["INTEGRATIONS", "Base", "User"]
