"""graphsvc: a knowledge-graph compliance query service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("graphsvc")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
