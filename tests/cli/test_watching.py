"""`kcanary get -w`: follows the rollout through the API's watch. Into a pipe, every change is
appended as a plain line; on a terminal, the view is redrawn in place."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_controller_double import ControllerDouble
from cli_harness import ISVC_API
from kubernetes import client as k8s_client
from polling import wait_until

from sim.apiserver.server import APIServer


@pytest.fixture
def in_rollout(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> dict[str, Any]:
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    return controller.reconcile("iris")


def pause(custom: k8s_client.CustomObjectsApi, namespace: str) -> None:
    """What `kubectl annotate isvc iris kcanary.io/action=pause` does."""
    patch = {"metadata": {"annotations": {"kcanary.io/action": "pause"}}}
    custom.patch_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], "iris", patch)


def kcanary_argv(namespace: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "kcanary", *args, "-n", namespace]


@contextlib.contextmanager
def interrupted_at_exit(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """Ctrl-C the process when the test is done, as a person would; it must exit cleanly."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Lines:
    """The lines a process writes to a pipe, read on a thread so a test can wait for one."""

    def __init__(self, stream: Any, process: subprocess.Popen[Any]) -> None:
        self.seen: list[str] = []
        self._process = process
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def every_line(self) -> list[str]:
        """Every line the process wrote, once it has ended."""
        self._thread.join(timeout=10)
        while not self._queue.empty():
            self.seen.append(self._queue.get_nowait())
        return self.seen

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 20.0) -> str:
        """The first line so far that meets `condition`, waiting for it if there is none."""
        # Not `polling.wait_until`: this blocks on the reader's queue, so it wakes as soon as a
        # line arrives, consumes what it reads, and fails with the process's exit code and stderr.
        for line in self.seen:
            if condition(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                exited = self._process.poll()
                stderr = (
                    self._process.stderr.read()
                    if exited is not None and self._process.stderr
                    else ""
                )
                pytest.fail(
                    f"no such line within {timeout}s (exit {exited}); seen: {self.seen} {stderr}"
                )
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if condition(line):
                return line


def test_watch_into_a_pipe_appends_a_line_per_change_and_event(
    in_rollout: dict[str, Any],
    process_env: dict[str, str],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    process = subprocess.Popen(
        kcanary_argv(namespace, "get", "iris", "-w"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=process_env,
    )
    with interrupted_at_exit(process):
        lines = Lines(process.stdout, process)
        # The first line waits for the interpreter to start, which is slow on a busy machine.
        header = lines.wait_for(lambda line: line.startswith("NAME"), timeout=90)
        assert header.split()[:4] == ["NAME", "PHASE", "WEIGHT", "STEP"]
        first = lines.wait_for(lambda line: line.startswith("iris "))
        assert first.split()[1:3] == ["Progressing", "10%"]
        lines.wait_for(lambda line: line.startswith("event: Normal RolloutStarted "))

        pause(custom, namespace)

        paused = lines.wait_for(lambda line: line.startswith("iris ") and "Paused" in line)
        assert paused.split()[1:3] == ["Paused", "10%"]
        taken = lines.wait_for(lambda line: line.startswith("event: Normal ActionTaken "))
        assert "paused by someone@example.com" in taken
    assert process.returncode == 130
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()
    assert "\x1b[" not in "\n".join(lines.seen)


def test_watch_on_a_terminal_redraws_the_view_in_place(
    in_rollout: dict[str, Any],
    process_env: dict[str, str],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**process_env, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        kcanary_argv(namespace, "get", "iris", "-w"),
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    screen = bytearray()

    def read_available() -> None:
        while select.select([leader], [], [], 0.05)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is gone
                return
            if not chunk:
                return
            screen.extend(chunk)

    def shown(text: str) -> bool:
        read_available()
        return text.encode() in screen

    try:
        with interrupted_at_exit(process):
            wait_until(lambda: shown("Progressing"), 90)
            assert shown("s3://models/iris/v2")
            assert shown("RolloutStarted")
            drawn_before = len(screen)

            pause(custom, namespace)

            wait_until(lambda: shown("Paused"), 20)
            wait_until(lambda: shown("ActionTaken"), 20)
            redraw = bytes(screen[drawn_before:])
            # rich's Live moves the cursor back up over the old view and erases it.
            assert b"\x1b[1A" in redraw or b"\x1b[2K" in redraw, redraw[:400]
            assert b"Name" in redraw and b"Phase" in redraw
        assert process.returncode == 130
        assert process.stderr is not None
        assert b"Traceback" not in process.stderr.read()
    finally:
        os.close(leader)


@pytest.fixture
def quiet_controller(
    kube_api_client: k8s_client.ApiClient,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
    namespace: str,
) -> ControllerDouble:
    """A controller double that only reconciles when asked, so it sends no request of its own
    while the API server is failing them; `iris` is in its first step."""
    double = ControllerDouble(kube_api_client, namespace)
    make_isvc("iris", "s3://models/iris/v1")
    double.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    double.reconcile("iris")
    return double


def test_watch_into_a_pipe_survives_the_api_server_failing_its_watches(
    quiet_controller: ControllerDouble,
    api_server: APIServer,
    process_env: dict[str, str],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    process = subprocess.Popen(
        kcanary_argv(namespace, "get", "iris", "-w"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=process_env,
    )
    try:
        with interrupted_at_exit(process):
            lines = Lines(process.stdout, process)
            told = Lines(process.stderr, process)
            lines.wait_for(lambda line: line.startswith("iris ") and "Progressing" in line, 90)
            lines.wait_for(lambda line: line.startswith("event: Normal RolloutStarted "))

            # Every request fails with a 500, and the open watches end: the new ones fail.
            api_server.faults.error_rate = 1.0
            api_server.faults.error_code = 500
            api_server.close_watches()
            # A watch request already past the fault check when the watches were closed may
            # stay open: only the watches that were lost have to come back.
            lost = told.wait_for(lambda line: line.endswith("; reconnecting"))
            assert "the API server answered 500" in lost
            assert process.poll() is None, "the watch ended at the first failure"
            api_server.faults.reset()
            which = lost.split(" lost ")[0]
            told.wait_for(lambda line: line == f"{which} is back")

            pause(custom, namespace)
            quiet_controller.reconcile("iris")

            paused = lines.wait_for(lambda line: line.startswith("iris ") and "Paused" in line)
            assert paused.split()[1:3] == ["Paused", "10%"]
            lines.wait_for(lambda line: line.startswith("event: Normal ActionTaken "))
    finally:
        api_server.faults.reset()
    assert process.returncode == 130
    notices = told.every_line()
    lost_ones = [line.split(" lost ")[0] for line in notices if line.endswith("; reconnecting")]
    back_ones = [line.removesuffix(" is back") for line in notices if line.endswith(" is back")]
    assert len(set(lost_ones)) == len(lost_ones), "each watch tells its loss once"
    assert sorted(back_ones) == sorted(lost_ones)
    assert not any("Traceback" in line or line.startswith("error:") for line in notices)
    started = [line for line in lines.every_line() if " RolloutStarted " in line]
    assert len(started) == 1, "the resumed watch repeats nothing"
