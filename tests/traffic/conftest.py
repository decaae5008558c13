"""Fixtures for router tests."""

from __future__ import annotations

import pytest

from traffic.memory_store import InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()
