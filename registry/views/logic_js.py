"""The compiled logic of a design version as one static-like script (no eval, CSP-friendly).

Branching conditions and calculations are compiled from the same AST the server evaluates
(forms.logic.to_js), so the browser never parses logic itself.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control

from forms.logic import LogicSyntaxError, parse, to_js
from forms.models import Field, ProjectVersion
from registry.access import project_scope_or_404


def compile_version(version: ProjectVersion) -> str:
    entries = []
    for field in Field.objects.filter(version=version).order_by("order"):
        parts = []
        calc = field.calc_expression if field.is_calc else None
        for kind, source in (("branching", field.branching_logic), ("calc", calc)):
            if not source or not source.strip():
                continue
            try:
                parts.append(f"{kind}: {to_js(parse(source))}")
            except LogicSyntaxError:
                continue  # refused at import; an old version may still hold one
        if parts:
            entries.append(f"  {json.dumps(field.name)}: {{{', '.join(parts)}}}")
    body = ",\n".join(entries)
    return f"/* compiled logic of design version {version.number} */\nCrfForm.register({{\n{body}\n}});\n"


@login_required
@cache_control(private=True, max_age=3600)
def design_logic_js(request: HttpRequest, code: str, version: int) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    design_version = ProjectVersion.objects.filter(project=scope.project, number=version).first()
    if design_version is None:
        raise Http404("no such version")
    return HttpResponse(compile_version(design_version), content_type="text/javascript; charset=utf-8")
