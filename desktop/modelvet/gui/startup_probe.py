"""For bench/bench_startup.py: with MODELVET_EXIT_WHEN_READY=1 the wizard prints `ready <s>`
(seconds since the process started) once its first page is shown, stays idle for
MODELVET_IDLE_SECONDS (the benchmark reads its memory then), and quits."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget


def seconds_since_process_start() -> float:
    """From the kernel's record of when this process started (psutil rounds it to a second)."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime in ticks
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        import psutil

        return time.time() - psutil.Process().create_time()


def exit_when_ready(app: QApplication, window: QWidget) -> None:
    def leave() -> None:
        window.close()
        app.quit()

    def ready() -> None:
        print(f"ready {seconds_since_process_start():.3f}", flush=True)
        idle_s = float(os.environ.get("MODELVET_IDLE_SECONDS") or 0)
        QTimer.singleShot(int(idle_s * 1000), leave)

    QTimer.singleShot(0, ready)
