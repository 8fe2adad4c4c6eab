"""Helpers for the book *Transfer learning on the blobs problems*.

Importing the package quietens TensorFlow's start-up log lines (they would
otherwise land in every notebook's output) and imports it once.
"""

from helpers._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

__version__ = "0.1.0"
