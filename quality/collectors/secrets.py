"""A secret scan of the project's own files (tracked files; never .venv or node_modules)."""

from __future__ import annotations

import re

from quality.collectors.base import Reading, Source, measured
from quality.collectors.files import ProjectFiles

MAX_FILE_BYTES = 1024 * 1024
PATTERNS = {
    "private-key": re.compile(
        rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY( BLOCK)?-----"
    ),
    "aws-access-key": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github-token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack-token": re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    # A literal of 8+ characters assigned to a secret-sounding name; placeholders are skipped below.
    # It starts at the keyword (no leading [\w]*): a leading wildcard makes the scan 10× slower.
    "assignment": re.compile(
        rb"""(?i)(?:password|passwd|secret|api_?key|access_?key|auth_?token|private_?key)"""
        rb"""[\w.-]*["']?\s*[:=]\s*["']([^"'\s$<>{}]{8,})["']"""
    ),
}
# Literals one of which a match must contain: the regexes run only on files holding one, which
# makes the scan of a large repository a few substring searches per file.
MUST_CONTAIN = {
    "private-key": (b"PRIVATE KEY",),
    "aws-access-key": (b"AKIA", b"ASIA"),
    "github-token": (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
    "slack-token": (b"xox",),
}
KEYWORDS = (b"password", b"passwd", b"secret", b"apikey", b"api_key", b"accesskey",
            b"access_key", b"authtoken", b"auth_token", b"privatekey", b"private_key")  # fmt: skip
PLACEHOLDER = re.compile(
    rb"(?i)^(x+|\*+|changeme|change-me|example|dummy|placeholder|your[-_].*|test.*|fake.*)$"
)


KEYS = ("security.secret_files",)


def collect(files: ProjectFiles) -> list[Reading]:
    """`security.secret_files`: files holding something that looks like a credential. The
    detail names the file, line and kind, never the secret."""
    hits: list[dict] = []
    files_hit = 0
    for rel in files.paths:
        path = files.root / rel
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        found = _scan(data)
        if found:
            files_hit += 1
            hits += [{"file": rel, "line": line, "kind": kind} for line, kind in found[:5]]
    source = Source(
        tool="cairn secret scan",
        artefact=f"{len(files.paths)} {'tracked' if files.tracked else 'project'} files",
    )
    return [measured("security.secret_files", files_hit, source, hits=hits[:50])]


def _scan(data: bytes) -> list[tuple[int, str]]:
    found = []
    lowered = data.lower()
    for kind, pattern in PATTERNS.items():
        if kind == "assignment":
            if not any(k in lowered for k in KEYWORDS):
                continue
        elif not any(literal in data for literal in MUST_CONTAIN[kind]):
            continue
        for match in pattern.finditer(data):
            if kind == "assignment" and PLACEHOLDER.match(match[1]):
                continue
            found.append((data.count(b"\n", 0, match.start()) + 1, kind))
    return sorted(found)
