"""The contract between the scos blocks and the flowgraph runner that runs them as a task.

A block that has something to tell the runner derives from :class:`TaskBlock`. The runner
(``scos_gr.flowgraphs.runner``) builds each flowgraph inside :func:`collect_task_blocks`, so every
TaskBlock constructed there, however deep inside hier blocks, is handed to it; after the run it
talks to them only through this interface:

- ``error``: why the block stopped the flowgraph. A block never raises in a GNU Radio thread
  (that would end the worker): it keeps the reason here and returns ``WORK_DONE`` (-1).
- ``radio_check``: True when this block's error is the radio's fault (a radio failure: the
  sensor's radio health turns false), not the flowgraph's.
- :meth:`measurements`: values the block measured (the radio check's level and rate), by name,
  for the task's log and for the failure's details; None when it measures nothing.
- :meth:`finalize`: complete the block's output after the flowgraph stopped (a file sink's data
  becomes a SigMF recording); raising fails the task with that reason.
- :meth:`recordings`: the complete recordings the block wrote (``sigmf_out`` ``Recording``s).
- :meth:`step_seconds`: how long the block's own steps took (e.g. writing the recording), by
  name, for the task's time split (``bench/task_overhead.py``).

When a task fails, the runner removes its recording (complete or partial) by the basename it
gave the flowgraph, so a block never has to clean up after itself.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from typing import Any, Iterator

from scos_gr.sigmf_out.writer import Recording

_collecting: contextvars.ContextVar[list["TaskBlock"] | None] = contextvars.ContextVar("scos_task_blocks", default=None)


_rehearsing: contextvars.ContextVar[bool] = contextvars.ContextVar("scos_rehearsal", default=False)


@contextlib.contextmanager
def rehearsal() -> Iterator[None]:
    """Blocks built in this ``with`` block (this thread) are a rehearsal: built to warm the
    process up (imports, FFT plans, the sim's signal file), never run. A simulated radio built
    in one counts no construction (``fail_every``: every Nth *acquisition* fails) and waits no
    open delay."""
    token = _rehearsing.set(True)
    try:
        yield
    finally:
        _rehearsing.reset(token)


def rehearsing() -> bool:
    """Whether blocks are being built in a :func:`rehearsal`."""
    return _rehearsing.get()


@contextlib.contextmanager
def collect_task_blocks() -> Iterator[list["TaskBlock"]]:
    """Collect every :class:`TaskBlock` constructed in this ``with`` block (this thread only)."""
    blocks: list[TaskBlock] = []
    token = _collecting.set(blocks)
    try:
        yield blocks
    finally:
        _collecting.reset(token)


class TaskBlock:
    """Mixin of the blocks that report to the runner (see the module docstring).

    Subclasses call ``TaskBlock.__init__(self)`` after their GNU Radio base's ``__init__``.
    """

    #: True: this block judges the radio, so its error is a radio failure
    radio_check: bool = False

    def __init__(self) -> None:
        self.error: str | None = None
        collected = _collecting.get()
        if collected is not None:
            collected.append(self)

    def task_name(self) -> str:
        """How the runner names this block in a task's log: GNU Radio's name and unique id."""
        try:
            return f"{self.name()}_{self.unique_id()}"  # type: ignore[attr-defined]
        except AttributeError:  # not (yet) a GNU Radio block
            return type(self).__name__

    def stop_with(self, exc: Exception, label: str | None = None) -> int:
        """Keep why ``exc`` stops this block, as ``"{label}: {type}: {message}"`` (``label``:
        GNU Radio's name by default), for the runner; return what ``work`` then returns (-1,
        WORK_DONE: the flowgraph ends)."""
        self.error = f"{label or self.name()}: {type(exc).__name__}: {exc}"  # type: ignore[attr-defined]
        return -1

    def measurements(self) -> dict[str, Any] | None:
        return None

    def finalize(self) -> None:
        return None

    def recordings(self) -> list[Any]:
        return []

    def step_seconds(self) -> dict[str, float]:
        return dict(getattr(self, "_step_seconds", {}))

    def timed_step(self, name: str) -> "contextlib.AbstractContextManager[None]":
        """``with self.timed_step("write"): ...`` adds the block's time in it to :meth:`step_seconds`."""
        return _TimedStep(self, name)


class _TimedStep:
    def __init__(self, block: TaskBlock, name: str) -> None:
        self.block, self.name = block, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        steps = self.block.__dict__.setdefault("_step_seconds", {})
        steps[self.name] = steps.get(self.name, 0.0) + time.perf_counter() - self.started


class RecordingBlock(TaskBlock):
    """A :class:`TaskBlock` that writes one recording, kept in ``self.recording`` once complete."""

    def __init__(self) -> None:
        TaskBlock.__init__(self)
        self.recording: Recording | None = None

    def recordings(self) -> list[Recording]:
        return [self.recording] if self.recording is not None else []
