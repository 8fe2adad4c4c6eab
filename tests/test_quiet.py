import subprocess
import sys


def test_importing_helpers_keeps_tensorflow_quiet():
    code = "import helpers, keras, numpy as np; keras.ops.sum(np.ones(3)); print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "ok\n"
    assert result.stderr == ""


def test_without_helpers_tensorflow_is_noisy():
    """The control: the same import without helpers does write to stderr."""
    code = "import keras, numpy as np; keras.ops.sum(np.ones(3))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr != ""
