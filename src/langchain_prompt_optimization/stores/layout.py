"""`StoreLayout`: the one facade over every namespace, key and read/write of the package.

The layout is documented in `stores.labels`; each responsibility lives in its own module
and `StoreLayout` composes them:

- `stores.labels` — user labels, `UserRef`, namespaces and keys (`Namespaces`)
- `stores.directory` — users and the recorded configuration (`Directory`)
- `stores.leases` — the lineage owner's lease (`LeaseJobs`) and its backends
- `stores.feedback_queue` — feedback records and the pending-work index (`FeedbackQueue`)
- `stores.evaluation_queue` — runs queued for the workers' evaluators (`EvaluationQueue`)
- `stores.runs` — pinning, capturing, resolving and pruning runs (`Runs`)
- `stores.examples` — evaluation-gate examples (`Examples`)
- `stores.scores` — score stats and monitoring reads (`Scores`)
- `stores.lineage` — pointers, versions, committing an optimization (`Lineage`)
- `stores.transitions` — review, rollback, auto-rollback, resume, rebase (`Transitions`)
- `stores.overview` — reads across users: user summaries, pending versions, quarantined
  feedback and paused lineages everywhere (`Overview`)
- `stores.usage` — the usage ledger of optimizations' model calls (`UsageLedger`)
"""

from __future__ import annotations

from langchain_prompt_optimization.stores.labels import (
    DEFAULT_PREFIX,
    UserRef,
    decode_label,
    encode_label,
)
from langchain_prompt_optimization.stores.lineage import NewVersion
from langchain_prompt_optimization.stores.overview import Overview
from langchain_prompt_optimization.stores.records import ActivePrompt
from langchain_prompt_optimization.stores.runs import PinResult, Runs
from langchain_prompt_optimization.stores.transitions import Transitions
from langchain_prompt_optimization.stores.usage import UsageLedger

__all__ = [
    "DEFAULT_PREFIX",
    "ActivePrompt",
    "NewVersion",
    "PinResult",
    "StoreLayout",
    "UserRef",
    "decode_label",
    "encode_label",
]


class StoreLayout(Transitions, Runs, Overview, UsageLedger):
    """Every namespace, key and record shape of the package, over any `BaseStore`.

    Methods return jobs (see `stores.io`): drive them with `drive(job, store)` or
    `await adrive(job, store)`.

    Args:
        prefix: Namespace prefix all records live under.

    Raises:
        ValueError: If `prefix` is empty or has a label BaseStore rejects.
    """
