# The stored window figures are kept per set of projects (one project, or every project a
# reader sees) with their totals, instead of per project only. They are derived from the
# rollups: the old rows are dropped and the worker (or the first read) stores them again.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0005_merge_dependencies_and_predictor'),
    ]

    operations = [
        migrations.DeleteModel(name='SkillWindowFigures'),
        migrations.CreateModel(
            name='FiguresWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('projects_key', models.CharField(help_text='sha256 of the sorted project ids, comma-separated.', max_length=64)),
                ('project_ids', models.JSONField(default=list, help_text="The set's project ids, sorted.")),
                ('window_start', models.DateTimeField()),
                ('window_end', models.DateTimeField()),
                ('checks', models.JSONField(default=dict, help_text="Project id → its invocations from window_start's UTC midnight to window_end, read before the figures were counted.")),
                ('computed_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['window_end'], name='figureswindow_end')],
                'constraints': [models.UniqueConstraint(fields=('projects_key', 'window_start', 'window_end'), name='figureswindow_key')],
            },
        ),
        migrations.CreateModel(
            name='SkillWindowFigures',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('skill', models.CharField(max_length=200)),
                ('invocations', models.PositiveIntegerField()),
                ('completed', models.PositiveIntegerField(default=0)),
                ('failed', models.PositiveIntegerField(default=0)),
                ('duration_count', models.PositiveIntegerField(default=0)),
                ('duration_sum', models.FloatField(default=0)),
                ('duration_sumsq', models.FloatField(default=0)),
                ('in_projects', models.JSONField(default=list, help_text='Ids of the projects that used it.')),
                ('sessions', models.PositiveIntegerField()),
                ('users', models.JSONField(default=list, help_text='Distinct non-empty Session.user_name.')),
                ('durations', models.JSONField(default=dict, help_text='Duration bucket → count.')),
                ('phases', models.JSONField(default=dict, help_text='Non-empty phase → count.')),
                ('window', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='skills', to='analytics.figureswindow')),
            ],
            options={
                'verbose_name_plural': 'skill window figures',
                'constraints': [models.UniqueConstraint(fields=('window', 'skill'), name='skillwindowfigures_key')],
            },
        ),
    ]
