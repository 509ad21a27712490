"""The world the matrix runs in: one study with two sites, a second study, an outsider, and one object
of every kind (record, query, quality run, discrepancy, release, API token) at each site."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from registry.api.services.tokens import token_create
from registry.exports.services import ExportOptions, release_request
from registry.models import Record
from registry.quality.models import Discrepancy
from registry.quality.services.queries import query_open
from registry.quality.services.runs import run_sync
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import StudyWorld, build_world

EVENT = "event_1_arm_1"
ROLES = ("coord", "monitor", "pi", "dm", "stat")  # the study roles; "coord" is site A's coordinator
USERNAMES = {"coord": "coord_a", "monitor": "monitor", "pi": "pi", "dm": "dm", "stat": "stat"}
GUESS_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Objects:
    """The ids one path can name: at site A, at site B, or in the other project."""

    record: Record
    query: int
    discrepancy: int
    release: str = ""

    def ids(self) -> dict[str, str]:
        return {"record": self.record.record_id, "record_pk": str(self.record.pk), "query": str(self.query),
                "discrepancy": str(self.discrepancy), "release": self.release}  # fmt: skip


@dataclass
class MatrixWorld:
    main: StudyWorld
    other: StudyWorld
    outsider: object
    own: Objects  # site A
    other_site: Objects  # site B
    foreign: Objects  # the other project's site A
    run: int
    foreign_run: int
    version: int
    tokens: dict[str, str] = field(default_factory=dict)

    def user(self, actor: str):
        if actor == "outsider":
            return self.outsider
        if actor == "other_dm":
            return self.other.users["dm"]
        return self.main.users[USERNAMES[actor]]

    def guessed(self) -> dict[str, str]:
        return {"record": "AAA-9999", "record_pk": "99999999", "query": "99999999", "discrepancy": "99999999",
                "release": GUESS_UUID, "run": "99999999"}  # fmt: skip


def _objects(world: StudyWorld, site_user: str, site, run_id: int, release: str = "") -> Objects:
    scope = world.scope(site_user)
    record = record_create(scope=scope, site=site)
    form_save(scope=scope, record=record, event=EVENT, instrument="demographics", instance=1,
              values={"name": f"Patient {record.record_id}", "age": "40", "consent": "0", "weight": "70",
                      "height": "175"}, status=0)  # fmt: skip
    query = query_open(scope=world.scope("monitor"), record=record, comment="please check the age", event=EVENT,
                       instrument="demographics", instance=1, field="age")  # fmt: skip
    return Objects(record=record, query=query.pk, discrepancy=0, release=release)


def _discrepancy_of(run_id: int, record: Record) -> int:
    found = Discrepancy.objects.filter(run_id=run_id, record=record).order_by("pk").first()
    assert found is not None, "the quality run should find a blank value on every record"
    return found.pk


def build_matrix_world() -> MatrixWorld:
    main = build_world(project=import_classic("mx"))
    other = build_world(project=import_classic("mxother"))
    other.site_a.record_prefix, other.site_b.record_prefix = "OOA", "OOB"  # ids that cannot be mistaken
    other.site_a.save()
    other.site_b.save()
    for w in (main, other):
        for user in w.users.values():
            user.is_staff = True  # the admin answers every staff user through the same scope
            user.save(update_fields=["is_staff"])
    outsider = get_user_model().objects.create_user(username="mx_outsider", password="pw-outsider", is_staff=True)

    own = _objects(main, "coord_a", main.site_a, 0)
    other_site = _objects(main, "coord_b", main.site_b, 0)
    foreign = _objects(other, "coord_a", other.site_a, 0)
    run = run_sync(scope=main.scope("dm"), rules=["A"]).pk
    foreign_run = run_sync(scope=other.scope("dm"), rules=["A"]).pk
    own.discrepancy = _discrepancy_of(run, own.record)
    other_site.discrepancy = _discrepancy_of(run, other_site.record)
    foreign.discrepancy = _discrepancy_of(foreign_run, foreign.record)

    options = ExportOptions(profile="deidentified", format="csv")
    # The coordinator's own release; the data manager sees every release, the statistician only hers.
    own.release = str(release_request(scope=main.scope("coord_a"), options=options, enqueue=False).public_id)
    other_site.release = str(release_request(scope=main.scope("coord_b"), options=options, enqueue=False).public_id)
    foreign.release = str(release_request(scope=other.scope("dm"), options=options, enqueue=False).public_id)

    world = MatrixWorld(main=main, other=other, outsider=outsider, own=own, other_site=other_site, foreign=foreign,
                        run=run, foreign_run=foreign_run, version=design_of(main.project).version_number)  # fmt: skip
    for actor in ("coord", "dm", "stat"):
        world.tokens[actor] = token_create(user=world.user(actor), project=main.project)
    world.tokens["other_dm"] = token_create(user=other.users["dm"], project=other.project)
    assert uuid.UUID(own.release)
    return world
