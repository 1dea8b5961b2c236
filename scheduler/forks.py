"""Crawl children made by ``fork()`` instead of a fresh interpreter: from ``run --once``
itself (:class:`ForkedCrawl`), or from the daemon's zygote (:class:`Zygote`)."""

from __future__ import annotations

import importlib
import io
import json
import os
import queue
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from contextlib import suppress
from typing import IO, Any, NoReturn

from scheduler import collector

# --------------------------------------------------------------------------------------
# A crawl child forked instead of started afresh
# --------------------------------------------------------------------------------------


def preload_crawl() -> None:
    """Import what ``defwatch crawl`` needs (Scrapy, Twisted, the spiders' base, the ingest
    step's front) in this process, so that a forked crawl child starts with it imported.
    The collector is paused meanwhile, as at start-up (scheduler.collector)."""
    collector.pause()
    try:
        import crawler.runner  # noqa: F401
        import ingest  # noqa: F401
        import scheduler.progress
        import scheduler.summary  # noqa: F401
    finally:
        collector.resume()


class ForkedCrawl:
    """A crawl child made by ``fork()`` from ``run --once``: the same ``defwatch crawl NAMES``
    run (``scheduler.cli.main``), in a process of its own as before (its own reactor, its
    own session and time limit, killed like any other), without a second interpreter
    importing Python, Scrapy and SQLAlchemy again: about 1 CPU-s of an unchanged cycle.

    Only ``run --once`` forks: at that moment its other threads wait (the signal watcher on
    its pipe, the main thread on an event), so no lock is held across the fork; the daemon,
    whose delivery and scheduler threads are busy at any time, starts its crawls afresh.
    The parent's Python objects (its store's connections among them) are never used by the
    child, which leaves with ``os._exit``."""

    def __init__(self, pid: int, stderr: IO[str]) -> None:
        self.pid = pid
        self.stderr = stderr
        self.returncode: int | None = None
        self.args = ["fork"]

    @classmethod
    def start(cls, argv: list[str], env: dict[str, str]) -> ForkedCrawl:
        read_fd, write_fd = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        pid = collector.fork_frozen()  # the child's collector leaves what it inherited alone
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            _forked_child(argv, env, read_fd, write_fd)
        os.close(write_fd)
        stream = io.TextIOWrapper(io.FileIO(read_fd, "r"), encoding="utf-8", errors="replace")
        return cls(pid, stream)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode
        deadline = time.monotonic() + timeout
        try:  # woken when the child ends (Linux 5.3+), rather than polling for it
            pidfd: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            while self.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout)
                if pidfd is not None:
                    select.select([pidfd], [], [], left)
                else:
                    time.sleep(min(0.1, left))
        finally:
            if pidfd is not None:
                os.close(pidfd)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _forked_child(
    argv: list[str],
    env: dict[str, str],
    read_fd: int | None,
    write_fd: int,
    call: tuple[str, dict[str, Any]] | None = None,
) -> NoReturn:
    """In the forked child: what ``subprocess.Popen`` set up for the crawl command (its own
    session, stdin and stdout on /dev/null, stderr to the parent's relay, the environment,
    default signal handling), then the command itself; with ``call`` (``module:function``
    and its keyword arguments), that function instead, its return value the exit status."""
    code = 1
    try:
        if read_fd is not None:
            os.close(read_fd)
        os.setsid()  # a terminal's Ctrl-C reaches the parent only, which forwards it once
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        os.close(devnull)
        # The parent's handlers write to its wakeup pipe: the child's signals are its own.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.update(env)
        if call is not None:
            module, _, name = call[0].partition(":")
            code = int(getattr(importlib.import_module(module), name)(**call[1]))
        else:
            # The command line as `python -m scheduler` runs it (its modules already imported).
            sys.argv = ["defwatch", *argv]
            runpy.run_module("scheduler", run_name="__main__", alter_sys=True)
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(code)


# --------------------------------------------------------------------------------------
# The daemon's crawl children, forked from a zygote
# --------------------------------------------------------------------------------------


class Zygote:
    """A small process the daemon forks before its threads start, which imports what a
    crawl needs (:func:`preload_crawl`) once, then forks each crawl child on request (as
    :class:`ForkedCrawl` does for ``run --once``): a cycle no longer pays for a fresh
    interpreter importing Python, Scrapy and SQLAlchemy (about 1 CPU-s a process), and the
    children share the zygote's memory pages. Single-threaded, so a fork never copies a
    lock some other thread holds.

    The daemon asks over a Unix socket (the command line, the environment, the write end of
    the child's stderr pipe); the zygote answers with the child's pid, and again with its
    exit status when it ends (it is the zygote's child: the zygote waits for it). The
    zygote dies with the daemon (``PR_SET_PDEATHSIG``, or the socket's end), its children
    with it (each crawl follows its parent)."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self._sock = sock
        self._lock = threading.Lock()  # one request and its answer at a time
        self._answers: queue.Queue[int | None] = queue.Queue()
        self._children: dict[int, ZygoteCrawl] = {}
        self._guard = threading.Lock()
        self.alive = True
        self._reader = threading.Thread(target=self._read, name="zygote", daemon=True)

    @classmethod
    def start(cls) -> Zygote | None:
        """Fork the zygote (call before any thread starts in this process); None where it
        cannot wait for its children by pidfd (Linux 5.3+), and crawls start afresh."""
        try:
            os.close(os.pidfd_open(os.getpid()))
        except (AttributeError, OSError):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        daemon_pid = os.getpid()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        pid = collector.fork_frozen()  # the zygote's collector leaves the daemon's objects alone
        if pid == 0:  # pragma: no cover - the zygote; coverage does not follow it
            ours.close()
            _zygote_main(theirs, daemon_pid)
        theirs.close()
        zygote = cls(pid, ours)
        zygote._reader.start()
        return zygote

    def spawn(self, argv: list[str], env: dict[str, str]) -> ZygoteCrawl | None:
        """A crawl child running ``defwatch ARGV`` (None when the zygote is gone)."""
        return self._request({"argv": argv, "env": env})

    def call(self, target: str, kwargs: dict[str, Any], env: dict[str, str]) -> ZygoteCrawl | None:
        """A child running ``module:function`` (``target``) with ``kwargs`` (JSON), its
        return value its exit status (None when the zygote is gone): work whose memory
        should end with it rather than stay with the daemon (the feed build)."""
        return self._request({"call": target, "kwargs": kwargs, "env": env})

    def _request(self, message: dict[str, Any]) -> ZygoteCrawl | None:
        read_fd, write_fd = os.pipe()
        try:
            with self._lock:
                if not self.alive:
                    return None
                request = json.dumps(message).encode()
                try:
                    socket.send_fds(self._sock, [request], [write_fd])
                except OSError:
                    return None
                pid = self._answers.get()
                if pid is None:
                    return None
                stream = io.TextIOWrapper(io.FileIO(read_fd, "r"), encoding="utf-8", errors="replace")
                read_fd = -1
                child = ZygoteCrawl(pid, stream)
                with self._guard:
                    self._children[pid] = child
                return child
        finally:
            os.close(write_fd)
            if read_fd >= 0:
                os.close(read_fd)

    def _read(self) -> None:
        """The zygote's answers: a child's pid, or a child's exit status."""
        while True:
            try:
                data = self._sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "pid" in message:
                self._answers.put(int(message["pid"]))
            elif "exit" in message:
                with self._guard:
                    child = self._children.pop(int(message["exit"]), None)
                if child is not None:
                    child.ended(int(message["code"]))
        self.alive = False
        self._answers.put(None)
        with self._guard:  # the zygote died: its children with it (each follows its parent)
            orphans, self._children = list(self._children.values()), {}
        for child in orphans:
            child.ended(-signal.SIGKILL)

    def close(self) -> None:
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._reader.join(timeout=5)
        self._sock.close()


class ZygoteCrawl:
    """A crawl child of the zygote, as the daemon sees it: the ``Popen`` methods it uses."""

    def __init__(self, pid: int, stderr: IO[str]) -> None:
        self.pid = pid
        self.stderr = stderr
        self.returncode: int | None = None
        self.args = ["zygote"]
        self._ended = threading.Event()

    def ended(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # the zygote reports an end before the pid can be reused
            with suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _zygote_main(sock: socket.socket, daemon_pid: int) -> NoReturn:  # pragma: no cover
    """The zygote: import the crawl's modules, then fork a child per request and report its
    end, until the daemon is gone."""
    code = 0
    try:
        os.setsid()  # a terminal's Ctrl-C reaches the daemon only, which forwards it once
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides what a Ctrl-C stops
        _die_with(daemon_pid)
        preload_crawl()
        children: dict[int, int] = {}  # pidfd -> pid
        while True:
            ready, _, _ = select.select([sock.fileno(), *children], [], [])
            for fd in ready:
                if fd == sock.fileno():
                    _zygote_request(sock, children)
                else:
                    pid = children.pop(fd)
                    os.close(fd)
                    _, status = os.waitpid(pid, 0)
                    sock.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())
    except _ZygoteDone:
        code = 0
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


class _ZygoteDone(Exception):
    pass


def _zygote_request(sock: socket.socket, children: dict[int, int]) -> None:  # pragma: no cover
    data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 1)
    if not data:
        raise _ZygoteDone
    request = json.loads(data)
    from scheduler.lock import PARENT_ENV

    (write_fd,) = fds
    env = {**request["env"], PARENT_ENV: str(os.getpid())}  # the crawl follows the zygote
    pid = collector.fork_frozen()  # the child's collector leaves what it inherited alone
    if pid == 0:
        sock.close()
        for fd in children:
            os.close(fd)
        call = (request["call"], request["kwargs"]) if "call" in request else None
        if call is not None:  # no store lock to follow the zygote by: it ends with it
            _die_with(int(env[PARENT_ENV]))
        _forked_child(request.get("argv", []), env, None, write_fd, call)
    os.close(write_fd)
    children[os.pidfd_open(pid)] = pid
    sock.send(json.dumps({"pid": pid}).encode())


def _die_with(parent: int) -> None:  # pragma: no cover
    """The zygote is killed when the daemon dies (Linux), else ends at the socket's end."""
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
