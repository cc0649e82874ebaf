"""A loopback OpenAI-compatible server answering from scripted models.

It lets tests drive an agent AND the optimizer through a real provider client
(`langchain_openai.ChatOpenAI`) over real HTTP, so tool-schema serialization, tool-call
parsing and structured output of the real client are exercised, offline.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_prompt_optimization.testing.models import ScriptedChatModel, ScriptedRequest

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

__all__ = ["LoopbackOpenAIServer"]


def _messages(items: list[Mapping[str, Any]]) -> list[BaseMessage]:
    """Wire messages to LangChain ones; tool results get their tool's name back from the
    assistant call they answer (the OpenAI format does not carry it)."""
    messages = [_message(item) for item in items]
    names = {
        call["id"]: call["name"]
        for message in messages
        for call in getattr(message, "tool_calls", None) or []
        if call.get("id")
    }
    for message in messages:
        if isinstance(message, ToolMessage) and not message.name:
            message.name = names.get(message.tool_call_id)
    return messages


def _message(data: Mapping[str, Any]) -> BaseMessage:
    role, content = data.get("role"), data.get("content") or ""
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if role in ("system", "developer"):
        return SystemMessage(content)
    if role == "user":
        return HumanMessage(content)
    if role == "tool":
        return ToolMessage(
            content, tool_call_id=data.get("tool_call_id", ""), name=data.get("name")
        )
    calls = [
        {
            "name": call["function"]["name"],
            "args": json.loads(call["function"].get("arguments") or "{}"),
            "id": call.get("id"),
            "type": "tool_call",
        }
        for call in data.get("tool_calls") or []
    ]
    return AIMessage(content, tool_calls=calls)


def _schema_tool(response_format: Mapping[str, Any]) -> dict[str, Any] | None:
    """Structured output by `response_format: json_schema` seen as a forced tool."""
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    return {
        "type": "function",
        "function": {"name": spec.get("name", "output"), "parameters": spec.get("schema", {})},
    }


class LoopbackOpenAIServer:
    """Serve `POST /v1/chat/completions` on 127.0.0.1 from scripted models, by model name.

    Each request is converted to messages and tool schemas, recorded on the scripted model
    (its `requests`), answered by its `reply`, and sent back in OpenAI's wire format: text,
    `tool_calls` with JSON `arguments`, JSON content for `response_format` json_schema
    structured output, `usage`, and server-sent events when `stream` is set.

    Args:
        models: Scripted model per `model` name in requests.

    Example:
        ```python
        with LoopbackOpenAIServer({"agent": agent_model, "opt": optimizer}) as server:
            llm = ChatOpenAI(model="agent", base_url=server.base_url, api_key="unused")
        ```
    """

    def __init__(self, models: Mapping[str, ScriptedChatModel]) -> None:
        self.models = dict(models)
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, stream = server._answer(self.path, body)
                if stream and status == 200:
                    self._send_stream(payload)
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, payload: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                choice = payload["choices"][0]
                message = choice["message"]
                delta: dict[str, Any] = {"role": "assistant", "content": message["content"]}
                if message.get("tool_calls"):
                    delta["tool_calls"] = [
                        {**call, "index": i} for i, call in enumerate(message["tool_calls"])
                    ]
                last = {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}
                chunks = [
                    {**payload, "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                    {**payload, "object": "chat.completion.chunk", "choices": [last],
                     "usage": payload["usage"]},
                ]  # fmt: skip
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(  # stop() waits up to one poll interval
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The `base_url` to give `ChatOpenAI` (ends in `/v1`)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> LoopbackOpenAIServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        self.requests.append(body)
        if not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {path}"}}, False
        model = self.models.get(body.get("model", ""))
        if model is None:
            known = ", ".join(sorted(self.models))
            text = f"unknown model {body.get('model')!r}; serving: {known}"
            return 404, {"error": {"message": text, "type": "invalid_request_error"}}, False
        messages = _messages(list(body.get("messages", [])))
        tools = list(body.get("tools") or [])
        tool_choice = body.get("tool_choice")
        schema_tool = _schema_tool(body.get("response_format") or {})
        if schema_tool is not None:
            tools, tool_choice = [schema_tool], schema_tool["function"]["name"]
        request = ScriptedRequest(
            messages, [t["function"]["name"] for t in tools], tool_choice, tools
        )
        model.record(request)
        try:
            reply = model.reply(request)
        except Exception as exc:
            error = {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}
            return 500, {"error": error}, False
        ai = AIMessage(reply) if isinstance(reply, str) else reply
        message: dict[str, Any] = {"role": "assistant", "content": ai.text or None}
        finish = "stop"
        if schema_tool is not None and ai.tool_calls:
            message["content"] = json.dumps(ai.tool_calls[0]["args"])
        elif ai.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
                }
                for call in ai.tool_calls
            ]
            finish = "tool_calls"
        prompt_chars = sum(len(str(m.content)) for m in messages)
        completion_chars = len(json.dumps(message))
        usage = {
            "prompt_tokens": max(1, prompt_chars // 4),
            "completion_tokens": max(1, completion_chars // 4),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }
        return 200, payload, bool(body.get("stream"))
