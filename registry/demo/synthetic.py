"""Synthetic identifiers: names nobody carries, fake hospital numbers and postcodes.

Every first name is a demo word and every last name starts with "Test", so a demo patient can
never be mistaken for a real one, in a screenshot or in a log.
"""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Demo",
    "Sample",
    "Mock",
    "Pseudo",
    "Fixture",
    "Synth",
    "Dummy",
    "Proxy",
    "Placebo",
    "Stub",
    "Vignette",
    "Avatar",
    "Shadow",
    "Token",
    "Echo",
    "Cipher",
    "Widget",
    "Gizmo",
    "Pixel",
    "Quanta",
)
LAST_NAMES = (
    "Testington",
    "Testworth",
    "Testberg",
    "Testmann",
    "Testvoort",
    "Testsen",
    "Testfield",
    "Testdale",
    "Testbrook",
    "Testhaven",
    "Testwick",
    "Testmoor",
    "Testridge",
    "Testholm",
    "Testgaard",
    "Testfort",
)


def synthetic_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def synthetic_mrn(rng: random.Random, site_number: int) -> str:
    # "SYN" marks the number as synthetic; the digits follow no hospital's scheme.
    return f"SYN{site_number:02d}-{rng.randrange(10**6):06d}"


def synthetic_postcode(rng: random.Random) -> str:
    return str(rng.randrange(1000, 10000))
