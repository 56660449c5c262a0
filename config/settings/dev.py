"""Local development and the demo: DEBUG on, everything else as in base."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("MARSAD_DEBUG", True)
