"""Python's cyclic garbage collector while a command starts, across the fork of a crawl
child, and when the process ends. What start-up makes (modules, classes and functions
imported, the configuration read: about 100,000 objects for ``run --once``) lives as long
as the process; the collector would walk it again and again as it grows and find nothing
to free (0.05 to 0.09 CPU-s of ``run --once``), a forked child would walk, and so copy, its
parent's pages (about 0.06 CPU-s of its crawl child), and the interpreter's last
collections at an ordinary exit would walk it all once more (about 0.17 CPU-s;
docs/performance.md)."""

from __future__ import annotations

import atexit
import gc
import os

__all__ = ["fork_frozen", "freeze_at_exit", "pause", "resume"]

_paused = False
_inherited_frozen = False  # a child of fork_frozen (gc.get_freeze_count() walks them all)
_freeze_at_exit = False


def pause() -> None:
    """The collector off until :func:`resume` (unless something else turned it off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """The collector on again after :func:`pause`. What was made meanwhile joins the oldest
    generation (frozen, then thawed: moved, not walked), which only a full collection walks,
    as it would have after a few young ones."""
    global _paused
    if _paused:
        _paused = False
        if not _inherited_frozen:  # in a forked child, what it inherited stays frozen
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def fork_frozen() -> int:
    """``os.fork()``, the parent's objects frozen for the child: the child's collector never
    walks what it inherited (nor copies those pages by touching them), only what it makes
    itself; the parent's are as before. The collector is on in both afterwards."""
    global _paused, _inherited_frozen
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if pid == 0:
        _paused = False
        _inherited_frozen = True
        gc.enable()
        return 0
    gc.unfreeze()
    resume()
    return pid


def freeze_at_exit() -> None:
    """At the end of the process (after the ``atexit`` handlers registered after this one,
    before the interpreter's last collections), everything is frozen: those collections
    walk nothing. ``scheduler.cli.entry`` ends most processes before them (``os._exit``);
    this is for the ordinary exit it falls back to (a thread still running, output that
    cannot be flushed) and for ``main()`` called by another program. What they would find
    is garbage of a process about to end (Python does not promise to finalise it); files
    and the store are closed by the commands themselves, log handlers flushed by
    ``logging``'s own handler, standard streams by the interpreter, as before."""
    global _freeze_at_exit
    if not _freeze_at_exit:
        _freeze_at_exit = True
        atexit.register(gc.freeze)
