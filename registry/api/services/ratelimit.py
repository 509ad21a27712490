"""A token bucket per API token (or per client address before authentication), kept in PostgreSQL.

A caller that spends the burst waits for the refill: it gets 429 with Retry-After and is never
banned. The bucket row is locked for the update, so concurrent calls cannot overspend it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.api.models import RateBucket


@dataclass(frozen=True)
class RateLimit:
    burst: int  # calls allowed at once
    per_minute: float  # refill rate


def configured_limit() -> RateLimit:
    return RateLimit(
        burst=int(getattr(settings, "API_RATE_LIMIT_BURST", 120)),
        per_minute=float(getattr(settings, "API_RATE_LIMIT_PER_MINUTE", 600)),
    )


def take(key: str, limit: RateLimit | None = None) -> int:
    """Spend one call from `key`'s bucket: 0 when allowed, else the seconds to wait before the next call."""
    limit = limit or configured_limit()
    if limit.burst <= 0:
        return 0
    now = timezone.now()
    rate = limit.per_minute / 60.0
    with transaction.atomic():
        RateBucket.objects.get_or_create(key=key[:80], defaults={"tokens": float(limit.burst), "updated_at": now})
        bucket = RateBucket.objects.select_for_update().get(key=key[:80])
        elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
        tokens = min(float(limit.burst), bucket.tokens + elapsed * rate)
        if tokens >= 1.0:
            bucket.tokens, bucket.updated_at = tokens - 1.0, now
            bucket.save(update_fields=["tokens", "updated_at"])
            return 0
        bucket.tokens, bucket.updated_at = tokens, now
        bucket.save(update_fields=["tokens", "updated_at"])
    return max(1, math.ceil((1.0 - tokens) / rate)) if rate > 0 else 60
