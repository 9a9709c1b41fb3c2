"""Locations for tests: points at a known distance, and a factory saving a user's location."""

from __future__ import annotations

import math

from factory.declarations import LazyFunction

from {{ cookiecutter.package_name }}.integrations.postgis.locations import LocationIn, UserLocation

from tests.support.factories import AsyncSessionFactory

EARTH_RADIUS_METERS = 6_371_008.8  # the mean radius: distances within a fraction of a percent


def north_of(place: LocationIn, meters: float) -> LocationIn:
    """The point `meters` due north of `place` (along its meridian)."""
    return LocationIn(
        latitude=place.latitude + math.degrees(meters / EARTH_RADIUS_METERS),
        longitude=place.longitude,
    )


PARIS = LocationIn(latitude=48.8566, longitude=2.3522)


class UserLocationFactory(AsyncSessionFactory[UserLocation]):
    """`await create(UserLocationFactory, session, user_id=user.id, position=...as_point())`."""

    class Meta:
        model = UserLocation

    position = LazyFunction(PARIS.as_point)
