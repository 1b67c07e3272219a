"""The errors scos-gr raises on purpose: one root, one branch per room.

Every error that carries a message meant for a person (an operator reading a task's reason, a
client reading a 4xx body, someone at the command line) derives from :class:`ScosGrError`, as
sigmf-python's errors derive from ``SigMFError``. Callers catch the root, or a room's branch,
by class; nothing matches exception class names as strings. The branches live here so the
taxonomy can be read in one place; each room defines its own specific errors below its branch
(``CatalogueError(FlowgraphError)`` in ``flowgraphs/catalogue.py`` and so on).

This module imports nothing, so every room (the GNU Radio blocks included) can use it.
"""
from __future__ import annotations


class ScosGrError(Exception):
    """Root of scos-gr's own errors; ``str(error)`` is a complete sentence for a person."""


class ConfigError(ScosGrError):
    """Configuration is unusable: an environment variable, the calibration or sensor file."""


class UserError(ScosGrError):
    """``scos_gr.users``: a user cannot be created, deleted or given a new token as asked."""


class BlockError(ScosGrError):
    """A GNU Radio block of ``gnuradio.scos`` was given values it cannot work with."""


class RadioError(BlockError):
    """A radio could not be opened or tuned, or failed while running."""


class RecordingError(ScosGrError):
    """``sigmf_out``: a recording is inconsistent, invalid, or cannot be written or read."""


class FlowgraphError(ScosGrError):
    """``flowgraphs``: the catalogue, a flowgraph's compilation, or an action's run failed."""


class SchedulerError(ScosGrError):
    """``scheduler``: the scheduler or its worker process cannot go on."""


class ApiRequestError(ScosGrError):
    """``api``: a request is answered with an error status (the web layer's branch)."""
