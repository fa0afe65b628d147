"""Panels that other apps add to the session page, without tracking knowing them.

An app registers a function from its `AppConfig.ready()`; the session view renders every
registered panel in order of registration and the template shows the HTML. This keeps
tracking's templates free of other apps' tag libraries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString

from tracking.models import Session

SessionPanel = Callable[[Session], SafeString]

_session_panels: dict[str, SessionPanel] = {}


def register_session_panel(name: str, render: SessionPanel) -> None:
    """Show `render(session)` on every session page; registering a name again replaces it."""
    _session_panels[name] = render


def session_panels(session: Session) -> list[SafeString]:
    """The HTML of each registered panel for `session`, in order of registration."""
    return [render(session) for render in _session_panels.values()]
