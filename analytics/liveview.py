"""What a live client is subscribed to, and the channel-layer group names that carry it.

A view is a scope (all, one project, one skill) over a set of projects the client may see.
Clients with the same view share one group, so the ticker builds and encodes each view's frame
once per tick, whatever the number of clients. The project set is part of the view, so a frame
never carries figures of a project its receivers may not see.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

ALL = "all"
PROJECT = "project"
SKILL = "skill"


@dataclass(frozen=True)
class LiveView:
    kind: str
    project_ids: tuple[int, ...]
    skill: str = ""

    @classmethod
    def make(cls, kind: str, project_ids, skill: str = "") -> LiveView:
        return cls(kind, tuple(sorted(set(project_ids))), skill)

    @property
    def key(self) -> str:
        """A canonical text form: the registry stores it, `from_key` reads it back."""
        return json.dumps(
            {"kind": self.kind, "projects": list(self.project_ids), "skill": self.skill},
            separators=(",", ":"),
        )

    @classmethod
    def from_key(cls, key: str) -> LiveView:
        data = json.loads(key)
        return cls.make(data["kind"], data["projects"], data["skill"])

    @property
    def group(self) -> str:
        # Group names allow only [a-zA-Z0-9._-] under 100 characters; skill names can hold
        # anything, so the name is a digest of the key.
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"live.view.{digest}"


def events_group(project_id: int) -> str:
    """The group carrying one project's pushed events (checkpoint_created, session_updated)."""
    return f"live.project.{project_id}"
