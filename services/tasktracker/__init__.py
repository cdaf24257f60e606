"""Task Tracker: turns the messages a team already writes into tracked, classified work."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tasktracker")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
