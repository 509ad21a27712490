"""One authenticated API call: who calls, in which scope, with which parameters and formats."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from registry.access import Right, Scope
from registry.api.errors import ApiError, forbidden
from registry.api.models import ApiToken
from registry.api.params import ApiParams
from registry.models import AuditSource
from registry.services.audit import Change, audit_append
from registry.services.design import Design, DesignError, design_of

# REDCap's wording for missing rights, which scripts and R packages match on.
NO_EXPORT = "You do not have API Export privileges"
NO_IMPORT = "You do not have API Import/Update privileges"


@dataclass
class ApiCall:
    request: HttpRequest
    params: ApiParams
    token: ApiToken
    scope: Scope
    content: str
    action: str

    @property
    def fmt(self) -> str:
        return self.params.format

    @property
    def return_format(self) -> str:
        return self.params.return_format

    @property
    def project(self):
        return self.scope.project

    @property
    def user(self):
        return self.scope.user

    def require(self, *rights: Right, message: str = "") -> None:
        missing = [r for r in rights if not self.scope.can(r)]
        if missing:
            raise forbidden(
                message or f"You do not have the {missing[0].value.replace('_', ' ')} right in this project"
            )

    def require_export(self) -> None:
        self.require(Right.VIEW, message=NO_EXPORT)

    def require_import(self) -> None:
        self.require(Right.ENTER_DATA, message=NO_IMPORT)

    def design(self) -> Design:
        try:
            return design_of(self.project)
        except DesignError as exc:
            raise ApiError(str(exc)) from None

    def audit(self, what: str, **details) -> None:
        """One audit row per call: what was asked (never values), so exports are traceable."""
        audit_append(project=self.project, action=f"api_{what}", user=self.user, source=AuditSource.API,
                     changes=[Change(details={"content": self.content, "action": self.action, **details})])  # fmt: skip
