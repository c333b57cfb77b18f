"""Show social recommendation on the demo data: Mia's friend, group and people-like-me requests, in both languages.

Run `manage.py load_demo` first. `--connect USERNAME` instead gives a registered user the demo friends (Ana, Lea
and Max), so the same requests work in the web chat after signing in.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recommender.models import Profile
from recommender.services.demo import SAMPLE_SOURCE
from recommender.services.profiles import profile_for_user
from recommender.services.relations import relation_add
from recommender.services.social_demo import DEMO_PERSON, demo_person

REQUESTS = (
    "what do my friends like that I haven't tried?",
    "something Ana and I would both enjoy",
    "something Max and I would both enjoy",
    "who has taste like mine?",
    "朋友们最近喜欢什么",
    "我想找一些我和朋友的共同兴趣",
    "谁的口味和我相似？",
)
DEMO_FRIENDS = ("ana", "lea", "max")


class Command(BaseCommand):
    help = "Answer friend, group and people-like-me requests for the demo person (Mia), in English and Chinese."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connect",
            metavar="USERNAME",
            default=None,
            help="Give this registered user the demo friends instead of running the requests.",
        )
        parser.add_argument("--k", type=int, default=5)

    def handle(self, *args, **options):
        if options["connect"]:
            self._connect(options["connect"])
            return
        from chat import services

        person = demo_person(source=SAMPLE_SOURCE)
        if person is None:
            raise CommandError(f"no demo person {DEMO_PERSON!r}: run `manage.py load_demo` first")
        for text in REQUESTS:
            result = services.turn_start(text=text, profile=person, k=options["k"]).collect()
            self.stdout.write(self.style.SUCCESS(f"\nMia: {text}"))
            self.stdout.write(f"ChatRec [{result.intent}]: {result.reply}")
            for rank, item in enumerate(result.items, start=1):
                self.stdout.write(f"  {rank}. {item.get('display_title') or item['title']} — {item['explanation']}")

    def _connect(self, username: str) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        profile = profile_for_user(user=user)
        for key in DEMO_FRIENDS:
            other = Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=SAMPLE_SOURCE, external_id=key).first()
            if other is None:
                raise CommandError("the demo people are not loaded: run `manage.py load_demo` first")
            relation_add(profile=profile, other=other)
        self.stdout.write(self.style.SUCCESS(f"{username} is now friends with {', '.join(DEMO_FRIENDS)}"))
