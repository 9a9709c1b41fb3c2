"""The pool's look at an idle connection's socket (db.has_input), at any descriptor number."""

import os
import resource
import socket
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.db import has_input

PAST_SELECTS_LIMIT = 1500  # select() refuses descriptors numbered 1024 and up


@pytest.fixture
def high_numbered_socket() -> Iterator[tuple[int, socket.socket]]:
    """A socket at descriptor 1500, as in a server holding many connections, and its peer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= PAST_SELECTS_LIMIT:
        pytest.skip(f"this process may open {hard} descriptors at most")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, PAST_SELECTS_LIMIT + 1), hard))
    ours, peer = socket.socketpair()
    os.dup2(ours.fileno(), PAST_SELECTS_LIMIT)
    try:
        yield PAST_SELECTS_LIMIT, peer
    finally:
        os.close(PAST_SELECTS_LIMIT)
        ours.close()
        peer.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_close_is_seen_on_a_socket_numbered_past_1023(
    high_numbered_socket: tuple[int, socket.socket],
) -> None:
    descriptor, peer = high_numbered_socket
    assert not has_input(descriptor)

    peer.close()  # as the server closes an idle connection

    assert has_input(descriptor)
