"""What the benchmark commands share: a stopped run still stops its gunicorn, a setup problem is a CommandError."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from registry.bench.registry_setup import BenchSetupError


@contextmanager
def bench_run() -> Iterator[None]:
    # A stopped benchmark must still stop its gunicorn: SIGTERM unwinds like Ctrl-C, through `finally`.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    except BenchSetupError as exc:
        raise CommandError(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
