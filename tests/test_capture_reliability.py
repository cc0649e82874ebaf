"""Every capture lands or is reported: storable text, any user id, refused writes set aside."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import pytest
from langgraph.store.base import PutOp

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.stores.buffer import WriteBuffer
from langchain_prompt_optimization.stores.text import storable, storable_text
from langchain_prompt_optimization.testing import InstrumentedStore

from .conftest import make_harness

HOSTILE_USER = "jane\x00\ud83d.doe%41"
HOSTILE_TEXT = "Write to Bob \ud83d about the \x00 report \ud83d\ude00."
STORED_TEXT = "Write to Bob \ufffd about the \ufffd report \U0001f600."


def _trajectories(store: Any, user: str | None) -> dict[str, Any]:
    layout = StoreLayout()
    namespace = (*layout.prefix, UserRef.of(user).label, "trajectories")
    return {item.key: item.value for item in drive(layout._search_all(namespace, None), store)}


def _human_texts(record: dict[str, Any]) -> list[str]:
    return [m["data"]["content"] for m in record["messages"] if m["type"] == "human"]


def test_the_rule_replaces_nul_and_lone_surrogates_and_keeps_pairs() -> None:
    assert storable_text("a\x00b\ud83dc\ud83d\ude00d\ude00") == "a\ufffdb\ufffdc\U0001f600d\ufffd"
    assert storable({"k\x00": ("x\ud800", [1, None, {"y": "\x00"}])}) == {
        "k\ufffd": ["x\ufffd", [1, None, {"y": "\ufffd"}]]
    }
    clean = "plain text"
    assert storable_text(clean) is clean


def test_the_rule_handles_any_depth_without_recursion() -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(50_000):
        inner.append([])
        inner = inner[0]
    inner.append("\x00")
    out = storable(deep)
    for _ in range(50_000):
        out = out[0]
    assert out == ["\ufffd"]


def test_a_run_with_unstorable_text_and_user_id_is_recorded(store: Any) -> None:
    h = make_harness(store)
    result = h.ask(HOSTILE_USER, HOSTILE_TEXT, config={"configurable": {"thread_id": "t\x00"}})
    assert h.middleware.buffered_writes == 0
    assert h.middleware.rejected_writes == 0
    records = _trajectories(store, HOSTILE_USER)
    assert list(records) == [result["trajectory_id"]]
    assert _human_texts(records[result["trajectory_id"]]) == [STORED_TEXT]
    assert HOSTILE_USER in PromptRegistry(store).users()  # the exact id, from its label
    h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
    h.ask(HOSTILE_USER)
    assert PromptRegistry(store).current(HOSTILE_USER).version == 2


async def test_async_run_with_unstorable_text_and_user_id_is_recorded(store: Any) -> None:
    h = make_harness(store)
    result = await h.aask(HOSTILE_USER, HOSTILE_TEXT)
    assert h.middleware.buffered_writes == 0
    assert h.middleware.rejected_writes == 0
    records = _trajectories(store, HOSTILE_USER)
    assert _human_texts(records[result["trajectory_id"]]) == [STORED_TEXT]
    assert HOSTILE_USER in await PromptRegistry(store).ausers()


def test_user_ids_of_any_unicode_keep_their_own_namespace(store: Any) -> None:
    h = make_harness(store)
    ids = ["a\x00", "a\ufffd", "a\ud800", "a\udc00", "\ud83d\ude00", "a%u0041", "a%41", "a.b"]
    for user in ids:
        h.ask(user)
    assert sorted(u for u in PromptRegistry(store).users() if u is not None) == sorted(ids)
    for user in ids:
        assert UserRef.from_label(UserRef.of(user).label).user_id == user
        assert len(_trajectories(store, user)) == 1


class RefusingStore(InstrumentedStore):
    """Refuses any put whose value mentions `POISON`, as a backend refuses a record."""

    def _check(self, ops: Any) -> None:
        for op in ops:
            if isinstance(op, PutOp) and op.value is not None and "POISON" in repr(op.value):
                raise DataError("value cannot be stored")

    def batch(self, ops: Any) -> Any:
        ops = list(ops)
        if not self.down:
            self._check(ops)
        return super().batch(ops)

    async def abatch(self, ops: Any) -> Any:
        ops = list(ops)
        if not self.down:
            self._check(ops)
        return await super().abatch(ops)


class DataError(Exception):
    """Named like the DB-API error a driver raises for a value it cannot store."""


def test_a_refused_capture_is_set_aside_and_later_captures_land(store: Any, caplog: Any) -> None:
    refusing = RefusingStore(store)
    h = make_harness(refusing)
    first = h.ask("jane")["trajectory_id"]
    refusing.down = True
    poisoned = h.ask("jane", "POISON")["trajectory_id"]  # buffered during the outage
    during = [h.ask("jane")["trajectory_id"] for _ in range(2)]
    assert h.middleware.buffered_writes == 3
    refusing.down = False
    with caplog.at_level(logging.ERROR):
        after = h.ask("jane")["trajectory_id"]
    assert h.middleware.buffered_writes == 0
    assert h.middleware.rejected_writes == 1
    assert sorted(_trajectories(store, "jane")) == sorted([first, *during, after])
    (rejected,) = h.middleware.rejected_write_details
    assert "DataError: value cannot be stored" in rejected.error
    assert any(isinstance(op, PutOp) and op.key == poisoned for op in rejected.ops)
    assert "refused a run's capture" in caplog.text
    refusing.down = True  # a later outage: its captures land too
    later = h.ask("jane")["trajectory_id"]
    refusing.down = False
    assert h.middleware.flush_writes() == 1
    assert later in _trajectories(store, "jane")


async def test_async_refused_capture_is_set_aside_and_later_captures_land(store: Any) -> None:
    refusing = RefusingStore(store)
    h = make_harness(refusing)
    await h.aask("jane", "POISON")  # refused while the store answers: set aside at once
    assert h.middleware.rejected_writes == 1
    assert h.middleware.buffered_writes == 0
    refusing.down = True
    during = [
        (await h.aask("jane", "POISON" if i == 1 else "hi"))["trajectory_id"] for i in range(3)
    ]
    refusing.down = False
    assert await h.middleware.aflush_writes() == 2
    assert h.middleware.rejected_writes == 2
    assert sorted(_trajectories(store, "jane")) == sorted([during[0], during[2]])


@pytest.mark.parametrize("poison", ["\ud83d", "\x00"])
def test_buffered_records_with_unstorable_text_all_land(store: Any, poison: str) -> None:
    """The issue's case at the buffer: a record holding text a backend refuses (SQLite: a
    lone surrogate; PostgreSQL: NUL) no longer blocks the flush: every record lands."""
    buffer = WriteBuffer(10)
    for key in ("a", "bad", "b"):
        buffer.add([PutOp(("t",), key, {"text": poison if key == "bad" else "ok"})])
    assert drive(buffer.flush(), store) == 3
    assert len(buffer) == 0
    assert buffer.rejected_count == 0
    bad = store.get(("t",), "bad")
    assert bad is not None
    assert bad.value == {"text": "\ufffd"}


_VALUES = [
    {"text": "clean", "n": [1, 2.5, None, True]},
    {"text": "a\x00b"},
    {"text": "x\ud83dy"},
    {"pair": "\ud83d\ude00"},
    {1: "int key", "t": ("a", "b")},
    {"deep": [[[[["\x00"]]]]] * 3},
    {"big": 2**80, "when": datetime(2026, 1, 1)},
]


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "json"])
def test_storable_ops_give_the_same_records_with_and_without_orjson(monkeypatch, fast):
    """The clean check is only a shortcut: with orjson or the standard library, every record
    is stored as the rule's plain walk makes it, and a clean one is not copied."""
    from langgraph.store.base import PutOp

    from langchain_prompt_optimization.stores import text

    with monkeypatch.context() as walk:
        walk.setattr(text, "_clean", lambda value: False)  # always the copying walk
        expected = [text.storable(value) for value in _VALUES]
    if not fast:
        monkeypatch.setattr(text, "orjson", None)
    got = [op.value for op in text.storable_ops([PutOp(("ns",), "k", v) for v in _VALUES])]
    assert _as_json(got) == _as_json(expected)  # as stored: a kept tuple is written as a list
    clean = {"text": "clean", "list": [1, 2]}
    (op,) = text.storable_ops([PutOp(("ns",), "k", clean)])
    assert op.value is clean
