"""The load test's study: the classic design, two sites, one coordinator per simulated user, a record each,
and open queries on each record (raised by a monitor) for the users to answer."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from forms.dictionary.services import import_dictionary
from forms.models import Project
from registry.access import scope_for
from registry.api.services.tokens import token_create
from registry.models import Membership, Role, Site
from registry.quality.models import Query, QueryStatus
from registry.quality.services.queries import query_open
from registry.services.records import record_create

CLASSIC = """field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations,field_note,\
text_validation_type_or_show_slider_number,text_validation_min,text_validation_max,identifier,branching_logic,\
required_field,custom_alignment,question_number,matrix_group_name,matrix_ranking,field_annotation
record_id,demographics,,text,Record ID,,,,,,,,,,,,,
name,demographics,,text,Name,,,,,,y,,,,,,,
age,demographics,,text,Age (years),,years,integer,0,120,,,,,,,,
weight,demographics,,text,Weight (kg),,kg,number,1,1000000,,,,,,,,
crp,labs,,text,CRP (mg/L),,,number,0,300,,,,,,,,
"""
PASSWORD = "load-test-password-1"  # noqa: S105 - throwaway users of a throwaway project


QUERIES_PER_USER = 10  # open queries a monitor raised on each user's record, for the users to answer


@dataclass(frozen=True)
class LoadUser:
    username: str
    password: str
    record_id: str
    token: str
    open_queries: tuple[int, ...] = ()  # ids of open queries on the user's record


def prepare(code: str, users: int) -> list[LoadUser]:
    """Create (or reuse) the project and `users` coordinators, each with a record and an API token."""
    project = Project.objects.filter(code=code).first()
    if project is None:
        result = import_dictionary(project_code=code, source=CLASSIC.encode(), title="Load test")
        if result.errors:
            raise RuntimeError(f"load-test design: {result.errors}")
        project = Project.objects.get(code=code)
    sites = [Site.objects.get_or_create(project=project, code=c, defaults={"name": f"Site {c}",
             "record_prefix": c.upper() * 3})[0] for c in ("la", "lb")]  # fmt: skip
    user_model = get_user_model()
    monitor = user_model.objects.filter(username=f"{code}_monitor").first() or user_model.objects.create_user(
        username=f"{code}_monitor", password=PASSWORD
    )
    Membership.objects.get_or_create(user=monitor, project=project, defaults={"role": Role.MONITOR, "site": None})
    monitor_scope = scope_for(monitor, project)
    made = []
    for i in range(users):
        username = f"{code}_user{i:03d}"
        user = user_model.objects.filter(username=username).first() or user_model.objects.create_user(
            username=username, password=PASSWORD
        )
        site = sites[i % 2]
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": Role.COORDINATOR, "site": site})
        scope = scope_for(user, project)
        record = scope.records().filter(created_by=user).first() or record_create(scope=scope, site=site)
        queries = _open_queries(monitor_scope, record)
        made.append(LoadUser(username, PASSWORD, record.record_id, token_create(user=user, project=project),
                             queries))  # fmt: skip
    return made


def _open_queries(monitor_scope, record) -> tuple[int, ...]:
    """The record's open queries, topped up to QUERIES_PER_USER (a re-run reuses the project)."""
    open_ids = list(Query.objects.filter(record=record, status=QueryStatus.OPEN).values_list("pk", flat=True))
    for _ in range(QUERIES_PER_USER - len(open_ids)):
        query = query_open(scope=monitor_scope, record=record, comment="Load test: please confirm the weight",
                           event="event_1_arm_1", instrument="demographics", field="weight")  # fmt: skip
        open_ids.append(query.pk)
    return tuple(open_ids)
