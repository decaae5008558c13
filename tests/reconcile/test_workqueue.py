"""The work queue coalesces adds, serialises each key, and delays and backs off on request."""

from __future__ import annotations

import threading

import pytest

from reconcile.workqueue import Backoff, ShutDown, WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_adding_a_queued_key_again_queues_it_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert queue.get(0) == "a"
    assert queue.get(0) == "b"
    assert queue.get(0) is None


def test_a_key_added_while_processing_is_requeued_after_done_not_handed_out_twice() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get(0) == "a"
    queue.add("a")
    assert queue.get(0) is None, "a key being processed must not reach a second worker"
    queue.done("a")
    assert queue.get(0) == "a"
    queue.done("a")
    assert queue.get(0) is None


def test_add_after_releases_the_key_when_its_time_comes() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("tick", 30)
    assert queue.get(0) is None
    clock.now += 29.9
    assert queue.get(0) is None
    clock.now += 0.2
    assert queue.get(0) == "tick"


def test_rate_limited_adds_back_off_exponentially_until_forgotten() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(Backoff(base_s=1, cap_s=5), clock=clock)
    delays = [queue.add_rate_limited("a") for _ in range(5)]
    assert delays == [1, 2, 4, 5, 5]
    queue.forget("a")
    assert queue.failures("a") == 0
    assert queue.add_rate_limited("a") == 1


def test_shut_down_wakes_a_waiting_worker() -> None:
    queue: WorkQueue[str] = WorkQueue()
    raised = threading.Event()

    def worker() -> None:
        with pytest.raises(ShutDown):
            queue.get()
        raised.set()

    thread = threading.Thread(target=worker)
    thread.start()
    queue.shut_down()
    thread.join(timeout=5)
    assert raised.is_set()


def test_many_workers_never_process_the_same_key_at_once() -> None:
    queue: WorkQueue[int] = WorkQueue()
    active: set[int] = set()
    overlaps: list[int] = []
    processed = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal processed
        while True:
            try:
                key = queue.get(timeout_s=0.5)
            except ShutDown:
                return
            if key is None:
                return
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
                processed += 1
            with lock:
                active.discard(key)
            queue.done(key)

    for i in range(2000):
        queue.add(i % 7)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2000):
        queue.add(i % 7)
    for t in threads:
        t.join(timeout=10)
    assert overlaps == []
    assert processed >= 7
