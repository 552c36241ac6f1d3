"""Every error Waypost raises: one hierarchy under WaypostError, plus engine control signals."""

from __future__ import annotations


class WaypostError(Exception):
    """Root of Waypost's own errors; `code` is a stable string matching Cloudflare's where one exists."""

    code = "waypost.error"


class ConfigError(WaypostError):
    """config.yaml is wrong; the message names the file, the key path and the problem."""

    code = "config.invalid"

    def __init__(self, file: str, key_path: str, problem: str) -> None:
        self.file, self.key_path, self.problem = file, key_path, problem
        where = f"{file}: {key_path}" if key_path else file
        super().__init__(f"{where}: {problem}")


class WorkerLoadError(WaypostError):
    """A worker module failed to import; the message carries file:line."""

    code = "worker.load_failed"


# ---- workflow errors users see -------------------------------------------------------------


class NonRetryableError(Exception):
    """Raised in a step to fail it at once, without retries."""

    def __init__(self, message: str = "", name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.name = name or "NonRetryableError"


class StepError(Exception):
    """A step failed for good; raised into run() when the original type is not a built-in."""

    def __init__(self, message: str, name: str = "Error") -> None:
        super().__init__(message)
        self.message = message
        self.name = name


class WaitTimeoutError(TimeoutError):
    """step.wait_for_event timed out before an event of its type arrived."""


class InstanceError(WaypostError):
    """Base of errors about one workflow instance."""

    code = "instance.error"


class InstanceNotFound(InstanceError, LookupError):
    """No instance with that id exists in that workflow."""

    code = "instance.not_found"


class InstanceUnreadable(InstanceError):
    """An instance's files cannot be used (a planted symlink, a folder where a file belongs, no
    permission); the message names the file."""

    code = "instance.unreadable"


class InstanceExists(InstanceError):
    """An instance with that id already exists."""

    code = "instance.already_exists"


class InvalidTransition(InstanceError, ValueError):
    """The control request is not allowed in the instance's current status (a ValueError: bad input)."""

    code = "instance.invalid_state"


class WorkflowNotFound(WaypostError, LookupError):
    """No workflow with that name is defined on this host."""

    code = "workflow.not_found"


class StorageFull(WaypostError, OSError):
    """The data directory's disk is full (ENOSPC/EDQUOT): nothing of the operation was kept."""

    code = "storage.full"


class LimitExceeded(WaypostError, ValueError):
    """A value is over one of the limits of SPEC section 7; the message names the limit."""

    code = "limit.exceeded"


# ---- engine control flow: BaseException so user `except Exception` never swallows it ----------


class EngineSignal(BaseException):
    """Unwinds a run() coroutine on the engine's behalf."""


class Suspend(EngineSignal):
    """The instance waits longer than hibernate_after: drop it from memory until `wake_at`."""

    def __init__(self, wake_at: float | None) -> None:
        super().__init__(wake_at)
        self.wake_at = wake_at


class NondeterminismError(EngineSignal):
    """Replay met a different step than the journal recorded at that point.

    An engine signal, so a broad `except Exception` in run() cannot swallow it and go on from a
    history the code no longer matches; the instance ends errored.
    """

    code = "instance.nondeterministic"


class StoreUnavailable(EngineSignal):
    """The journal cannot be written (a full disk, an I/O error): stop, and try again later."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Evicted(EngineSignal):
    """The instance was paused, terminated or restarted while it ran; stop without recording more."""
