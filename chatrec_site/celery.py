"""The Celery app: tasks are autodiscovered from the Django apps."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")

app = Celery("chatrec")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
