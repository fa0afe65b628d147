"""HookToolCall keyed by (project, tool_use_id): a pending call is its key's project's."""

import django.db.models.deletion
from django.db import migrations, models


def set_projects(apps, schema_editor):
    """A pending call's project is its session's."""
    HookToolCall = apps.get_model("integrations", "HookToolCall")
    Session = apps.get_model("tracking", "Session")
    projects = Session.objects.filter(pk=models.OuterRef("session_id")).values("project_id")
    HookToolCall.objects.update(project_id=models.Subquery(projects[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0005_no_redundant_fk_indexes"),
        ("tracking", "0002_no_redundant_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="hooktoolcall",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tracking.project",
            ),
        ),
        migrations.RunPython(set_projects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="hooktoolcall",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tracking.project",
            ),
        ),
        migrations.AlterField(
            model_name="hooktoolcall",
            name="tool_use_id",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="hooktoolcall",
            constraint=models.UniqueConstraint(
                fields=("project", "tool_use_id"), name="hook_tool_call_key"
            ),
        ),
    ]
