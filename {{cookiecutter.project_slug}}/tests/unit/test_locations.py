import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.integrations.postgis.locations import LocationIn

from tests.support.locations import PARIS, north_of


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(91, 0), (-91, 0), (0, 181), (0, -181), (float("nan"), 0)]
)
def test_a_location_is_a_point_on_earth(latitude: float, longitude: float) -> None:
    with pytest.raises(ValidationError):
        LocationIn(latitude=latitude, longitude=longitude)


def test_a_location_is_written_longitude_first_in_wgs_84() -> None:
    point = LocationIn(latitude=48.5, longitude=2.25).as_point()

    assert (point.data, point.srid) == ("POINT(2.25 48.5)", 4326)


def test_a_kilometre_north_is_a_hundredth_of_a_degree_or_so() -> None:
    assert north_of(PARIS, 1000).latitude - PARIS.latitude == pytest.approx(0.008993, rel=1e-3)
