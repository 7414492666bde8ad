"""The rig reads PHP's whole output on every version of the matrix, however slowly it is read.

php-wasm under node writes stdout without waiting for a pipe to drain: what does not fit the pipe (64 KiB) when the
reader is late is lost, and the process still exits 0. A client-area page rendered on a loaded machine reached the
tests cut off at about 63 KB that way. `rig.shim.run_php` gives PHP files instead of pipes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rig.shim import WASM_PHP, php_command, run_php

SIZE = 200_000
SCRIPT = f'<?php echo str_repeat("x", {SIZE}), "\\n"; fwrite(STDERR, str_repeat("e", {SIZE}));\n'


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "big.php"
    path.write_text(SCRIPT)
    return path


def test_php_wasm_loses_output_a_late_reader_has_not_drained_from_a_pipe(script: Path) -> None:
    """Why run_php exists: the hazard itself, on the matrix's first WebAssembly PHP."""
    command, php_env = php_command(WASM_PHP[0])
    proc = subprocess.Popen([*command, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **php_env})  # fmt: skip
    assert proc.stdout is not None
    with proc.stdout:
        try:  # the reader comes only after the process ended, as a loaded machine's reader may
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("php-wasm waited for its pipe to drain: the hazard run_php avoids is gone")
        out = proc.stdout.read()
    assert proc.returncode == 0
    assert len(out) < SIZE  # cut at what the pipe held, and the exit status says nothing


@pytest.mark.parametrize("php", [*WASM_PHP, "8.2"])
def test_run_php_returns_every_byte_of_stdout_and_stderr_on_this_php(php: str, script: Path) -> None:
    command, php_env = php_command(php)
    proc = run_php(command, script, stdin=b"", env={**os.environ, **php_env}, timeout=120)
    assert proc.stdout == b"x" * SIZE + b"\n"
    assert proc.stderr.count(b"e") >= SIZE
