"""Custom routes (`http.app` in langgraph.json): feedback on a run through the API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
# A second import of the agent module: its own middleware instance, on the same store.
from agent import middleware

if TYPE_CHECKING:
    from starlette.requests import Request


async def feedback(request: Request) -> JSONResponse:
    """Record feedback on a run (JSON body with trajectory_id, feedback, optional score)."""
    body = await request.json()
    try:
        feedback_id = await middleware.aadd_feedback(
            body["trajectory_id"], body["feedback"], score=body.get("score")
        )
    except KeyError as exc:  # unknown run (TrajectoryNotFoundError) or a missing field
        return JSONResponse({"error": str(exc)}, status_code=404)
    except (TypeError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"feedback_id": feedback_id})


app = Starlette(routes=[Route("/prompt-feedback", feedback, methods=["POST"])])
