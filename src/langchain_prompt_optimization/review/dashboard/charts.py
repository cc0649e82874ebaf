"""Server-side SVG charts: monitoring score by version over time, feedback volume per day.

Pure functions from data to an SVG string; every text in the picture is escaped here, so
the templates may embed the result as is.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "MARKER_COLORS",
    "STATUS_COLORS",
    "Marker",
    "ServedVersion",
    "feedback_chart",
    "score_chart",
]

logger = logging.getLogger(__name__)

MarkerKind = Literal["activation", "rollback", "pause"]

MARKER_COLORS: dict[str, str] = {
    "activation": "#2e7d32",
    "rollback": "#c62828",
    "pause": "#ef6c00",
}
STATUS_COLORS: dict[str, str] = {
    "pending": "#1565c0",
    "consumed": "#2e7d32",
    "quarantined": "#ef6c00",
    "discarded": "#757575",
    "failed": "#c62828",
}
_OTHER_STATUS_COLOR = "#6a1b9a"

_W, _H = 720, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 16, 48
_MAX_DAYS = 60


@dataclass(frozen=True, slots=True)
class ServedVersion:
    """A version from the moment it was served: its monitoring mean (`None`: no scored
    feedback yet) over `n` scored runs."""

    version: int
    served_at: datetime
    mean: float | None
    n: int


@dataclass(frozen=True, slots=True)
class Marker:
    """An event drawn as a vertical line: an activation, a rollback or a pause, at the slot
    of the version it served (`version`)."""

    version: int
    at: datetime
    kind: MarkerKind
    label: str


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _frame(title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" '
        f'class="chart" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, message: str) -> str:
    return _frame(
        title,
        [
            f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle" class="empty">'
            f"{_e(message)}</text>"
        ],
    )


def score_chart(
    served: Sequence[ServedVersion], markers: Sequence[Marker], *, now: datetime
) -> str:
    """Monitoring score by version over time, as an SVG step chart.

    The served versions follow each other left to right in the order they were served, one
    equal slot each (versions may be seconds or weeks apart; each slot is labelled with
    when it began); a version is a horizontal segment at its mean score. Activations,
    rollbacks and pauses are vertical lines at the start of the slot they happened in.

    Args:
        served: The versions that were served.
        markers: Events to mark.
        now: When the last version's slot ends (the right edge's label).
    """
    title = "Monitoring score by version over time"
    if not served:
        return _empty(title, "no version served yet")
    ordered = sorted(served, key=lambda s: (s.served_at, s.version))
    slots = {entry.version: index for index, entry in enumerate(ordered)}
    means = [s.mean for s in ordered if s.mean is not None]
    low, high = min([0.0, *means]), max([1.0, *means])
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / len(ordered)

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - (value - low) / (high - low))

    body = [
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - _RIGHT}" y2="{_TOP + plot_h}" '
        'class="axis"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" class="axis"/>',
    ]
    for tick in (low, (low + high) / 2, high):
        body.append(
            f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">'
            f"{tick:.2g}</text>"
        )
    show_every = max(1, int(110 // slot) + 1)  # time labels that do not overlap
    for index, entry in enumerate(ordered):
        if index % show_every == 0:
            body.append(
                f'<text x="{_LEFT + index * slot + 2:.1f}" y="{_H - 30}" class="tick">'
                f"{_e(_when(entry.served_at))}</text>"
            )
    body.append(
        f'<text x="{_W - _RIGHT}" y="{_H - 18}" text-anchor="end" class="tick">'
        f"now {_e(_when(now))}</text>"
    )
    stacked: Counter[int] = Counter()
    for marker in sorted(markers, key=lambda m: m.at):
        index = slots.get(marker.version, 0)
        mx = _LEFT + index * slot + 4 * stacked[index]  # side by side when they coincide
        stacked[index] += 1
        body.append(
            f'<line x1="{mx:.1f}" y1="{_TOP}" x2="{mx:.1f}" y2="{_TOP + plot_h}" '
            f'stroke="{MARKER_COLORS[marker.kind]}" class="marker {marker.kind}">'
            f"<title>{_e(marker.label)} ({_e(_when(marker.at))})</title></line>"
        )
    for index, entry in enumerate(ordered):
        x1, x2 = _LEFT + index * slot, _LEFT + (index + 1) * slot
        label = f"v{entry.version}: " + (
            f"mean {entry.mean:.2f} over {entry.n} scored run(s)"
            if entry.mean is not None
            else "no scored feedback"
        )
        vy = y(entry.mean) if entry.mean is not None else _TOP + plot_h
        kind = "score" if entry.mean is not None else "unscored"
        body.append(
            f'<line x1="{x1:.1f}" y1="{vy:.1f}" x2="{x2:.1f}" y2="{vy:.1f}" class="{kind}">'
            f"<title>{_e(label)}</title></line>"
            f'<text x="{x1 + 8:.1f}" y="{max(vy - 6, _TOP + 10):.1f}" class="label">'
            f"v{entry.version}{'' if entry.mean is not None else ' (unscored)'}</text>"
        )
        if entry.mean is not None:
            body.append(
                f'<circle cx="{x1 + 4:.1f}" cy="{vy:.1f}" r="4" class="point">'
                f"<title>{_e(label)}</title></circle>"
            )
    body += _legend(
        [(kind, color) for kind, color in MARKER_COLORS.items()] + [("score", "#37474f")]
    )
    return _frame(title, body)


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    lx = _LEFT
    for name, color in entries:
        parts.append(
            f'<rect x="{lx}" y="{_H - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{_H - 5}" class="legend">{_e(name)}</text>'
        )
        lx += 24 + 8 * len(name)
    return parts


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def feedback_chart(items: Iterable[tuple[datetime, str]], *, today: date) -> str:
    """Feedback volume per day as SVG stacked bars, one colour per status.

    Args:
        items: `(created_at, status)` of each feedback item.
        today: The last day shown; at most the 60 days before it are drawn.
    """
    title = "Feedback per day"
    counts: Counter[tuple[date, str]] = Counter()
    for created_at, status in items:
        counts[(created_at.date(), status)] += 1
    if not counts:
        return _empty(title, "no feedback yet")
    first = max(min(day for day, _ in counts), today - timedelta(days=_MAX_DAYS - 1))
    last = max(today, max(day for day, _ in counts))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    statuses = sorted(
        {status for _, status in counts},
        key=lambda s: (list(STATUS_COLORS).index(s) if s in STATUS_COLORS else 99, s),
    )
    totals = {day: sum(counts[(day, s)] for s in statuses) for day in days}
    peak = max(totals.values()) or 1
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / len(days)
    bar = min(max(1.0, slot * 0.8), 28.0)
    body = [
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - _RIGHT}" y2="{_TOP + plot_h}" '
        'class="axis"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + plot_h + 4}" text-anchor="end" class="tick">0</text>',
        f'<text x="{_LEFT}" y="{_H - 28}" class="tick">{first.isoformat()}</text>',
        f'<text x="{_W - _RIGHT}" y="{_H - 28}" text-anchor="end" class="tick">'
        f"{last.isoformat()}</text>",
    ]
    for index, day in enumerate(days):
        base = float(_TOP + plot_h)
        for status in statuses:
            count = counts[(day, status)]
            if not count:
                continue
            height = plot_h * count / peak
            base -= height
            color = STATUS_COLORS.get(status, _OTHER_STATUS_COLOR)
            body.append(
                f'<rect x="{_LEFT + index * slot:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{color}" class="bar {_e(status)}">'
                f"<title>{day.isoformat()}: {count} {_e(status)}</title></rect>"
            )
    body += _legend([(s, STATUS_COLORS.get(s, _OTHER_STATUS_COLOR)) for s in statuses])
    return _frame(title, body)
