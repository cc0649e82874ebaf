"""Feedback as users give it: type, JSON and size checks, scores, and in-band feedback items."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from langchain_prompt_optimization import limits
from langchain_prompt_optimization.limits import MAX_FEEDBACK_SIZE, MAX_NESTING
from langchain_prompt_optimization.stores import FeedbackItem
from langchain_prompt_optimization.stores.records import check_feedback_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_prompt_optimization.stores import FeedbackValue, Job, StoreLayout, UserRef

__all__ = [
    "check_json",
    "inband_feedback",
    "log_trigger_failure",
    "screen_inband_feedback",
    "served_by",
    "store_feedback_job",
    "validate_feedback",
]

logger = logging.getLogger(__name__)


def validate_feedback(feedback: object, score: object) -> tuple[FeedbackValue, float | None]:
    """Checked feedback and score (a dict's numeric `"score"` key is the score if none given).

    Raises:
        TypeError: If feedback is not a str or a JSON dict, or the score not a number.
        ValueError: If feedback is empty, nested deeper than `MAX_NESTING` levels or larger
            than `MAX_FEEDBACK_SIZE`, or the score is not finite or does not fit a float
            (`10**400`).
    """
    if isinstance(feedback, str):
        if not feedback.strip():
            msg = "feedback must not be empty"
            raise ValueError(msg)
    elif isinstance(feedback, Mapping):
        if not feedback:
            msg = "feedback dict must not be empty"
            raise ValueError(msg)
        feedback = dict(feedback)
    else:
        msg = f"feedback must be a str or a dict, got {type(feedback).__name__}"
        raise TypeError(msg)
    check_json(feedback, "feedback")
    if isinstance(feedback, dict) and score is None and "score" in feedback:
        score = feedback["score"]
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            msg = f"score must be a number or None, got {type(score).__name__}"
            raise TypeError(msg)
        if isinstance(score, int) and not limits.fits_float(score):
            msg = f"score must fit a float; got an int of {score.bit_length()} bits"
            raise ValueError(msg)
        if not math.isfinite(score):
            msg = "score must be finite"
            raise ValueError(msg)
        score = float(score)
    return cast("FeedbackValue", feedback), score


def served_by(versions: object) -> dict[str, int] | None:
    """The `{prompt: version}` map a run recorded, if usable (for score attribution)."""
    if not isinstance(versions, Mapping):
        return None
    try:
        return {str(name): int(number) for name, number in versions.items()}
    except (TypeError, ValueError):
        return None


def check_json(value: object, where: str) -> None:
    """Raise unless `value` stores identically on every backend (JSON with string keys,
    finite numbers that fit a float, valid Unicode text) and is within the feedback limits
    (`MAX_NESTING` levels, `MAX_FEEDBACK_SIZE`); checked without recursion, in linear time.

    Raises:
        TypeError: If `value` is not such JSON.
        ValueError: If it is nested too deep or too large.
    """
    limits.check_json(value, where, max_depth=MAX_NESTING, max_size=MAX_FEEDBACK_SIZE)


def inband_feedback(inband: Mapping[str, Any], user: UserRef) -> FeedbackItem | None:
    """The feedback item for the `feedback` input key of a run, or `None` (logged) when it
    has no previous run on the thread to attach to or is not valid feedback."""
    return screen_inband_feedback(inband, user)[0]


def screen_inband_feedback(
    inband: Mapping[str, Any], user: UserRef
) -> tuple[FeedbackItem | None, str | None]:
    """`inband_feedback`, with why it was ignored (`None` when it was not)."""
    target = inband.get("target")
    if not target:
        reason = "no earlier run on this thread"
        logger.warning("in-band feedback ignored: %s", reason)
        return None, reason
    try:
        value, score = validate_feedback(inband.get("value"), None)
    except (TypeError, ValueError) as exc:
        logger.warning("in-band feedback ignored: %s", exc)
        return None, f"invalid feedback: {exc}"
    item = FeedbackItem.new(
        target,
        value,
        score,
        source="in_band",
        user_id=user.user_id,
        user_label=user.label,
        prompt_versions=served_by(inband.get("versions")),
    )
    return item, None


def store_feedback_job(
    layout: StoreLayout,
    trajectory_id: str,
    feedback: object,
    score: object,
    feedback_id: object,
    *,
    owner_of: Callable[[UserRef], UserRef],
    mark_pending: bool,
    keep_runs: bool,
) -> Job[tuple[UserRef, FeedbackItem]]:
    """`add_feedback`'s job: validate, find the run's user, and store the item once. The
    write is the last step, so once the feedback is stored this job cannot raise.

    Args:
        layout: The store layout.
        trajectory_id: The run the feedback is on.
        feedback: The feedback as given.
        score: The score as given.
        feedback_id: The caller's idempotency key, or `None`.
        owner_of: The lineage owner that serves a user.
        mark_pending: Mark the owner in the pending-work index (`mode="external"` or `"server"`).
        keep_runs: Trajectories expire (a TTL): keep a copy of the run with the feedback.

    Returns:
        The lineage owner and the stored item.
    """
    value, checked_score = validate_feedback(feedback, score)
    key = check_feedback_id(feedback_id) if feedback_id is not None else None
    user, run = yield from layout.resolve_run(trajectory_id)
    owner = owner_of(user)
    item = FeedbackItem.new(
        trajectory_id,
        value,
        checked_score,
        source="api",
        user_id=user.user_id,
        user_label=user.label,
        prompt_versions=run.prompt_versions if run is not None else None,
        feedback_id=key,
    )
    yield from layout.put_feedback_once(
        owner,
        item,
        mark_pending=mark_pending,
        keep_run=run if keep_runs else None,
        check_existing=key is not None,
    )
    return owner, item


def log_trigger_failure(item: FeedbackItem, exc: Exception) -> None:
    """Log that `item` is stored but checking the optimization trigger after it failed."""
    logger.warning(
        "feedback %r is stored; checking the optimization trigger failed (%s: %s), "
        "it is checked again with the next feedback or by a worker",
        item.id,
        type(exc).__name__,
        exc,
    )
