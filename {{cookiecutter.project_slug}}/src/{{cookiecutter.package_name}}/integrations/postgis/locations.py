"""Users' locations (a `geography` point, in metres on the WGS 84 spheroid) and the users
within a distance of one, which a GiST index serves: PUT /users/{user_id}/location,
GET /users/{user_id}/nearby."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from geoalchemy2 import Geography, WKBElement, WKTElement
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Index, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db import Base, SessionDep
from {{ cookiecutter.package_name }}.problems import ProblemError, problem_responses
from {{ cookiecutter.package_name }}.users.models import User
from {{ cookiecutter.package_name }}.users.router import ValidUserDep
from {{ cookiecutter.package_name }}.users.schemas import UserPublic

WGS84 = 4326  # the SRID of latitude and longitude as GPS gives them
HALF_THE_EQUATOR_METRES = 20_037_508  # no two points on Earth are further apart


class UserLocation(Base):
    __tablename__ = "user_locations"
    __table_args__ = (Index("ix_user_locations_position", "position", postgresql_using="gist"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The index is declared above, so that the migration and the models agree on it.
    position: Mapped[WKBElement] = mapped_column(
        Geography("POINT", srid=WGS84, spatial_index=False)
    )


class LocationIn(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)

    def as_point(self) -> WKTElement:
        return WKTElement(f"POINT({self.longitude} {self.latitude})", srid=WGS84)


class NearbyUser(BaseModel):
    user: UserPublic
    distance_meters: float


class LocationNotFound(ProblemError):
    status = status.HTTP_404_NOT_FOUND
    kind = "location-not-found"
    title = "No location"


async def set_location(*, session: AsyncSession, user_id: int, location: LocationIn) -> None:
    statement = insert(UserLocation).values(user_id=user_id, position=location.as_point())
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[UserLocation.user_id], set_={"position": statement.excluded.position}
        )
    )


async def users_within(
    *, session: AsyncSession, user_id: int, meters: float, limit: int
) -> list[tuple[User, float]] | None:
    """The other users at most `meters` from `user_id`'s location, nearest first; None if it
    has none."""
    here = await session.scalar(
        select(UserLocation.position).where(UserLocation.user_id == user_id)
    )
    if here is None:
        return None
    distance = func.ST_Distance(UserLocation.position, here)
    rows = await session.execute(
        select(User, distance)
        .join(UserLocation, UserLocation.user_id == User.id)
        .where(User.id != user_id, func.ST_DWithin(UserLocation.position, here, meters))
        .order_by(distance)
        .limit(limit)
    )
    return [(user, float(found)) for user, found in rows]


router = APIRouter(prefix="/users/{user_id}", tags=["users"])


@router.put(
    "/location",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 404, 413, 422, 503),
)
async def put_location(data: LocationIn, user: ValidUserDep, session: SessionDep) -> Response:
    await set_location(session=session, user_id=user.id, location=data)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/nearby", response_model=list[NearbyUser], responses=problem_responses(404, 422, 503))
async def nearby_users(
    user: ValidUserDep,
    session: SessionDep,
    within_meters: Annotated[float, Query(gt=0, le=HALF_THE_EQUATOR_METRES)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[NearbyUser]:
    found = await users_within(session=session, user_id=user.id, meters=within_meters, limit=limit)
    if found is None:
        raise LocationNotFound(f"user {user.id} has no location")
    return [
        NearbyUser(user=UserPublic.model_validate(other), distance_meters=distance)
        for other, distance in found
    ]
