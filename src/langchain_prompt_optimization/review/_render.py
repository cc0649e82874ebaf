"""How `promptopt` shows results in a terminal: tables that stay readable at any width.

A table is printed only when every column fits whole: free-text columns (a reason, a feedback
text) are never squeezed or cut. When the width (the terminal's, `$COLUMNS`, or 80 without a
terminal) is too small, low-value columns are dropped first; if the text still does not fit,
each row is printed as a record: its short fields on one line, each text field on its own line.
A title is never cut (one wider than the table is printed whole, left-aligned), and an empty
list prints one plain line saying so instead of an empty table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text

from langchain_prompt_optimization.optimizer.learned_section import section_content

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from langchain_prompt_optimization.optimizer.budget import UsageReport
    from langchain_prompt_optimization.stores import Example, FeedbackItem, PromptVersion

__all__ = [
    "Column",
    "canary_line",
    "feedback_json",
    "print_examples",
    "print_feedback",
    "print_history",
    "print_table",
    "print_usage",
    "print_users",
    "render_diff",
    "render_version",
    "screening_summary",
    "short_trajectory_id",
    "shown",
    "version_json",
]

MIN_CUT_WIDTH = 20
"""A column that may be cut (with "…") is never narrower than this."""

DEFAULT_USER_LABEL = "- (default namespace)"


@dataclass(frozen=True)
class Column:
    """A table column.

    Args:
        header: The column title.
        text: Free text (shown whole: it wraps into a record layout rather than being cut).
        cut: Already a summary: may be shortened with "…" down to `MIN_CUT_WIDTH`.
        drop: 0 for a column always shown; otherwise dropped when the table is too wide,
            highest first. Optional columns that are empty in every row are never shown.
    """

    header: str
    text: bool = False
    cut: bool = False
    drop: int = 0


Cell = str | Text


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _natural(column: Column, cells: Sequence[Cell]) -> int:
    lines = [line for cell in cells for line in _plain(cell).splitlines()]
    return max([cell_len(column.header), *(cell_len(line) for line in lines)])


def _needed(columns: Sequence[Column], widths: Sequence[int]) -> int:
    """Width of a rich table (heavy box: a border between columns, one space of padding)."""
    content = sum(
        min(w, MIN_CUT_WIDTH) if c.cut else w for c, w in zip(columns, widths, strict=True)
    )
    return content + 3 * len(columns) + 1


def print_table(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    caption: Text | None = None,
    empty: str | None = None,
) -> None:
    """Print `rows` as a table if it fits the console's width, else as records (see module).

    With no rows, prints the one line `empty` (default: `<title>: none`) and the caption.
    """
    if not rows:
        console.print(Text(empty or f"{title}: none"), soft_wrap=True)
        if caption is not None:
            console.print(caption, soft_wrap=True)
        return
    keep = [
        i
        for i, column in enumerate(columns)
        if column.drop == 0 or any(_plain(row[i]).strip() for row in rows)
    ]
    widths = {i: _natural(columns[i], [row[i] for row in rows]) for i in keep}

    def fits(indices: list[int]) -> bool:
        chosen = [columns[i] for i in indices]
        return _needed(chosen, [widths[i] for i in indices]) <= console.width

    for i in sorted((i for i in keep if columns[i].drop), key=lambda i: -columns[i].drop):
        if fits(keep):
            break
        keep.remove(i)
    if fits(keep):
        slack = console.width - _needed([columns[i] for i in keep], [widths[i] for i in keep])
        sized: list[tuple[str, int]] = []
        for i in keep:
            column, width = columns[i], widths[i]
            if column.cut and width > MIN_CUT_WIDTH:  # cut columns share what is left over
                extra = min(width - MIN_CUT_WIDTH, max(slack, 0))
                slack -= extra
                width = MIN_CUT_WIDTH + extra
            sized.append((column.header, width))
        cells = [[_text(row[i]) for i in keep] for row in rows]
        for drawn in _table_lines(title, sized, cells, caption):
            console.print(drawn, soft_wrap=True)
        return
    console.print(Text(title, style="bold"))
    if caption is not None:
        console.print(caption)
    shown_columns = [i for i in range(len(columns)) if i in keep or columns[i].drop]
    for row in rows:
        head = Text()
        for i in (i for i in shown_columns if not _own_line(columns[i]) and _plain(row[i]).strip()):
            if head:
                head.append("  ")
            head.append(f"{columns[i].header} ", style="dim")
            head.append_text(_text(row[i]))
        console.print(head, soft_wrap=True)
        for i in (i for i in shown_columns if _own_line(columns[i]) and _plain(row[i]).strip()):
            lines = _plain(row[i]).splitlines() or [""]
            console.print(
                Text.assemble(("  " + columns[i].header + ": ", "dim"), lines[0]), soft_wrap=True
            )
            for line in lines[1:]:
                console.print(Text("    " + line), soft_wrap=True)


def _own_line(column: Column) -> bool:
    """In the record layout, text and cut columns get a line each."""
    return column.text or column.cut


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def _table_lines(
    title: str, sized: list[tuple[str, int]], rows: list[list[Text]], caption: Text | None
) -> list[Text]:
    """A table drawn like rich's default (heavy head box), one `Text` per line.

    Drawn here rather than by `rich.table.Table`: the widths are already decided, and rich's
    measuring pass costs more than the rest of a `promptopt users` run.
    """
    widths = [width for _, width in sized]
    total = sum(widths) + 3 * len(widths) + 1

    def rule(left: str, mid: str, right: str, fill: str) -> Text:
        return Text(left + mid.join(fill * (w + 2) for w in widths) + right)

    def row_lines(cells: list[Text], edge: str, style: str = "") -> list[Text]:
        split = [cell.split("\n", allow_blank=True) for cell in cells]
        height = max((len(lines) for lines in split), default=1)
        out = []
        for n in range(height):
            line = Text(edge)
            for lines, width in zip(split, widths, strict=True):
                part = lines[n].copy() if n < len(lines) else Text()
                part.truncate(width, overflow="ellipsis", pad=True)
                if style:
                    part.stylize(style)
                line.append(" ")
                line.append_text(part)
                line.append(" " + edge)
            out.append(line)
        return out

    lines = [Text(title, style="italic")]
    if cell_len(title) < total:  # centred over the table; a wider title is printed whole
        lines[0].align("center", total)
    lines.append(rule("┏", "┳", "┓", "━"))
    lines += row_lines([Text(header) for header, _ in sized], "┃", "bold")
    lines.append(rule("┡", "╇", "┩", "━"))
    for cells in rows:
        lines += row_lines(cells, "│")
    lines.append(rule("└", "┴", "┘", "─"))
    if caption is not None:
        below = caption.copy()
        below.align("center", total)
        lines.append(below)
    return lines


# -- JSON shapes -----------------------------------------------------------------------------


def version_json(version: PromptVersion) -> dict[str, Any]:
    """The documented JSON shape of a version."""
    return {
        "prompt": version.prompt,
        "version": version.version,
        "status": version.status,
        "text": version.text,
        "created_at": version.created_at.isoformat(),
        "reason": version.reason,
        "parent": version.parent,
        "feedback_ids": list(version.feedback_ids),
        "optimizer_kind": version.optimizer_kind,
        "content_hash": version.content_hash,
        "base_hash": version.base_hash,
        "usage": version.usage,
        "review": version.review,
        "scores": version.scores,
        "flagged": version.flagged,
        "hold": version.flagged,  # deprecated: the name before the rename, kept one release
        "verdicts": [dict(v) for v in version.verdicts],
        "canary": version.canary,
        "learned_section": section_content(version.text),
    }


def feedback_json(item: FeedbackItem) -> dict[str, Any]:
    """The documented JSON shape of a feedback item."""
    data = item.to_json()
    data.pop("user_label", None)
    data["hold_reason"] = item.quarantine_reason  # deprecated name, kept one release
    return data


# -- commands' human output ------------------------------------------------------------------


def shown(user: str | None) -> str:
    """How a user id is named in titles."""
    return user if user is not None else "(default namespace)"


def short_trajectory_id(trajectory_id: str) -> str:
    """The 8 characters the CLI prints for a trajectory id: the start of its run part (a
    trajectory id is `<user digest>-<run>`, and the digest is the same for all of a user's
    runs). `promptopt feedback --trajectory` accepts it back."""
    _, sep, run = trajectory_id.partition("-")
    return (run if sep else trajectory_id)[:8]


def _status_style(status: str) -> str:
    return {
        "active": "bold green",
        "pending": "yellow",
        "canary": "cyan",
        "rejected": "red",
        "failed": "red",
        "superseded": "dim",
        "inactive": "dim",
    }.get(status, "")


def _last_line(text: str, width: int = 60) -> str:
    """The last non-blank line (of the learned section's content, if there is one)."""
    content = section_content(text)
    text = text if content is None else content
    line = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _gate_scores(v: PromptVersion) -> str:
    """`candidate/active (examples)` when the evaluation gate scored the version."""
    scores = v.scores or {}
    if "candidate" not in scores:
        return ""
    return f"{scores['candidate']:.2f}/{scores['active']:.2f} ({scores.get('examples', 0)})"


def screening_summary(v: PromptVersion) -> str:
    """The screeners' verdict in a word: `pass`, `hold: model (exfiltration)`, or `""` when
    no screener saw the version."""
    if not v.verdicts:
        return ""
    held = next((x for x in v.verdicts if x.get("verdict") == "hold"), None)
    if held is None:
        return "pass"
    category = held.get("category")
    return f"hold: {held.get('screener', '')}" + (f" ({category})" if category else "")


def print_users(console: Console, users: list[str | None]) -> None:
    """The `users` command's table."""
    rows = [[Text(u if u is not None else DEFAULT_USER_LABEL)] for u in users]
    print_table(
        console, "users", [Column("user id", text=True)], rows, empty="no users: nothing stored"
    )


def print_usage(console: Console, report: UsageReport) -> None:
    """The `usage` command's table: one row per lineage owner, then the total."""
    columns = [
        Column("user", text=True),
        Column("optimizations"),
        Column("calls"),
        Column("input tokens"),
        Column("output tokens"),
        Column("calls by source"),
    ]

    def row(name: str, usage: dict[str, int]) -> list[Cell]:
        sources = ", ".join(
            f"{key.removesuffix('_calls')} {value}"
            for key, value in sorted(usage.items())
            if key.endswith("_calls") and key != "failed_calls" and not key.startswith("screening_")
        )
        running = usage.get("reserved", 0)
        count = str(usage.get("optimizations", 0)) + (f" ({running} running)" if running else "")
        return [
            Text(name),
            count,
            str(usage.get("calls", 0)),
            str(usage.get("input_tokens", 0)),
            str(usage.get("output_tokens", 0)),
            sources,
        ]

    rows = [row(shown(user), usage) for user, usage in report.by_user.items()]
    if len(rows) > 1:
        rows.append(row("total", report.usage))
    span = f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"
    print_table(
        console,
        f"model usage, {report.window} window {span}",
        columns,
        rows,
        empty=f"model usage, {report.window} window {span}: none",
    )


def _score_cell(entry: dict[str, Any] | None) -> str:
    """People's mean and count, then evaluators' (`0.80 n=3 · eval 0.50 n=4`)."""
    if entry is None:
        return ""
    parts = []
    if entry["n"]:
        parts.append(f"{entry['mean']:.2f} n={entry['n']}")
    if entry.get("evaluator_n"):
        parts.append(f"eval {entry['evaluator_mean']:.2f} n={entry['evaluator_n']}")
    return " · ".join(parts)


def print_history(
    console: Console,
    user: str | None,
    prompt: str,
    versions: list[PromptVersion],
    scores: list[dict[str, Any]] | None = None,
    paused: str | None = None,
) -> None:
    """The `history` command's table (captioned with why the lineage is paused, if it is)."""
    columns = [
        Column("v"),
        Column("status"),
        Column("created", drop=2),
        Column("parent", drop=4),
        Column("feedback", drop=3),
        Column("score", drop=1),
        Column("gate", drop=5),
        Column("screened", drop=6),
        Column("reason", text=True),
        Column("last line", cut=True),
    ]
    by_version = {entry["version"]: entry for entry in scores or ()}
    rows: list[list[Cell]] = []
    for v in versions:
        entry = by_version.get(v.version)
        rows.append(
            [
                str(v.version),
                Text(v.status, style=_status_style(v.status)),
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                "" if v.parent is None else str(v.parent),
                str(len(v.feedback_ids)),
                _score_cell(entry),
                _gate_scores(v),
                screening_summary(v),
                Text(v.reason),
                Text(_last_line(v.text)),
            ]
        )
    caption = Text(f"PAUSED for review: {paused}", style="bold yellow") if paused else None
    print_table(console, f"{prompt} prompt of {shown(user)}", columns, rows, caption=caption)


def print_feedback(
    console: Console, user: str | None, items: list[FeedbackItem], kind: str = ""
) -> None:
    """The `feedback` command's table (ids shortened to 8 characters, accepted back).

    `kind` names what was listed (`pending`, `quarantined`; empty: all) for the line printed
    when there is none: `no quarantined feedback for jane`.
    """
    columns = [
        Column("id"),
        Column("trajectory", drop=2),
        Column("status"),
        Column("score", drop=1),
        Column("source", drop=3),
        Column("feedback", text=True),
    ]
    rows: list[list[Cell]] = []
    for fb in items:
        text = fb.feedback if isinstance(fb.feedback, str) else json.dumps(fb.feedback)
        if fb.quarantine_reason:
            text = f"{text}\n[{fb.quarantine_reason}]"
        score = "" if fb.score is None else f"{fb.score:g}"
        rows.append(
            [
                fb.id[:8],
                short_trajectory_id(fb.trajectory_id),
                fb.status,
                score,
                fb.source,
                Text(text),
            ]
        )
    adjective = f"{kind} " if kind else ""
    print_table(
        console,
        f"feedback of {shown(user)}",
        columns,
        rows,
        caption=_source_counts(items),
        empty=f"no {adjective}feedback for {shown(user)}",
    )


def _source_counts(items: list[FeedbackItem]) -> Text | None:
    """`people 2 · evaluators 3 (evaluator:judge 3)` when evaluators gave any of `items`."""
    evaluators: dict[str, int] = {}
    for fb in items:
        if fb.from_evaluator:
            evaluators[fb.source] = evaluators.get(fb.source, 0) + 1
    if not evaluators:
        return None
    people = len(items) - sum(evaluators.values())
    detail = ", ".join(f"{source} {n}" for source, n in sorted(evaluators.items()))
    return Text(f"people {people} · evaluators {sum(evaluators.values())} ({detail})")


def print_examples(console: Console, user: str | None, examples: list[Example]) -> None:
    """The `examples` command's table."""
    columns = [
        Column("id"),
        Column("source", drop=2),
        Column("created", drop=1),
        Column("messages", drop=3),
        Column("note", text=True),
    ]
    rows: list[list[Cell]] = [
        [
            e.id,
            e.source,
            e.created_at.strftime("%Y-%m-%d %H:%M"),
            str(len(e.messages)),
            Text(e.note),
        ]
        for e in examples
    ]
    print_table(
        console,
        f"evaluation examples of {shown(user)}",
        columns,
        rows,
        empty=f"no evaluation examples for {shown(user)}",
    )


def render_version(console: Console, v: PromptVersion) -> None:
    """One version: a header line, the gate's scores if any, the text verbatim."""
    console.print(
        Text.assemble(
            (f"{v.prompt} v{v.version} ", "bold"),
            (v.status, _status_style(v.status)),
            f"  {v.reason}",
        )
    )
    if _gate_scores(v):
        console.print(
            f"evaluation gate: candidate/active {_gate_scores(v)} examples, "
            f"{(v.scores or {}).get('method', '')}"
        )
    if v.canary:
        console.print(Text(canary_line(v.canary)), highlight=False, markup=False, soft_wrap=True)
    for verdict in v.verdicts:
        line = f"screened by {verdict.get('screener', '')}: {verdict.get('verdict', '')}"
        if verdict.get("category"):
            line += f" ({verdict['category']})"
        if verdict.get("reason"):
            line += f" - {verdict['reason']}"
        console.print(Text(line), highlight=False, markup=False, soft_wrap=True)
    content = section_content(v.text)
    if content is not None:
        console.print(
            Text("learned section (the only text the optimizer edits):", style="bold"),
            Text(content),
            Text("served prompt (base from code, then the section):", style="bold"),
            sep="\n",
            highlight=False,
            markup=False,
        )
    console.print(Text(v.text), highlight=False, markup=False)


def canary_line(evidence: dict[str, Any]) -> str:
    """A decided canary's evidence on one line."""

    def arm(name: str) -> str:
        data = evidence.get(name) or {}
        mean = data.get("mean")
        return f"{name} {mean:.2f} n={data.get('n')}" if mean is not None else f"{name} n=0"

    p = evidence.get("p_value")
    shown = f"p={p:.3g}" if isinstance(p, int | float) else "p=-"
    return (
        f"canary {evidence.get('decision')}: {arm('canary')} vs {arm('active')}, "
        f"{evidence.get('test')} {shown} (alpha {evidence.get('alpha')})"
    )


def render_diff(console: Console, diff: str) -> None:
    """A unified diff, coloured by line kind."""
    if not diff:
        console.print("(no difference)")
        return
    for line in diff.splitlines():
        style = (
            "bold"
            if line.startswith(("---", "+++"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else ""
        )
        console.print(Text(line, style=style), highlight=False, markup=False)
