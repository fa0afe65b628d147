"""Measured from the Python source itself: docstring coverage and annotation coverage."""

from __future__ import annotations

import ast
import sys
from pathlib import PurePosixPath

from quality.collectors.base import Reading, Source, measured, not_measured
from quality.collectors.files import ProjectFiles

KEYS = ("docs.docstring_percent", "types.annotation_percent")


def is_library_code(path: str) -> bool:
    """Tests and migrations are not held to docstring or annotation standards."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return not (
        "tests" in parts
        or "test" in parts
        or "migrations" in parts
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def collect(files: ProjectFiles) -> list[Reading]:
    """Share of modules/classes/functions with a docstring, and of annotatable slots annotated
    (each argument but self/cls, and the return)."""
    source = Source(
        tool="python ast",
        tool_version=".".join(map(str, sys.version_info[:3])),
        artefact=f"{len([p for p in files.python() if is_library_code(p)])} Python files",
    )
    documented = documentable = annotated = slots = 0
    unparsable: list[str] = []
    for rel in files.python():
        if not is_library_code(rel):
            continue
        try:
            tree = ast.parse((files.root / rel).read_bytes(), filename=rel)
        except (SyntaxError, ValueError, OSError):
            unparsable.append(rel)
            continue
        nodes = [tree] + [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for node in nodes:
            if isinstance(node, ast.Module) and not node.body:
                continue  # an empty __init__.py has nothing to document
            documentable += 1
            documented += ast.get_docstring(node, clean=False) is not None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a, s = _annotation_slots(node)
                annotated, slots = annotated + a, slots + s
    detail = {"unparsable": unparsable[:20]} if unparsable else {}
    readings = []
    if documentable:
        readings.append(
            measured(
                "docs.docstring_percent",
                100.0 * documented / documentable,
                source,
                documented=documented,
                total=documentable,
                **detail,
            )
        )
    else:
        readings += not_measured(["docs.docstring_percent"], source, "no Python library code")
    if slots:
        readings.append(
            measured(
                "types.annotation_percent",
                100.0 * annotated / slots,
                source,
                annotated=annotated,
                slots=slots,
            )
        )
    else:
        readings += not_measured(["types.annotation_percent"], source, "no Python functions")
    return readings


def _annotation_slots(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    args = node.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    params += [a for a in (args.vararg, args.kwarg) if a is not None]
    annotated = sum(1 for a in params if a.annotation is not None)
    annotated += node.returns is not None
    return annotated, len(params) + 1
