"""THE access matrix: one row per entry point, with who may use it. Every test case is generated from it.

Each row names the entry point, its method and path template, the roles that may use it on their own
site's objects, and what a refused caller sees. From each row the tests try every study role, the
site-A coordinator on site B's object, guessed ids (a nonexistent id, the other project's id under this
project's code), the other project's data manager, a user with no membership, and an anonymous caller.

Path placeholders: {code} project code, {record} record id, {record_pk} its database id, {query},
{discrepancy}, {release} (a release's public id), {run} (a quality run), {version} (design version).
The `target` names the placeholder whose value is swapped for the other site's, a guessed or a foreign
id; every other placeholder keeps the caller's own value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL = "coord monitor pi dm stat"
EVENT = "event_1_arm_1"
FORM = "/projects/{code}/records/{record}/" + EVENT + "/demographics/1/"


@dataclass(frozen=True)
class Entry:
    name: str
    method: str  # GET, POST, or API (POST /api/ with the caller's token)
    path: str  # for API rows: "content:action"
    allowed: str  # roles that may use it on their own site's objects
    target: str = ""  # the placeholder that names a site-owned (or project-owned) object
    data: dict = field(default_factory=dict)  # POST body or API parameters; "{record}" etc. are filled in
    ok: tuple[int, ...] = (200,)
    # What a refused caller sees: "404" (pages), "403" (API), "4xx" (an API error naming the problem),
    # "absent" (answered, but the object is not in the answer), "no-write" (answered, nothing changed).
    refused: str = "404"
    writes: bool = False  # a successful call appends to the audit trail; a refused one must not
    site_scoped: bool = True  # the target belongs to a site (False: to the project)


E = Entry

TABLE: tuple[Entry, ...] = (
    # -- pages of registry/urls.py --------------------------------------------------------------------
    E("project home", "GET", "/projects/{code}/", ALL, ok=(302,)),
    E("record dashboard", "GET", "/projects/{code}/records/", ALL),
    E(
        "enrol a record",
        "POST",
        "/projects/{code}/records/new/",
        "coord dm",
        data={"site": "a"},
        ok=(302,),
        writes=True,
    ),
    E("record home", "GET", "/projects/{code}/records/{record}/", ALL, target="record"),
    E("form page", "GET", FORM, ALL, target="record"),
    # Read-only roles get the form back read-only: answered, nothing saved.
    E(
        "form save",
        "POST",
        FORM,
        "coord dm",
        target="record",
        ok=(302,),
        writes=True,
        refused="no-write",
        data={
            "name": "Renamed",
            "age": "41",
            "consent": "0",
            "weight": "70",
            "height": "175",
            "status": "0",
            "row_version": "{row_version}",
        },
    ),
    E(
        "lock a record",
        "POST",
        "/projects/{code}/records/{record}/lock/",
        "pi dm",
        target="record",
        data={"action": "lock"},
        ok=(302,),
        writes=True,
    ),
    E("field history", "GET", FORM + "history/age/", "coord monitor pi dm", target="record"),
    E("project audit", "GET", "/projects/{code}/audit/", "coord monitor pi dm"),
    E("project audit CSV", "GET", "/projects/{code}/audit/?format=csv", "coord monitor pi dm"),
    E("team page", "GET", "/projects/{code}/team/", "dm"),
    E("design logic.js", "GET", "/projects/{code}/design/v{version}/logic.js", ALL),
    E("second-factor roles", "GET", "/projects/{code}/two-factor/", "dm"),
    # -- forms/urls.py: the design --------------------------------------------------------------------
    E("dictionary page", "GET", "/projects/{code}/design/dictionary/", "dm"),
    E("dictionary download", "GET", "/projects/{code}/design/dictionary/download/", "dm"),
    # -- registry/exports -----------------------------------------------------------------------------
    E("exports page", "GET", "/projects/{code}/exports/", "coord dm stat"),
    E(
        "request a deidentified release",
        "POST",
        "/projects/{code}/exports/request/",
        "coord dm stat",
        data={"profile": "deidentified", "format": "csv"},
        ok=(302,),
        writes=True,
    ),
    E(
        "request a full release",
        "POST",
        "/projects/{code}/exports/request/",
        "dm",
        data={"profile": "full", "format": "csv"},
        ok=(302,),
        writes=True,
        refused="no-write",
    ),
    E(
        "request a limited release",
        "POST",
        "/projects/{code}/exports/request/",
        "coord dm",
        data={"profile": "limited", "format": "csv"},
        ok=(302,),
        writes=True,
        refused="no-write",
    ),
    E("release status", "GET", "/projects/{code}/exports/{release}/status.json", "coord dm", target="release"),
    E(
        "release download (not built yet)",
        "GET",
        "/projects/{code}/exports/{release}/download/",
        "coord dm",
        target="release",
        ok=(410,),
    ),
    # -- registry/quality: rules, runs, queries --------------------------------------------------------
    E("quality home", "GET", "/projects/{code}/quality/", "monitor dm"),
    E("quality run", "GET", "/projects/{code}/quality/runs/{run}/", "monitor dm", target="run", site_scoped=False),
    E(
        "quality run status",
        "GET",
        "/projects/{code}/quality/runs/{run}/status.json",
        "monitor dm",
        target="run",
        site_scoped=False,
    ),
    E(
        "fix calculations",
        "POST",
        "/projects/{code}/quality/runs/{run}/fix-calcs/",
        "dm",
        target="run",
        site_scoped=False,
        ok=(302,),
    ),
    E(
        "accept a discrepancy",
        "POST",
        "/projects/{code}/quality/discrepancies/{discrepancy}/exclude/",
        "monitor dm",
        target="discrepancy",
        data={"reason": "checked against the source"},
        ok=(302,),
        writes=True,
    ),
    E("new rule page", "GET", "/projects/{code}/quality/rules/new/", "monitor dm"),
    E("rules CSV", "GET", "/projects/{code}/quality/rules/csv/", "monitor dm"),
    E("query list", "GET", "/projects/{code}/queries/", ALL),
    E(
        "open a query",
        "POST",
        "/projects/{code}/queries/new/",
        "monitor dm",
        target="record",
        ok=(302,),
        writes=True,
        data={
            "record": "{record}",
            "comment": "is this right?",
            "event": EVENT,
            "instrument": "demographics",
            "field": "weight",
        },
    ),
    E("query page", "GET", "/projects/{code}/queries/{query}/", ALL, target="query"),
    E(
        "answer a query",
        "POST",
        "/projects/{code}/queries/{query}/",
        "coord monitor dm",
        target="query",
        ok=(302,),
        writes=True,
        refused="no-write",
        data={"action": "answer", "category": "confirmed", "comment": "as on source"},
    ),
    E(
        "verify a value",
        "POST",
        "/projects/{code}/queries/verify/",
        "monitor dm",
        target="record",
        ok=(302,),
        writes=True,
        data={"record": "{record}", "event": EVENT, "instrument": "demographics", "field": "age"},
    ),
    E("query inbox", "GET", "/projects/{code}/queries/inbox/", ALL),
    # -- registry/reports -----------------------------------------------------------------------------
    E("reports index", "GET", "/projects/{code}/reports/", ALL),
    E("Table 1", "GET", "/projects/{code}/reports/table1/", ALL),
    E("cohort response", "GET", "/projects/{code}/reports/response/", ALL),
    E("patient timeline", "GET", "/projects/{code}/reports/timeline/{record}/", ALL, target="record"),
    # -- registry/imports -----------------------------------------------------------------------------
    E("record import page", "GET", "/projects/{code}/import/", "coord dm"),
    # -- registry/custom_reports: "all" is the built-in all-data report --------------------------------------
    E("custom reports", "GET", "/projects/{code}/custom-reports/", ALL),
    E("new custom report", "GET", "/projects/{code}/custom-reports/new/", "monitor dm stat"),
    E('report "all data"', "GET", "/projects/{code}/custom-reports/all/", ALL),
    E('report "all data" statistics', "GET", "/projects/{code}/custom-reports/all/statistics/", ALL),
    # -- the admin: its own answer for a refused object is a redirect to the admin index ----------------
    E("admin record page", "GET", "/admin/registry/record/{record_pk}/change/", ALL, target="record", refused="302"),
    # -- POST /api/ (registry/api/handlers): only roles with the API right hold a token -----------------
    E("API version", "API", "version:export", "coord dm stat", refused="403"),
    E("API project", "API", "project:export", "coord dm stat", refused="403"),
    E("API metadata", "API", "metadata:export", "coord dm stat", refused="403"),
    E("API instruments", "API", "instrument:export", "coord dm stat", refused="403"),
    E("API field names", "API", "exportFieldNames:export", "coord dm stat", refused="403"),
    E("API next record name", "API", "generateNextRecordName:export", "coord dm stat", refused="403"),
    E(
        "API record export",
        "API",
        "record:export",
        "coord dm stat",
        target="record",
        refused="absent",
        data={"records[0]": "{record}"},
    ),
    E(
        "API record import",
        "API",
        "record:import",
        "coord dm",
        target="record",
        refused="4xx",
        writes=True,
        data={"data": '[{"record_id": "{record}", "weight": "71"}]', "format": "json"},
    ),
    E(
        "API record delete",
        "API",
        "record:delete",
        "dm",
        target="record",
        refused="4xx",
        writes=True,
        data={"records[0]": "{record}"},
    ),
    E("API logging", "API", "log:export", "coord dm", refused="403"),
    E("API data access groups", "API", "dag:export", "dm", refused="403"),
    E("API user-DAG mapping", "API", "userDagMapping:export", "dm", refused="403"),
    E("API users", "API", "user:export", "dm", refused="403"),
    E(
        "API metadata import",
        "API",
        "metadata:import",
        "dm",
        refused="403",
        writes=True,
        data={"data": "{dictionary}", "format": "csv"},
    ),
)
