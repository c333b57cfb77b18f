"""Moved to common.safejson; the old name stays importable as the very same module."""
import sys

from common import safejson as _moved

sys.modules[__name__] = _moved
