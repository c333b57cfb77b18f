"""Write the periodic schedules (idempotent): bandit updates every minute, retraining nightly."""
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

SCHEDULES = (
    ("ChatRec: bandit policy update", "recommender.update_bandit_policy", {"every": 1, "period": "minutes"}, None),
    ("ChatRec: joint retraining", "recommender.retrain", None, {"minute": "30", "hour": "3"}),
)


class Command(BaseCommand):
    help = "Create or update ChatRec's periodic Celery tasks (editable afterwards in the admin)."

    def handle(self, *args, **options):
        for name, task, interval, crontab in SCHEDULES:
            defaults = {"task": task, "enabled": True}
            if interval:
                defaults["interval"], _ = IntervalSchedule.objects.get_or_create(**interval)
                defaults["crontab"] = None
            else:
                defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    day_of_week="*", day_of_month="*", month_of_year="*", **crontab
                )
                defaults["interval"] = None
            _, created = PeriodicTask.objects.update_or_create(name=name, defaults=defaults)
            if options["verbosity"] >= 1:
                self.stdout.write(f"{'created' if created else 'updated'}: {name}")
