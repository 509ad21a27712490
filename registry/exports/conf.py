"""Export settings, read from the environment like every other setting (see docs/exports.md)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from registry import env


def release_ttl_hours() -> int:
    """How long a release can be downloaded: EXPORT_RELEASE_TTL_HOURS (default 168, one week)."""
    return getattr(settings, "EXPORT_RELEASE_TTL_HOURS", None) or env.get_int(
        "EXPORT_RELEASE_TTL_HOURS", 168, minimum=1
    )


def export_dir() -> Path:
    """Where releases are written: EXPORT_DIR, default MEDIA_ROOT/exports."""
    configured = getattr(settings, "EXPORT_DIR", None) or env.get_str("EXPORT_DIR", "")
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "exports"
