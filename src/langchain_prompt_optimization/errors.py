"""Errors raised to callers of the package's public API."""

from __future__ import annotations

__all__ = [
    "FeedbackOutcomeUnknownError",
    "InvalidTransitionError",
    "NamespaceBusyError",
    "PromptOptimizationError",
    "TrajectoryNotFoundError",
    "UnknownExampleError",
    "UnknownFeedbackError",
    "UnknownPromptError",
    "UnknownUserError",
    "UnknownVersionError",
]


class PromptOptimizationError(Exception):
    """Base class of this package's errors."""


class TrajectoryNotFoundError(PromptOptimizationError, KeyError):
    """Feedback named a trajectory id that is not stored (or is not an id of ours)."""

    def __init__(self, trajectory_id: object, why: str) -> None:
        self.trajectory_id = trajectory_id
        self.why = why
        super().__init__(f"unknown trajectory id {trajectory_id!r}: {why}")

    def __str__(self) -> str:
        return str(self.args[0])


class FeedbackOutcomeUnknownError(PromptOptimizationError, RuntimeError):
    """The feedback write failed midway: it may or may not be stored.

    Retrying `add_feedback` with the same `feedback_id` is safe: the record's key is that
    id, so it is stored once whatever happened to the first attempt.
    """

    def __init__(self, feedback_id: str, cause: BaseException) -> None:
        self.feedback_id = feedback_id
        super().__init__(
            f"feedback {feedback_id!r} may or may not be stored ({type(cause).__name__}: "
            f"{cause}); retrying with feedback_id={feedback_id!r} is safe"
        )


class UnknownUserError(PromptOptimizationError, KeyError):
    """Nothing is stored for this user id."""

    def __init__(self, user_id: str | None) -> None:
        self.user_id = user_id
        shown = "the default namespace" if user_id is None else repr(user_id)
        super().__init__(f"no prompts or runs are stored for user {shown}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownPromptError(PromptOptimizationError, KeyError):
    """The prompt name is not managed for this user."""

    def __init__(self, user_id: str | None, prompt: str) -> None:
        self.user_id = user_id
        self.prompt = prompt
        super().__init__(f"prompt {prompt!r} is not managed for user {user_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownVersionError(PromptOptimizationError, KeyError):
    """The version number does not exist in the prompt's history."""

    def __init__(self, user_id: str | None, prompt: str, version: int) -> None:
        self.user_id = user_id
        self.prompt = prompt
        self.version = version
        super().__init__(f"prompt {prompt!r} of user {user_id!r} has no version {version}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownFeedbackError(PromptOptimizationError, KeyError):
    """No feedback item with this id is stored for the user."""

    def __init__(self, user_id: str | None, feedback_id: str) -> None:
        self.user_id = user_id
        self.feedback_id = feedback_id
        super().__init__(f"no feedback {feedback_id!r} is stored for user {user_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownExampleError(PromptOptimizationError, KeyError):
    """No evaluation-gate example with this id is stored for the lineage."""

    def __init__(self, user_id: str | None, example_id: str) -> None:
        self.user_id = user_id
        self.example_id = example_id
        super().__init__(f"no example {example_id!r} is stored for user {user_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidTransitionError(PromptOptimizationError, ValueError):
    """A review action the version's status does not allow (e.g. approving an active one)."""


class NamespaceBusyError(PromptOptimizationError, RuntimeError):
    """Another optimizer or reviewer holds the namespace's lease; retry shortly."""

    def __init__(self, user_id: str | None) -> None:
        self.user_id = user_id
        super().__init__(
            f"the prompts of {user_id!r} are being changed by another process; retry shortly"
        )
