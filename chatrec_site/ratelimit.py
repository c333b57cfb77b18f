"""Moved to common.ratelimit; the old name stays importable as the very same module."""
import sys

from common import ratelimit as _moved

sys.modules[__name__] = _moved
