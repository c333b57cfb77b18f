"""Static file storage: compressed files whose names carry a content hash (cache forever), served by WhiteNoise."""
from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage that also works before `collectstatic` has run.

    After `collectstatic`, URLs name the hashed, compressed copies in STATIC_ROOT. Before it (development,
    tests), a file missing from the manifest keeps its plain name and WhiteNoise serves it from the app and
    project folders (WHITENOISE_USE_FINDERS).
    """

    manifest_strict = False

    def hashed_name(self, name, content=None, filename=None):
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if content is not None:
                raise  # while collecting, a missing file is a real error
            return name
