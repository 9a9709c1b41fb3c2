"""Every ORM model, imported in one place so Alembic sees the whole schema."""

from {{ cookiecutter.package_name }}.db import Base
{%- if cookiecutter.use_kafka == "y" %}
from {{ cookiecutter.package_name }}.users.events import UserEvent
{%- endif %}
from {{ cookiecutter.package_name }}.users.models import User

__all__ = ["Base", "User"{% if cookiecutter.use_kafka == "y" %}, "UserEvent"{% endif %}]
