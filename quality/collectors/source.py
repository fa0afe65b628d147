"""Measured from the Python source itself: docstring coverage and annotation coverage."""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

from quality.collectors.base import Reading, Source, measured, not_measured
from quality.collectors.files import ProjectFiles, is_test_code

KEYS = ("docs.docstring_percent", "types.annotation_percent")
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


def is_library_code(path: str) -> bool:
    """Tests and migrations are not held to docstring or annotation standards."""
    return not (is_test_code(path) or "migrations" in PurePosixPath(path).parts)


def collect(files: ProjectFiles) -> list[Reading]:
    """Share of modules/classes/functions with a docstring, and of annotatable slots annotated
    (each argument but self/cls, and the return)."""
    source = Source(
        tool="python ast",
        tool_version=".".join(map(str, sys.version_info[:3])),
        artefact=f"{len([p for p in files.python() if is_library_code(p)])} Python files",
    )
    paths = [files.root / rel for rel in files.python() if is_library_code(rel)]
    documented = documentable = annotated = slots = 0
    unparsable: list[str] = []
    for path, stats in zip(paths, _map(_file_stats, paths), strict=True):
        if stats is None:
            unparsable.append(path.relative_to(files.root).as_posix())
            continue
        documented += stats[0]
        documentable += stats[1]
        annotated += stats[2]
        slots += stats[3]
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


def _map(fn, paths: list[Path]) -> list:
    """fn over paths; in worker processes when there is enough source for that to pay off
    (parsing is CPU-bound: ~1 s per 100k lines on one core)."""
    workers = min(os.cpu_count() or 1, 8)
    total = sum(p.stat().st_size for p in paths if p.exists())
    if workers < 2 or total < PARALLEL_MIN_BYTES:
        return [fn(p) for p in paths]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fn, paths, chunksize=max(1, len(paths) // (workers * 4))))


def _file_stats(path: Path) -> tuple[int, int, int, int] | None:
    """(documented, documentable, annotated slots, slots) of one file; None if unparsable."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None
    documented = documentable = annotated = slots = 0
    for node in _definitions(tree):
        if isinstance(node, ast.Module) and not node.body:
            continue  # an empty __init__.py has nothing to document
        documentable += 1
        documented += ast.get_docstring(node, clean=False) is not None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a, s = _annotation_slots(node)
            annotated, slots = annotated + a, slots + s
    return documented, documentable, annotated, slots


def _definitions(tree: ast.Module):
    """The module and every class and function in it, found through statement bodies only
    (definitions cannot hide inside expressions), which is far cheaper than ast.walk."""
    yield tree
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(c for c in children if isinstance(c, ast.AST))


def _annotation_slots(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    args = node.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    params += [a for a in (args.vararg, args.kwarg) if a is not None]
    annotated = sum(1 for a in params if a.annotation is not None)
    annotated += node.returns is not None
    return annotated, len(params) + 1
