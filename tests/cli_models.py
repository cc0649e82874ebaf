"""Models the CLI tests load with `--model python:tests.cli_models:optimizer` (and an
evaluator, `--evaluator python:tests.cli_models:sign_judge`)."""

from __future__ import annotations

from langchain_prompt_optimization.testing import ScriptedOptimizerModel

SIGN_RULE = "Always sign emails as John Doe."


def optimizer() -> ScriptedOptimizerModel:
    """A scripted optimizer that learns the sign-off rule."""
    return ScriptedOptimizerModel(
        rewrite=lambda current, text: current if SIGN_RULE in current else f"{current}\n{SIGN_RULE}"
    )


def slow_optimizer() -> ScriptedOptimizerModel:
    """An optimizer that takes 60 seconds (to be killed mid-optimization)."""
    import time

    def rewrite(current: str, text: str) -> str:
        time.sleep(60)
        return f"{current}\n{SIGN_RULE}"

    return ScriptedOptimizerModel(rewrite=rewrite)


def counting_optimizer() -> ScriptedOptimizerModel:
    """Learns the sign-off, slowly, appending one line per call to `$PROMPTOPT_TEST_CALLS`
    (so tests count optimizer calls across processes)."""
    import os
    import time

    def rewrite(current: str, text: str) -> str:
        with open(os.environ["PROMPTOPT_TEST_CALLS"], "a") as calls:
            calls.write(f"{os.getpid()}\n")
        time.sleep(0.3)
        return current if SIGN_RULE in current else f"{current}\n{SIGN_RULE}"

    return ScriptedOptimizerModel(rewrite=rewrite)


def sign_judge(*, outputs, reference_outputs=None):
    """An evaluator: asks for the sign-off until the email has it."""
    signed = "John Doe" in outputs[-1]["content"]
    return {"key": "sign_off", "score": signed, "comment": "Good." if signed else SIGN_RULE}
