"""Background threads that run passes end before the interpreter tears down (mssnet.runtime.background):
a daemon left inside a native call at exit aborts the process."""

import subprocess
import sys
import textwrap
from pathlib import Path

from mssnet.runtime import background

ROOT = Path(__file__).resolve().parents[2]


def _exit_with(tmp_path: Path, body: str) -> tuple[int, str]:
    """Run ``body`` in a fresh interpreter that then exits -> (return code, what it wrote to out.txt)."""
    out = tmp_path / "out.txt"
    script = "import time, threading\nfrom mssnet.runtime import background\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, timeout=120)
    return done.returncode, out.read_text() if out.exists() else ""


def test_a_job_still_running_at_exit_is_finished_first(tmp_path):
    rc, text = _exit_with(tmp_path, """
        import sys
        def job(path):
            time.sleep(1.0)
            open(path, "w").write("finished")
        background.start(job, sys.argv[1], name="job")
        """)
    assert (rc, text) == (0, "finished")


def test_an_owner_is_ended_at_exit_unless_forgotten_or_gone(tmp_path):
    rc, text = _exit_with(tmp_path, """
        import sys
        class Owner:
            def __init__(self, word):
                self.word = word
            def end(self):
                open(sys.argv[1], "a").write(self.word)
        kept, forgotten = Owner("kept "), Owner("forgotten ")
        background.end_at_exit(kept, Owner.end)
        background.end_at_exit(forgotten, Owner.end)
        background.forget(forgotten)
        background.end_at_exit(Owner("gone "), Owner.end)  # collected at once: nothing to end
        """)
    assert (rc, text) == (0, "kept ")


def test_a_finished_job_leaves_nothing_to_end(tmp_path):
    thread = background.start(lambda: None, name="quick")
    thread.join(10)
    assert thread not in background._OWNERS
