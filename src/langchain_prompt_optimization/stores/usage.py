"""The usage ledger: one record per optimization (or evaluation) that called a model.

```
(*prefix, "%%usage", "h", <hour>)   key <charge id>  -> UsageCharge
(*prefix, "%%usage", "d", <day>)    key <charge id>  -> UsageCharge (the same record)
```

`<hour>` is the UTC hour the optimization started (`20261130T07`), `<day>` its UTC day
(`20261130`); each record is written to both, in one batch. A record is written `reserved`
(with the estimate) before a budgeted optimization's first model call and rewritten
`charged` (with what was counted) when it ends; an optimization without a budget writes only
the `charged` record. A window (`"1h"` to `"23h"`, or whole days `"1d"`, `"7d"`, `"48h"`,
aligned to the Unix epoch, so a day starts at 00:00 UTC) is the sum of its hours' (shorter
than a day) or days' records, read in one round trip. Every record is its own key, so
concurrent writers never lose one another's charges.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from langgraph.store.base import Op, PutOp

from langchain_prompt_optimization.stores.io import batch, search_each
from langchain_prompt_optimization.stores.labels import Namespaces

if TYPE_CHECKING:
    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = [
    "HOUR",
    "ChargeState",
    "UsageCharge",
    "UsageLedger",
    "UsageWindow",
    "parse_window",
]

HOUR = 3_600
DAY = 24 * HOUR
_USAGE = "%%usage"
_WINDOW = re.compile(r"([1-9][0-9]{0,4})([hd])")
_MAX_WINDOW_HOURS = 24 * 366
ChargeState = Literal["reserved", "charged"]


def parse_window(spec: object, *, name: str = "window") -> int:
    """The length in seconds of a window spec: 1 to 23 hours (`"1h"`, `"12h"`) or a whole
    number of days (`"1d"`, `"7d"`, `"48h"`), at most a year.

    Raises:
        ValueError: On anything else, naming `name` and the value given.
    """
    found = _WINDOW.fullmatch(spec) if isinstance(spec, str) else None
    hours = 0
    if found is not None:
        hours = int(found.group(1)) * (24 if found.group(2) == "d" else 1)
    if not 0 < hours <= _MAX_WINDOW_HOURS or (hours > 24 and hours % 24):
        msg = (
            f"{name} must be 1 to 23 hours or a whole number of days, such as '1h', '12h', "
            f"'1d' or '7d' (at most 366d); got {spec!r}"
        )
        raise ValueError(msg)
    return hours * HOUR


@dataclass(frozen=True, slots=True)
class UsageWindow:
    """One fixed window of usage: `span` (as given, e.g. `"1d"`) starting at `start` (UTC).

    Attributes:
        span: The window spec.
        start: When it starts (aligned to the Unix epoch: a `"1d"` window at 00:00 UTC).
        seconds: Its length.
    """

    span: str
    start: datetime
    seconds: int

    @classmethod
    def at(cls, span: str, now: float) -> UsageWindow:
        """The `span` window holding the Unix time `now`.

        Raises:
            ValueError: If `span` is not a window spec (`parse_window`).
        """
        seconds = parse_window(span)
        start = int(now // seconds) * seconds
        return cls(span, datetime.fromtimestamp(start, UTC), seconds)

    @property
    def end(self) -> datetime:
        """When the next window starts."""
        return self.start + timedelta(seconds=self.seconds)

    def buckets(self) -> list[tuple[str, str]]:
        """The ledger buckets the window sums: its days, or its hours when shorter than a
        day."""
        if self.seconds % DAY == 0:
            days = range(self.seconds // DAY)
            return [("d", _day(self.start + timedelta(days=d))) for d in days]
        hours = range(self.seconds // HOUR)
        return [("h", _hour(self.start + timedelta(hours=h))) for h in hours]


def _hour(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H")


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class UsageCharge:
    """One optimization's model usage in the ledger.

    Attributes:
        owner: The lineage owner's label.
        user_id: The lineage owner's user id (`None`: the default or global lineage).
        state: `reserved` (an estimate, written before a budgeted optimization's first
            model call) or `charged` (what was counted).
        usage: `calls`, `input_tokens`, `output_tokens` and `<source>_calls`.
        status: The optimization's outcome (`charged` records).
        started_at: When the optimization started (its hour bucket).
        id: The record key.
    """

    owner: str
    user_id: str | None
    state: ChargeState
    usage: dict[str, int]
    status: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        """The record stored."""
        return {
            "owner": self.owner,
            "user_id": self.user_id,
            "state": self.state,
            "usage": dict(self.usage),
            "status": self.status,
            "started_at": self.started_at.isoformat(),
        }

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> UsageCharge:
        """A record as stored (unknown usage values read as 0)."""
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        state = data.get("state")
        return cls(
            owner=str(data.get("owner", "")),
            user_id=data.get("user_id") if isinstance(data.get("user_id"), str) else None,
            state="reserved" if state == "reserved" else "charged",
            usage={
                str(k): int(v)
                for k, v in (usage or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            },
            status=data.get("status") if isinstance(data.get("status"), str) else None,
            started_at=_parsed_time(data.get("started_at")),
            id=key,
        )


def _parsed_time(value: object) -> datetime:
    """A stored time; an unreadable one reads as the Unix epoch (never a crash)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class UsageLedger(Namespaces):
    """The usage ledger, as `StoreLayout` jobs."""

    def _usage_ns(self, bucket: tuple[str, str]) -> tuple[str, ...]:
        return (*self.prefix, _USAGE, *bucket)

    def _charge_ops(self, charge: UsageCharge, value: dict[str, Any] | None) -> list[Op]:
        at = charge.started_at
        return [
            PutOp(self._usage_ns(bucket), charge.id, value)
            for bucket in (("h", _hour(at)), ("d", _day(at)))
        ]

    def put_usage_charge(self, charge: UsageCharge) -> Job[None]:
        """Write (or rewrite) a charge under the hour and the day its optimization started."""
        yield from batch(self._charge_ops(charge, charge.to_json()))

    def delete_usage_charge(self, charge: UsageCharge) -> Job[None]:
        """Withdraw a charge (a reservation that did not fit)."""
        yield from batch(self._charge_ops(charge, None))

    def usage_charges(self, window: UsageWindow, owner: UserRef | None) -> Job[list[UsageCharge]]:
        """The charges of `window` (of one lineage owner, or all with `None`), its buckets'
        pages read together."""
        query = None if owner is None else {"owner": owner.label}
        found = yield from search_each([(self._usage_ns(b), query) for b in window.buckets()])
        return [UsageCharge.from_json(item.key, item.value) for items in found for item in items]
