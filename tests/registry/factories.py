"""Small builders for registry tests: a project with sites and members of each role."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from forms.models import Project
from registry.access import Scope, scope_for
from registry.models import Membership, Role, Site


@dataclass
class StudyWorld:
    project: Project
    site_a: Site
    site_b: Site
    users: dict

    def scope(self, username: str) -> Scope:
        scope = scope_for(self.users[username], self.project)
        assert scope is not None
        return scope


def build_world(code: str = "demo", project: Project | None = None) -> StudyWorld:
    if project is None:
        project = Project.objects.create(code=code, title=f"Study {code}", is_longitudinal=True)
    code = project.code
    site_a = Site.objects.create(project=project, code="a", name="Hospital A", record_prefix="AAA")
    site_b = Site.objects.create(project=project, code="b", name="Hospital B", record_prefix="BBB")
    users = {}
    user_model = get_user_model()
    for username, role, site in (
        ("coord_a", Role.COORDINATOR, site_a),
        ("coord_b", Role.COORDINATOR, site_b),
        ("monitor", Role.MONITOR, None),
        ("dm", Role.DATA_MANAGER, None),
        ("stat", Role.STATISTICIAN, None),
        ("pi", Role.PI, None),
    ):
        user = user_model.objects.create_user(username=f"{code}_{username}", password="pw-" + username * 3)
        Membership.objects.create(user=user, project=project, role=role, site=site)
        users[username] = user
    return StudyWorld(project, site_a, site_b, users)
