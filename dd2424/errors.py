"""Exceptions with messages that say what is wrong and how to fix it."""


class DD2424Error(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(DD2424Error):
    """The dataset is missing, corrupted or not in the expected layout."""


class ConfigError(DD2424Error, ValueError):
    """An impossible hyper-parameter, shape or option."""

