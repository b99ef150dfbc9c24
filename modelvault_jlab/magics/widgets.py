"""ipywidgets where interaction helps (optional: without ipywidgets the magics stay text/HTML)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any


def waiver_form(repo: str, policies: list[str], run: Callable[[str], Any]) -> Any | None:
    """A form under ``%modelvault why`` to request (or, as admin, grant) a waiver in one click.

    ``run`` executes a ``%modelvault`` line; its result is shown below the form and kept as
    ``form.last_result``.
    """
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        return None
    policy = w.Dropdown(options=policies, value=policies[0], description="policy")
    days = w.BoundedIntText(value=30, min=1, max=365, description="days")
    reason = w.Text(placeholder="why this model is needed", description="reason")
    button = w.Button(description="Request waiver", button_style="warning", icon="unlock")
    output = w.Output()
    form = w.VBox([w.HBox([policy, days]), reason, button, output])
    form.last_result = None

    def submit(_: Any = None) -> None:
        line = (
            f"waive {shlex.quote(repo)} --policy {shlex.quote(str(policy.value))} "
            f"--reason {shlex.quote(reason.value or '')} --days {int(days.value)}"
        )
        form.last_result = run(line)
        output.clear_output()
        with output:
            display(form.last_result)  # type: ignore[no-untyped-call]

    button.on_click(submit)
    return form
