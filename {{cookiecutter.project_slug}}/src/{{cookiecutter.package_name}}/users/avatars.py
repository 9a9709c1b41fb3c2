"""A user's avatar: one image in the object store, keyed by the user's id.

GET streams the image through the service rather than redirecting to a presigned URL: the
store stays private (its address inside compose or a VPC is not one a client can reach) and
every read goes through the service's own checks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse

from {{ cookiecutter.package_name }}.integrations.s3 import ObjectStoreDep
from {{ cookiecutter.package_name }}.problems import ProblemError, problem_responses
from {{ cookiecutter.package_name }}.users.router import ValidUserDep

AVATAR_TYPES = ("image/png", "image/jpeg", "image/webp")
BINARY = {"schema": {"type": "string", "format": "binary"}}

router = APIRouter(prefix="/users/{user_id}/avatar", tags=["users"])


class AvatarNotFound(ProblemError):
    status = status.HTTP_404_NOT_FOUND
    kind = "avatar-not-found"
    title = "No avatar"


class AvatarTooLarge(ProblemError):
    status = status.HTTP_413_CONTENT_TOO_LARGE
    kind = "avatar-too-large"
    title = "Avatar too large"


class UnsupportedAvatarType(ProblemError):
    status = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    kind = "unsupported-avatar-type"
    title = "Unsupported avatar type"


def avatar_key(user_id: int) -> str:
    return f"users/{user_id}/avatar"


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = AvatarTooLarge(f"the avatar is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


@router.put(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": dict.fromkeys(AVATAR_TYPES, BINARY),
        }
    },
)
async def put_avatar(user: ValidUserDep, request: Request, store: ObjectStoreDep) -> Response:
    kind = media_type(request)
    if kind not in AVATAR_TYPES:
        raise UnsupportedAvatarType(f"an avatar is one of {', '.join(AVATAR_TYPES)}")
    image = await read_limited(request, store.settings.avatar_max_bytes)
    await store.put(avatar_key(user.id), image, content_type=kind)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    response_class=StreamingResponse,
    responses={
        200: {"content": dict.fromkeys(AVATAR_TYPES, BINARY)},
        **problem_responses(404, 422, 503),
    },
)
async def get_avatar(user: ValidUserDep, store: ObjectStoreDep) -> StreamingResponse:
    stored = await store.get(avatar_key(user.id))
    if stored is None:
        raise AvatarNotFound(f"user {user.id} has no avatar")
    return StreamingResponse(
        stored.chunks,
        media_type=stored.content_type,
        headers={"content-length": str(stored.size)},
    )


@router.delete(
    "", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404, 422, 503)
)
async def delete_avatar(user: ValidUserDep, store: ObjectStoreDep) -> Response:
    await store.delete(avatar_key(user.id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
