"""dd2424: a k-layer fully-connected network with batch normalisation, trained on CIFAR-10 in numpy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dd2424")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
