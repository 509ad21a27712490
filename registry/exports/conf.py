"""Export settings, read from the environment like every other setting (see docs/exports.md)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from registry import env

MAX_DEFAULT_STREAMS = 4


def release_ttl_hours() -> int:
    """How long a release can be downloaded: EXPORT_RELEASE_TTL_HOURS (default 168, one week)."""
    return getattr(settings, "EXPORT_RELEASE_TTL_HOURS", None) or env.get_int(
        "EXPORT_RELEASE_TTL_HOURS", 168, minimum=1
    )


def export_dir() -> Path:
    """Where releases are written: EXPORT_DIR, default MEDIA_ROOT/exports."""
    configured = getattr(settings, "EXPORT_DIR", None) or env.get_str("EXPORT_DIR", "")
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "exports"


def copy_streams() -> int:
    """How many COPY streams a flat CSV export runs at once: EXPORT_COPY_STREAMS, default the number of
    CPUs, at most 4 (each stream keeps one PostgreSQL backend busy; 1 = a single COPY)."""
    configured = getattr(settings, "EXPORT_COPY_STREAMS", None) or env.get_int("EXPORT_COPY_STREAMS", 0, minimum=0)
    return configured or min(os.cpu_count() or 1, MAX_DEFAULT_STREAMS)
