"""Pinned prompt texts in process memory (the run state holds only versions and hashes)."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from langchain_prompt_optimization.stores.records import content_hash

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PromptTexts", "is_text_hash"]

logger = logging.getLogger(__name__)

_HASH: Final = re.compile(r"[0-9a-f]{64}")


def is_text_hash(value: str) -> bool:
    """Whether a pinned value is a content hash (a checkpoint written by an earlier release
    holds the text itself)."""
    return _HASH.fullmatch(value) is not None


class PromptTexts:
    """The texts the run state refers to by `(owner, prompt, version)` and content hash.

    Filled when a run is pinned (and when this process activates a version); a run resumed
    in a process that never pinned it misses, and the next model call reads the missing versions
    in one store batch. Two bounded maps: by version (shared by every run of a lineage) and
    by run (what the pin read, so a run keeps its texts even if the version map evicts them
    mid-run).

    Args:
        max_versions: Texts kept by version.
        max_runs: Runs whose pinned texts are kept.
    """

    def __init__(self, *, max_versions: int = 4_096, max_runs: int = 1_024) -> None:
        self._by_version: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self._by_run: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._max_versions = max_versions
        self._max_runs = max_runs
        self._lock = threading.Lock()

    def remember(
        self,
        owner: str,
        run: str | None,
        versions: Mapping[str, int],
        texts: Mapping[str, str],
    ) -> None:
        """Keep the texts pinned for a run (`texts`: by prompt name) of lineage `owner`."""
        with self._lock:
            for name, text in texts.items():
                self._put((owner, name, versions.get(name, 0)), text)
            if run is not None:
                self._by_run[run] = dict(texts)
                self._by_run.move_to_end(run)
                while len(self._by_run) > self._max_runs:
                    self._by_run.popitem(last=False)

    def remember_versions(self, owner: str, texts: Mapping[tuple[str, int], str]) -> None:
        """Keep texts read or written by version."""
        with self._lock:
            for (name, version), text in texts.items():
                self._put((owner, name, version), text)

    def _put(self, key: tuple[str, str, int], text: str) -> None:
        self._by_version[key] = text
        self._by_version.move_to_end(key)
        while len(self._by_version) > self._max_versions:
            self._by_version.popitem(last=False)

    def lookup(
        self, owner: str, run: str | None, name: str, version: int, text_hash: str
    ) -> str | None:
        """The text with `text_hash` pinned for `name`, or `None` if this process lacks it."""
        with self._lock:
            candidates = [
                (self._by_run.get(run) or {}).get(name) if run is not None else None,
                self._by_version.get((owner, name, version)),
            ]
        for text in candidates:
            if text is not None and content_hash(text) == text_hash:
                return text
        return None
