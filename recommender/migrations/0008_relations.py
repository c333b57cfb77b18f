# Social ties between people and what each person lets others see.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recommender', '0007_learning_loop'),
    ]

    operations = [
        migrations.CreateModel(
            name='Relation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('friend', 'Friend'), ('follows', 'Follows'), ('trusts', 'Trusts')], default='friend', max_length=16)),
                ('weight', models.FloatField(default=1.0, help_text='Strength of the tie, from 0 (none) to 1 (full).')),
                ('source', models.CharField(blank=True, default='', help_text='Where it came from, e.g. filmtrust.', max_length=64)),
                ('occurred_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('other', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='related_by', to='recommender.profile')),
                ('profile', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='relations', to='recommender.profile')),
            ],
            options={
                'ordering': ['profile', 'kind', 'other'],
                'constraints': [
                    models.UniqueConstraint(fields=('profile', 'other', 'kind'), name='relation_unique_per_kind'),
                    models.CheckConstraint(condition=models.Q(('profile', models.F('other')), _negated=True), name='relation_not_to_self'),
                ],
            },
        ),
        migrations.CreateModel(
            name='SocialSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('discoverable', models.BooleanField(default=False)),
                ('display_name', models.CharField(blank=True, default='', max_length=64)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('profile', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='social', to='recommender.profile')),
            ],
        ),
    ]
