"""Watch streams as a real server sends them: synthetic ADDED, resumption, bookmarks,
watch-list, 410 Expired as an ERROR event, Table events and selector transitions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from sim.apiserver.server import APIServer

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


class EventReader:
    """Reads watch events one at a time; the read timeout of the request is the deadline."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> dict[str, Any] | None:
        """The next event, or None once the server has ended the stream."""
        for line in self._lines:
            if line:
                event: dict[str, Any] = json.loads(line)
                return event
        return None

    def close(self) -> None:
        self.response.close()


@contextmanager
def watching(
    http: requests.Session, url: str, *, accept: str = "application/json", **params: str
) -> Iterator[EventReader]:
    response = http.get(url, params={"watch": "true", **params}, stream=True,
                        headers={"Accept": accept}, timeout=(10, 10))  # fmt: skip
    assert response.status_code == 200, response.text
    reader = EventReader(response)
    try:
        yield reader
    finally:
        reader.close()


def _configmaps(api_server: APIServer, namespace: str) -> str:
    return f"{api_server.url}/api/v1/namespaces/{namespace}/configmaps"


def _create(http: requests.Session, url: str, name: str, **labels: str) -> dict[str, Any]:
    response = http.post(url, json={"metadata": {"name": name, "labels": labels}})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_watch_from_zero_starts_with_synthetic_added_events(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    _create(http, url, "one")
    _create(http, url, "two")
    with watching(http, url, resourceVersion="0") as reader:
        first, second = reader.next(), reader.next()
        assert first is not None and second is not None
        assert {(e["type"], e["object"]["metadata"]["name"]) for e in (first, second)} == {
            ("ADDED", "one"),
            ("ADDED", "two"),
        }
        http.delete(f"{url}/one")
        deleted = reader.next()
        assert deleted is not None
        assert (deleted["type"], deleted["object"]["metadata"]["name"]) == ("DELETED", "one")


def test_a_watch_from_a_resource_version_sends_only_later_changes(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    _create(http, url, "old")
    version = http.get(url).json()["metadata"]["resourceVersion"]
    _create(http, url, "new")
    with watching(http, url, resourceVersion=version) as reader:
        event = reader.next()
        assert event is not None
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "new")


def test_watch_list_ends_its_initial_events_with_a_bookmark(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    _create(http, url, "present")
    with watching(
        http, url, sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    ) as reader:  # fmt: skip
        added = reader.next()
        assert added is not None and added["type"] == "ADDED"
        bookmark = reader.next()
        assert bookmark is not None and bookmark["type"] == "BOOKMARK"
        metadata = bookmark["object"]["metadata"]
        assert metadata["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert int(metadata["resourceVersion"]) >= int(
            added["object"]["metadata"]["resourceVersion"]
        )
    refused = http.get(url, params={"watch": "true", "sendInitialEvents": "true"})
    assert refused.status_code == 422
    assert refused.json()["reason"] == "Invalid"


def test_a_compacted_resource_version_gets_a_410_error_event(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    version = http.get(url).json()["metadata"]["resourceVersion"]
    _create(http, url, "after")
    compacted_at = api_server.compact_history()
    with watching(http, url, resourceVersion=version) as reader:
        error = reader.next()
        assert error is not None and error["type"] == "ERROR"
        assert error["object"] == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"too old resource version: {version} ({compacted_at + 1})",
            "reason": "Expired",
            "code": 410,
        }
        assert reader.next() is None  # and the stream ends


def test_table_watch_events_carry_one_row_with_the_columns(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    with watching(http, url, accept=TABLE, resourceVersion="0") as reader:
        http.post(url, json={"metadata": {"name": "tabled"}, "data": {"a": "1", "b": "2"}})
        event = reader.next()
        assert event is not None and event["type"] == "ADDED"
        table = event["object"]
        assert table["kind"] == "Table"
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
        assert len(table["rows"]) == 1
        assert table["rows"][0]["cells"][:2] == ["tabled", 2]


def test_objects_leaving_a_label_selector_are_sent_as_deleted(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    _create(http, url, "moving", tier="gold")
    with watching(http, url, resourceVersion="0", labelSelector="tier=gold") as reader:
        added = reader.next()
        assert added is not None and added["type"] == "ADDED"
        http.patch(
            f"{url}/moving",
            data='{"metadata":{"labels":{"tier":"silver"}}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        left = reader.next()
        assert left is not None and left["type"] == "DELETED"
        http.patch(
            f"{url}/moving",
            data='{"metadata":{"labels":{"tier":"gold"}}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        back = reader.next()
        assert back is not None and back["type"] == "ADDED"


def test_bookmarks_come_only_when_asked_for(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    version = http.get(url).json()["metadata"]["resourceVersion"]
    with watching(
        http, url, resourceVersion=version, allowWatchBookmarks="true", timeoutSeconds="1",
        sendInitialEvents="false", resourceVersionMatch="NotOlderThan",
    ) as reader:  # fmt: skip
        assert reader.next() is None  # the stream ends at its timeout without any event


def test_list_pages_with_limit_and_continue(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = _configmaps(api_server, namespace)
    for index in range(5):
        _create(http, url, f"item-{index}")
    first = http.get(url, params={"limit": "2"}).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["item-0", "item-1"]
    assert first["metadata"]["remainingItemCount"] == 3
    names: list[str] = []
    token = first["metadata"]["continue"]
    while token:
        page = http.get(url, params={"limit": "2", "continue": token}).json()
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
    assert names == ["item-2", "item-3", "item-4"]
