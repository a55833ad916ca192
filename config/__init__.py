"""Profiles as data, and how they are loaded and turned into options."""

from config.loading import DEFAULT_PROFILE, available_profiles, load_profile, load_profile_or_exit
from config.profile import Profile
from config.settings import SETTINGS, ConfigError

__all__ = [
    "DEFAULT_PROFILE",
    "SETTINGS",
    "ConfigError",
    "Profile",
    "available_profiles",
    "load_profile",
    "load_profile_or_exit",
]
