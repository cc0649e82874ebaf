"""The shipped LangGraph server example under `langgraph dev`: per-user learning, feedback in
band and through the custom route, and reviewing the server's store over HTTP."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from langchain_prompt_optimization import PromptRegistry, aopen_store, open_store
from langchain_prompt_optimization.review.cli import main as promptopt
from langchain_prompt_optimization.server import optimizer_thread_id
from langchain_prompt_optimization.stores import DEFAULT_PREFIX, UserRef

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest.importorskip("langgraph_sdk")
if (
    importlib.util.find_spec("langgraph_cli") is None
    or importlib.util.find_spec("langgraph_api") is None
):  # pragma: no cover - the dev extra installs both
    pytest.skip("needs the server extra: langgraph-cli[inmem]", allow_module_level=True)

import httpx
from langgraph_sdk import get_client, get_sync_client

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "langgraph_server"
ASK = {"messages": [{"role": "user", "content": "Tell Bob the report is ready."}]}
GIVE_UP_AFTER = 180.0  # seconds to wait for the server to answer before failing


@dataclass
class Server:
    url: str
    work: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`langgraph dev` on the example, importing the package from this checkout.

    It runs in a copy of the example (the server resolves `http.app` from its working
    directory and keeps its data in `.langgraph_api` there), one per test module and worker.
    """
    work = tmp_path_factory.mktemp("langgraph_server")
    app = work / "app"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns(".langgraph_api", "__pycache__"))
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p
        ),
        # Where the embedded default store would go: the server must never use it.
        "XDG_DATA_HOME": str(work / "xdg"),
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    env.pop("PROMPTOPT_STORE", None)
    log = work / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload"),
                *("--host", "127.0.0.1", "--port", str(port), "--config", "langgraph.json"),
            ],
            cwd=app,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        give_up = time.monotonic() + GIVE_UP_AFTER
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            if time.monotonic() > give_up:
                pytest.fail(f"langgraph dev did not answer:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield Server(url, work, log)
    finally:
        _stop(proc)


def _reply(result: dict[str, Any]) -> str:
    return str(result["messages"][-1]["content"])


def _run(client: Any, user: str, *, how: str, thread: str | None = None, **extra: Any) -> Any:
    """One run for `user`, the user id sent in `context` or in `configurable`."""
    who: dict[str, Any] = (
        {"context": {"user_id": user}}
        if how == "context"
        else {"config": {"configurable": {"user_id": user}}}
    )
    return client.runs.wait(thread, "agent", input={**ASK, **extra}, **who)


def _learn_by_route(server: Server, user: str, rule: str) -> None:
    """A run for `user`, then feedback on it through the custom route."""
    client = get_sync_client(url=server.url)
    first = _run(client, user, how="configurable")
    response = httpx.post(
        f"{server.url}/prompt-feedback",
        json={"trajectory_id": first["trajectory_id"], "feedback": rule},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["feedback_id"]


def test_each_user_is_served_their_learned_version(server: Server) -> None:
    client = get_sync_client(url=server.url)
    jane, bob = f"jane.{uuid.uuid4().hex[:6]}@example.com", f"bob-{uuid.uuid4().hex[:6]}"

    # Jane (user id in context): in-band feedback on her thread's previous run.
    thread = client.threads.create()["thread_id"]
    first = _run(client, jane, how="context", thread=thread)
    assert first["prompt_versions"] == {"system": 1}
    assert _reply(first) == "Hi Bob, the report is ready."
    given = _run(client, jane, how="context", thread=thread, feedback="Always sign as Jane.")
    outcome = given["feedback_outcome"]  # the client sees its in-band feedback was stored
    assert outcome["status"] == "stored"
    assert outcome["trajectory_id"] == first["trajectory_id"]
    assert outcome["feedback_id"]

    # Bob (user id in configurable): feedback through the custom route.
    _learn_by_route(server, bob, "Always sign as Bob.")

    for _ in range(2):  # new threads, each user served their own learned version
        for user, own, other in ((jane, "Jane", "Bob"), (bob, "Bob", "Jane")):
            how = "context" if user == jane else "configurable"
            new_thread = client.threads.create()["thread_id"]
            result = _run(client, user, how=how, thread=new_thread)
            assert result["prompt_versions"] == {"system": 2}
            assert f"Always sign as {own}." in _reply(result)
            assert other not in _reply(result).replace("Hi Bob", "")
            # The thread's state (readable by whoever reads the thread) holds no prompt text.
            private = client.threads.get_state(new_thread)["values"]
            assert "stored_config" not in private.get("prompt_optimization_meta", {})
            for pinned in private.get("prompt_optimization_pinned", {}).values():
                assert f"Always sign as {own}." not in pinned

    # A user who gave no feedback still gets the base prompt.
    stranger = _run(client, f"carol-{uuid.uuid4().hex[:6]}", how="context")
    assert stranger["prompt_versions"] == {"system": 1}
    # Nothing went to the embedded default store (the route found the server's store).
    assert not (server.work / "xdg").exists()


async def test_async_client_and_route_feedback(server: Server) -> None:
    client = get_client(url=server.url)
    user = f"dana-{uuid.uuid4().hex[:6]}"
    first = await client.runs.wait(None, "agent", input=ASK, context={"user_id": user})
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{server.url}/prompt-feedback",
            json={"trajectory_id": first["trajectory_id"], "feedback": "Always sign as Dana."},
        )
        assert response.status_code == 200, response.text
        unknown = await http.post(
            f"{server.url}/prompt-feedback",
            json={"trajectory_id": "no-such-run", "feedback": "x"},
        )
        assert unknown.status_code == 404
    again = await client.runs.wait(None, "agent", input=ASK, context={"user_id": user})
    assert "Always sign as Dana." in again["messages"][-1]["content"]


def test_registry_and_cli_review_the_deployed_agent(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    user = f"erin.{uuid.uuid4().hex[:6]}@example.com"
    _learn_by_route(server, user, "Always sign as Erin.")

    registry = PromptRegistry(server.url)
    history = registry.history(user)
    assert [v.version for v in history] == [2, 1]
    assert "Always sign as Erin." in history[0].text
    assert user in registry.users()

    assert promptopt(["--store", server.url, "history", user]) == 0
    out = capsys.readouterr().out
    assert "Always sign as Erin." in out
    assert "optimized from feedback" in out
    assert promptopt(["--store", server.url, "diff", user, "1", "2"]) == 0
    assert "+Always sign as Erin." in capsys.readouterr().out

    # A rollback through the HTTP store is what the deployed agent serves next.
    assert promptopt(["--store", server.url, "rollback", user, "1", "--note", "review"]) == 0
    client = get_sync_client(url=server.url)
    after = _run(client, user, how="configurable")
    assert after["prompt_versions"] == {"system": 3}
    assert _reply(after) == "Hi Bob, the report is ready."


def test_remote_store_operations(server: Server) -> None:
    store = open_store(server.url)
    ns = ("tests", uuid.uuid4().hex)
    store.put((*ns, "a"), "k1", {"kind": "x", "n": 1})
    store.put((*ns, "a"), "k2", {"kind": "y", "n": 2})
    store.put((*ns, "b"), "k3", {"kind": "x", "n": 3})
    got = store.get((*ns, "a"), "k1")
    assert got is not None
    assert got.value == {"kind": "x", "n": 1}
    assert got.namespace == (*ns, "a")
    assert store.get((*ns, "a"), "missing") is None
    found = store.search(ns, filter={"kind": "x"}, limit=10)
    assert sorted(item.key for item in found) == ["k1", "k3"]
    assert len(store.search(ns, limit=1)) == 1
    assert len(store.search(ns, limit=10, offset=2)) == 1
    assert sorted(store.list_namespaces(prefix=ns)) == [(*ns, "a"), (*ns, "b")]
    store.delete((*ns, "a"), "k1")
    assert store.get((*ns, "a"), "k1") is None


async def test_remote_store_async_operations(server: Server) -> None:
    store = await aopen_store(server.url)
    ns = ("tests", uuid.uuid4().hex)
    await store.aput(ns, "k", {"n": 1})
    got = await store.aget(ns, "k")
    assert got is not None
    assert got.value == {"n": 1}
    assert [item.key for item in await store.asearch(ns, filter={"n": 1})] == ["k"]
    assert await store.alist_namespaces(prefix=ns) == [ns]
    await store.adelete(ns, "k")
    assert await store.aget(ns, "k") is None


# -- optimizations on the server's own queue (mode="server" + the optimizer graph) -----------


def _optimizer_runs(client: Any, user: str) -> list[dict[str, Any]]:
    """The runs of the optimizer graph queued for `user` (on the user's own thread)."""
    thread = optimizer_thread_id(UserRef.of(user), DEFAULT_PREFIX)
    try:
        runs: list[dict[str, Any]] = client.runs.list(thread, limit=100)
    except httpx.HTTPStatusError as exc:  # the thread is created with the first run
        if exc.response.status_code == 404:
            return []
        raise
    return runs


def _wait_optimizer_runs(client: Any, user: str, count: int) -> list[dict[str, Any]]:
    """Wait until `count` optimizer runs for `user` exist and have all finished."""
    give_up = time.monotonic() + GIVE_UP_AFTER
    while True:
        runs = _optimizer_runs(client, user)
        if len(runs) >= count and all(r["status"] not in ("pending", "running") for r in runs):
            return runs
        if time.monotonic() > give_up:
            pytest.fail(f"optimizer runs for {user!r} did not finish: {runs}")
        time.sleep(0.2)


def _queued(client: Any, user: str, thread: str | None = None, **extra: Any) -> Any:
    return client.runs.wait(
        thread, "queued_agent", input={**ASK, **extra}, context={"user_id": user}
    )


def test_server_mode_queues_the_optimizer_graph(server: Server) -> None:
    client = get_sync_client(url=server.url)
    user = f"fay.{uuid.uuid4().hex[:6]}@example.com"
    thread = client.threads.create()["thread_id"]
    first = _queued(client, user, thread)
    assert first["prompt_versions"] == {"system": 1}
    given = _queued(client, user, thread, feedback="Always sign as Fay.")
    assert given["feedback_outcome"]["status"] == "stored"
    assert given["prompt_versions"] == {"system": 1}  # the run itself never waits for it

    (run,) = _wait_optimizer_runs(client, user, 1)
    assert run["status"] == "success"
    optimizers = client.assistants.search(graph_id="prompt_optimizer")
    assert run["assistant_id"] in {a["assistant_id"] for a in optimizers}
    # The user's next run (any thread) is served the version the optimizer graph appended.
    after = _queued(client, user)
    assert after["prompt_versions"] == {"system": 2}
    assert "Always sign as Fay." in _reply(after)


def test_two_feedback_bursts_for_one_user_never_fork(server: Server) -> None:
    client = get_sync_client(url=server.url)
    user = f"gus-{uuid.uuid4().hex[:6]}"
    threads = [client.threads.create()["thread_id"] for _ in range(2)]
    for thread in threads:
        _queued(client, user, thread)
    rules = ["Always sign as Gus.", "Never use exclamation marks."]
    # Two bursts at once, on two threads: each queues an optimizer run for the same user.
    burst = [
        client.runs.create(
            thread, "queued_agent", input={**ASK, "feedback": rule}, context={"user_id": user}
        )
        for thread, rule in zip(threads, rules, strict=True)
    ]
    for run in burst:
        client.runs.join(run["thread_id"], run["run_id"])

    runs = _wait_optimizer_runs(client, user, 2)
    assert [r["status"] for r in runs] == ["success", "success"]
    history = PromptRegistry(server.url).history(user)
    numbers = sorted(v.version for v in history)
    assert numbers == list(range(1, len(numbers) + 1))  # contiguous: no number taken twice
    assert len(numbers) >= 2
    assert [v.version for v in history if v.status == "active"] == [numbers[-1]]
    by_number = {v.version: v for v in history}
    for number in numbers[1:]:  # one line of versions, each from the one before
        assert by_number[number].parent == number - 1
    final = _queued(client, user)
    assert final["prompt_versions"] == {"system": numbers[-1]}
    assert all(rule in _reply(final) for rule in rules)


def test_dashboard_reviews_the_deployed_agent(server: Server) -> None:
    from urllib.parse import quote

    from starlette.testclient import TestClient

    from langchain_prompt_optimization.review.dashboard import create_app

    user = f"fay.{uuid.uuid4().hex[:6]}@example.com"
    _learn_by_route(server, user, "Always sign as Fay.")
    token = "deployed-dashboard-token"
    web = TestClient(create_app(server.url, token=token))
    label = UserRef.of(user).label
    assert user in web.get("/users", params={"q": user}).text
    lineage = web.get(f"/user?u={quote(label, safe='')}")
    assert lineage.status_code == 200
    assert "Always sign as Fay." in lineage.text
    for page in ("/queue", "/quarantined", "/paused"):  # searches across the whole prefix
        assert web.get(page).status_code == 200
    response = web.post(
        "/act/rollback",
        data={"u": label, "p": "system", "version": "1", "note": "from the dashboard"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["ok"] is True, response.text
    after = _run(get_sync_client(url=server.url), user, how="configurable")
    assert after["prompt_versions"] == {"system": 3}
    assert PromptRegistry(server.url).current(user).review["note"] == "from the dashboard"
