"""Evaluation-gate examples: the reference runs a lineage's candidates are replayed on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import Namespaces
from langchain_prompt_optimization.stores.records import Example

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = ["Examples"]


class Examples(Namespaces):
    """A lineage's evaluation-gate examples, as `StoreLayout` jobs."""

    def examples(self, owner: UserRef) -> Job[list[Example]]:
        """The lineage's evaluation-gate examples, newest first."""
        items = yield from self._search_all(self._examples_ns(owner), None)
        examples = [Example.from_json(item.value) for item in items]
        return sorted(examples, key=lambda e: (e.created_at, e.id), reverse=True)

    def add_example(self, owner: UserRef, example: Example) -> Job[Example]:
        """Store a reference trajectory for the lineage's evaluation gate."""
        yield from batch([PutOp(self._examples_ns(owner), example.id, example.to_json())])
        return example

    def delete_example(self, owner: UserRef, example_id: str) -> Job[bool]:
        """Delete an example; `False` if there was none with this id."""
        ns = self._examples_ns(owner)
        (item,) = yield from batch([GetOp(ns, example_id)])
        if not isinstance(item, Item):
            return False
        yield from batch([PutOp(ns, example_id, None)])
        return True

    def _example_ops(
        self, owner: UserRef, new: Sequence[Example], dropped: Sequence[str]
    ) -> list[Op]:
        """Writes adding `new` examples and deleting the `dropped` ids."""
        ns = self._examples_ns(owner)
        ops: list[Op] = [PutOp(ns, e.id, e.to_json()) for e in new]
        ops += [PutOp(ns, key, None) for key in dropped]
        return ops
