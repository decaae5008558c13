"""Raw HTTP access to the session API server, for what clients hide (headers, exact bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sim.apiserver.server import APIServer


@pytest.fixture
def http(api_server: APIServer) -> Iterator[requests.Session]:
    """A session that trusts the server's CA and sends its bearer token."""
    session = requests.Session()
    session.trust_env = False  # a CA bundle from the environment would replace ours
    session.verify = str(api_server.ca_path)
    session.headers["Authorization"] = f"Bearer {api_server.token}"
    try:
        yield session
    finally:
        session.close()
