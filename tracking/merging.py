"""Merging one project into another, and renaming a project (the admin's actions).

An import without `--project` or a path rule names a project after each session's folder;
these put the sessions where they belong afterwards. The merge finds the rows that point at a
project through Django's model metadata, so the models of the apps above `tracking` (path
rules, anomalies, hook calls…) move too, without `tracking` importing them.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import F, Q
from django.utils.text import slugify

from tracking.ingest import DAILY_COUNTS, ROLLUP_COUNTS
from tracking.models import (
    Project,
    SkillDaily,
    SkillDurationBucket,
    SkillDurationBucketDay,
    SkillHourly,
    SkillPhaseDay,
    SkillPhaseHour,
)


class MergeRefused(Exception):
    """The projects cannot be merged as they are; the message says why and what to do."""


def _project_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key to Project, of every installed model; hidden ones too (a
    `related_name="+"` such as SkillSessionHour's), which a delete would cascade to."""
    return [
        rel.remote_field
        for rel in Project._meta.get_fields(include_hidden=True)
        if rel.auto_created and rel.one_to_many and isinstance(rel.remote_field, models.ForeignKey)
    ]


def _derived(fk: models.ForeignKey) -> bool:
    """Whether the rows of `fk`'s model are computed from a project's data (the model says so
    with `DERIVED_FROM_PROJECT = True`, e.g. a stored dependency pass or a trained model).
    They describe neither project once merged, so a merge deletes them for both, and the
    analytics worker computes them again."""
    return bool(getattr(fk.model, "DERIVED_FROM_PROJECT", False))


def _clashes(fk: models.ForeignKey, target: Project, source: Project) -> list[str]:
    """Descriptions of the rows of `source` that would break a unique constraint of the model
    of `fk` once they point at `target` (e.g. a session id both projects have)."""
    model = fk.model
    found: list[str] = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or fk.name not in constraint.fields:
            continue
        if not constraint.fields or constraint.expressions:
            continue
        others = [f for f in constraint.fields if f != fk.name]
        if not others:  # one row per project: any row of each collides
            both = all(
                model._default_manager.filter(**{fk.name: p}).exists() for p in (target, source)
            )
            found += [f"a {model._meta.verbose_name}"] if both else []
            continue
        condition = constraint.condition or Q()
        rows = model._default_manager.filter(condition)
        theirs = rows.filter(**{fk.name: target}).values_list(*others)
        clashing = rows.filter(**{fk.name: source}).filter(
            **{f"{others[0]}__in": theirs.values_list(others[0], flat=True)}
        )
        wanted = set(theirs)
        for values in clashing.values_list(*others).order_by(*others):
            if values in wanted:
                pairs = zip(others, values, strict=True)
                shown = ", ".join(f"{name}={value!r}" for name, value in pairs)
                found.append(f"{model._meta.verbose_name} with {shown}")
    return found


# The rollups whose counters add up: the model, the fields that key a row within a project,
# and the counters. Sessions never clash (refused before), so distinct sessions add up too.
ADDITIVE_ROLLUPS: dict[type[models.Model], tuple[tuple[str, ...], tuple[str, ...]]] = {
    SkillHourly: (("skill", "hour"), tuple(ROLLUP_COUNTS)),
    SkillDurationBucket: (("skill", "hour", "bucket"), ("count",)),
    SkillPhaseHour: (("skill", "hour", "phase"), ("count",)),
    SkillDaily: (("skill", "day"), tuple(DAILY_COUNTS)),
    SkillDurationBucketDay: (("skill", "day", "bucket"), ("count",)),
    SkillPhaseDay: (("skill", "day", "phase"), ("count",)),
}


def _merge_rollups(target: Project, source: Project) -> None:
    """Add the source's rollup rows into the target's: counters summed where both have the
    row's key, the row moved where only the source has it."""
    for model, (key, counters) in ADDITIVE_ROLLUPS.items():
        manager = model._default_manager
        theirs = manager.filter(project=target)
        for row in manager.filter(project=source).order_by(*key):
            added = theirs.filter(**{name: getattr(row, name) for name in key}).update(
                **{name: F(name) + getattr(row, name) for name in counters}
            )
            if added:
                row.delete()
            else:
                manager.filter(pk=row.pk).update(project=target)


@transaction.atomic
def merge_projects(target: Project, source: Project) -> dict[str, int]:
    """Move everything of `source` into `target` and delete `source`, in one transaction:
    sessions, checkpoints, invocations, rollups (summed per skill and hour), path rules, API
    keys (they now write to `target`), members, and every other row pointing at `source`.

    Rows derived from a project's data (`_derived`) are deleted for both, to be recomputed.
    Refused (MergeRefused, nothing changed) when a row of each would collide, e.g. a session
    with the same external id in both. Returns how many rows of each model moved."""
    if target.pk == source.pk:
        raise MergeRefused("A project cannot be merged into itself.")
    # Both rows locked: a concurrent write to the source waits, then fails on its missing
    # project rather than being deleted with it.
    list(Project.objects.select_for_update().filter(pk__in=[target.pk, source.pk]))
    for fk in filter(_derived, _project_foreign_keys()):
        fk.model._default_manager.filter(**{f"{fk.name}__in": [target, source]}).delete()
    keys = [
        fk
        for fk in _project_foreign_keys()
        if fk.model not in ADDITIVE_ROLLUPS and not _derived(fk)
    ]
    clashes = [clash for fk in keys for clash in _clashes(fk, target, source)]
    if clashes:
        raise MergeRefused(
            f"Cannot merge '{source.slug}' into '{target.slug}': both have "
            + "; ".join(clashes[:5])
            + (f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else "")
            + ". Delete or move one of each first; nothing was changed."
        )
    moved: dict[str, int] = {}
    _merge_rollups(target, source)
    for fk in keys:
        n = fk.model._default_manager.filter(**{fk.name: source}).update(**{fk.name: target})
        if n:
            moved[fk.model._meta.label] = moved.get(fk.model._meta.label, 0) + n
    target.members.add(*source.members.all())
    source.delete()
    return moved


def rename_project(project: Project, name: str) -> Project:
    """Give a project a new name and the slug made from it; ValueError when the name is empty
    or its slug is another project's."""
    name = name.strip()
    slug = slugify(name)[:100]
    if not name or not slug:
        raise ValueError("A new name is needed, with at least one letter or digit.")
    limit = Project._meta.get_field("name").max_length or 200
    if len(name) > limit:
        raise ValueError(f"The new name is longer than {limit} characters.")
    if Project.objects.filter(slug=slug).exclude(pk=project.pk).exists():
        raise ValueError(f"Another project already has the slug '{slug}'.")
    project.name, project.slug = name, slug
    project.save(update_fields=["name", "slug"])
    return project
