"""Evaluators for the learning-quality harness's evaluator-driven rounds.

In those rounds nobody comments: the middleware's `evaluators=` score the agent's runs and
their verdicts are the only feedback. An evaluator sees what evaluators see in production,
the run's messages (OpenAI-format dicts), not the user id; both judges here find whose email
it was from the email in the run's first message (`To: <user>`), which the harness registers
before running each task.

- `PreferenceJudge` ("checks", the default): a rubric evaluator applying the simulated user's
  deterministic checks to the email the agent wrote, returning agentevals'
  `{"key": "preferences", "score", "comment"}` with the misses and the rules as its comment.
- `llm_judge` ("llm"): agentevals' `create_trajectory_llm_as_judge` with a rubric prompt per
  persona, its judge a chat model (a `ChatOpenAI` client of the endpoint).

Triage decisions are not agent runs, so no evaluator sees them: in evaluator-driven rounds
the triage preferences get no feedback.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from langchain_core.messages import convert_to_messages

from benchmarks.simulated_user import PERSONAS, Persona, Task, TaskResult, check_reply, feedback_for

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PREFERENCE_KEY", "PreferenceJudge", "llm_judge", "rubric_prompt"]

PREFERENCE_KEY = "preferences"
"""The key of the judges' verdicts: their feedback's source is `evaluator:preferences`."""

_TO = re.compile(r"^To: (\S+)$", re.MULTILINE)


def _first_user_text(outputs: list[dict[str, Any]]) -> str:
    for message in outputs:
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def _persona_of(outputs: list[dict[str, Any]]) -> Persona | None:
    found = _TO.search(_first_user_text(outputs))
    if found is None:
        return None
    return next((p for p in PERSONAS if p.user_id == found.group(1)), None)


class PreferenceJudge:
    """The rubric evaluator: which registered task a run answered, and how it scored.

    Register each reply task before running it (`register`); calling the judge on the run's
    messages returns the verdict. Thread-safe (evaluations run in the background).
    """

    def __init__(self) -> None:
        self._tasks: dict[str, tuple[Persona, Task]] = {}
        self._lock = threading.Lock()
        self.__name__ = "preference_judge"

    def register(self, persona: Persona, task: Task) -> None:
        """Remember a task the agent is about to answer."""
        with self._lock:
            self._tasks[task.email.render()] = (persona, task)

    def _task_of(self, outputs: list[dict[str, Any]]) -> tuple[Persona, Task] | None:
        text = _first_user_text(outputs)
        with self._lock:
            for rendered, found in self._tasks.items():
                if rendered in text:
                    return found
        return None

    def __call__(
        self, *, outputs: list[dict[str, Any]], reference_outputs: Any = None
    ) -> dict[str, Any]:
        found = self._task_of(outputs)
        if found is None:
            msg = "the judge does not know the task this run answered"
            raise LookupError(msg)
        persona, task = found
        checks = check_reply(persona, task, convert_to_messages(outputs))
        result = TaskResult(task, checks)
        comment = feedback_for(result) if result.misses else "Every preference was met."
        return {"key": PREFERENCE_KEY, "score": round(result.score, 3), "comment": comment}


def rubric_prompt(persona: Persona) -> str:
    """The LLM judge's prompt for a persona: the reply preferences as a rubric, then the run
    (`{outputs}`, filled in by agentevals)."""
    return (
        f"You grade the emails an assistant writes for {persona.name} ({persona.user_id}).\n"
        f"{persona.name}'s preferences for every email the assistant writes:\n"
        f'- Sign off every email with "{persona.sign_off}".\n'
        "- Never use exclamation marks in emails; keep the tone formal.\n"
        '- Open every email with a formal greeting, "Dear <first name>,", never "Hi".\n'
        f"- CC {persona.cc_address} on emails about {persona.topics_text}, and only on those.\n"
        "\nRead the email the assistant wrote (the write_email call's arguments) in the run "
        "below. Score the share of preferences it met (0 to 1). In your reasoning, for each "
        f"preference it missed, say what was wrong and state the rule as {persona.name} would "
        'write it (for example: Sign off every email with "...").\n\n'
        "<trajectory>\n{outputs}\n</trajectory>\n"
    )


def llm_judge(judge_model: Any) -> Callable[..., Any]:
    """agentevals' `create_trajectory_llm_as_judge` with the persona's rubric, `judge_model`
    judging (continuous scores, reasoning as the comment)."""
    from agentevals.trajectory.llm import create_trajectory_llm_as_judge

    judges = {
        persona.user_id: create_trajectory_llm_as_judge(
            prompt=rubric_prompt(persona),
            judge=judge_model,
            feedback_key=PREFERENCE_KEY,
            continuous=True,
        )
        for persona in PERSONAS
    }

    def preference_llm_judge(*, outputs: list[dict[str, Any]], reference_outputs: Any = None):  # type: ignore[no-untyped-def]
        persona = _persona_of(outputs)
        if persona is None:
            msg = "no persona's address in the run's email"
            raise LookupError(msg)
        return judges[persona.user_id](outputs=outputs)

    return preference_llm_judge
