"""Display objects the magics return: HTML in notebooks (``_repr_html_``), text in terminals."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .page_link import page_link_html

_LEVEL_STYLE = {
    "info": "",
    "ok": "color: var(--jp-success-color1, #2e7d32)",
    "warning": "color: var(--jp-warn-color1, #e65100)",
    "error": "color: var(--jp-error-color1, #c62828)",
}


@dataclass
class Note:
    """A line of text with a level (shown above or below a table)."""

    text: str
    level: str = "info"

    def html(self) -> str:
        style = _LEVEL_STYLE.get(self.level, "")
        return f'<div style="{style}">{html.escape(self.text)}</div>'

    def plain(self) -> str:
        prefix = {"warning": "WARNING: ", "error": "ERROR: "}.get(self.level, "")
        return prefix + self.text


@dataclass
class Table:
    """A titled table with notes; the result of most subcommands."""

    title: str
    columns: Sequence[str] = ()
    rows: list[Sequence[Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    data: Any = None
    """Machine-readable result (dicts) for code that uses the magic's return value."""
    widget: Any = None
    """An ipywidget shown under the table (e.g. the waiver form of ``why``), if any."""
    page: tuple[str, str, str] | None = None
    """Repository, repo type, repo id: adds a link to the model page (issue #19)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(  # type: ignore[no-untyped-call]
            {"text/plain": str(self), "text/html": self._repr_html_()}, raw=True
        )
        if self.widget is not None:
            display(self.widget)  # type: ignore[no-untyped-call]

    def note(self, text: str, level: str = "info") -> Table:
        self.notes.append(Note(text, level))
        return self

    def _repr_html_(self) -> str:
        parts = [f"<div class='jp-ModelVault-magic'><b>{html.escape(self.title)}</b>"]
        if self.columns:
            head = "".join(
                f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns
            )
            body = "".join(
                "<tr>"
                + "".join(f"<td style='text-align:left'>{html.escape(_cell(v))}</td>" for v in row)
                + "</tr>"
                for row in self.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts += [n.html() for n in self.notes]
        if self.page is not None:
            parts.append(page_link_html(self.page))
        parts.append("</div>")
        return "".join(parts)

    def __str__(self) -> str:
        lines = [self.title]
        if self.columns:
            cells = [[str(c) for c in self.columns]] + [[_cell(v) for v in r] for r in self.rows]
            widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
            for n, row in enumerate(cells):
                lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
                if n == 0:
                    lines.append("  ".join("-" * w for w in widths))
        lines += [n.plain() for n in self.notes]
        return "\n".join(lines).rstrip()

    def __repr__(self) -> str:
        return str(self)


@dataclass
class JsonDocument:
    """A JSON document (a lock file) shown as a code block."""

    title: str
    document: dict[str, Any]
    notes: list[Note] = field(default_factory=list)

    def text(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=False)

    def _repr_html_(self) -> str:
        notes = "".join(n.html() for n in self.notes)
        return (
            f"<div class='jp-ModelVault-magic'><b>{html.escape(self.title)}</b>"
            f"<pre>{html.escape(self.text())}</pre>{notes}</div>"
        )

    def __repr__(self) -> str:
        return "\n".join([self.title, self.text(), *(n.plain() for n in self.notes)])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)
