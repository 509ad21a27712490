"""Data quality and the data resolution workflow: rules, runs, discrepancies, exclusions,
queries, source-data verification and in-app notifications.

Data points are named the way the form rows are keyed (record, event name, instrument, instance)
plus a field name; a blank field means the whole form (or, for a query, the whole record).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from forms.models import Project
from registry.models import Job, Record, Site


class Rule(models.Model):
    """A project's custom rule: logic that is true where there is a discrepancy (REDCap's DQ rule)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quality_rules")
    code = models.SlugField(max_length=30, help_text="short id used in results and on the command line, e.g. R01")
    name = models.CharField(max_length=500)
    logic = models.TextField()
    real_time = models.BooleanField(default=False, help_text="run on every save and show an advisory message")
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="quality_rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class QualityRun(models.Model):
    """One execution of a set of rules; its discrepancies are kept for comparison with the next run."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quality_runs")
    job = models.OneToOneField(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="quality_run")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # {"rules": [...], "sites": [...], "records": [...], "events": [...], "open_queries": bool}
    params = models.JSONField(default=dict, blank=True)
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"total": n, "by_rule": {...}, "excluded": n, "seconds": s, "stats": {field: [mean, sd]}}
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"DQ run #{self.pk} ({self.project.code})"


class Discrepancy(models.Model):
    """One finding of one rule at one data point (field blank: a rule over several fields)."""

    # Derived rows written in bulk by a run (a million at 10,000 patients): no database FK constraints,
    # whose per-row triggers made the COPY about 3x slower (docs/benchmarks.md, "Data quality");
    # Django still cascades deletes. Every index costs about 1 s of PostgreSQL CPU per million rows a run writes,
    # so there are three: the key, (run, rule) for a run's lists and counts, and (record, run, event), which serves
    # a record's findings in a run and the cascade when a record is deleted. Nothing reads a site's rows across
    # runs (a run's rows are found by run first), so site_id has none.
    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="discrepancies", db_constraint=False,
                            db_index=False)  # fmt: skip
    rule = models.CharField(max_length=30)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+", db_constraint=False,
                               db_index=False)  # fmt: skip
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    event = models.CharField(max_length=100)
    instrument = models.CharField(max_length=100, blank=True)
    instance = models.PositiveIntegerField(default=1)
    field = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True, help_text="the value(s) found; identifiers are masked")
    value_hash = models.CharField(max_length=32, help_text="md5 of the unmasked value: exclusions end when it changes")
    message = models.TextField(blank=True)
    excluded = models.BooleanField(default=False, db_default=False)  # the run's COPY leaves it to the database

    class Meta:
        indexes = [
            models.Index(fields=["run", "rule"]),
            models.Index(fields=["record", "run", "event"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.record_id}/{self.event}/{self.instance} {self.field}"

    @property
    def key(self) -> tuple:
        return (self.rule, self.record_id, self.event, self.instance, self.field)


class Exclusion(models.Model):
    """A discrepancy a monitor accepted; it stays excluded while the value is the same."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=30)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=100)
    instance = models.PositiveIntegerField(default=1)
    field = models.CharField(max_length=200, blank=True)
    value_hash = models.CharField(max_length=32)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "rule", "record", "event", "instance", "field"], name="quality_exclusion_unique"
            )
        ]

    def __str__(self) -> str:
        return f"exclusion {self.rule} {self.record_id}"


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open (unanswered)"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class ResponseCategory(models.TextChoices):
    CORRECTED = "corrected", "Corrected"
    CONFIRMED = "confirmed", "Confirmed as in source"
    NOT_AVAILABLE = "not_available", "Not available"
    OTHER = "other", "Other"


class Query(models.Model):
    """A data query: on a data point, on a form (field blank) or on a whole record (event blank)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queries")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="queries")
    event = models.CharField(max_length=100, blank=True)
    instrument = models.CharField(max_length=100, blank=True)
    instance = models.PositiveIntegerField(default=1)
    field = models.CharField(max_length=200, blank=True)
    rule = models.CharField(max_length=30, blank=True, help_text="set when a rule run opened the query")
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_queries"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_system = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["project", "status"]), models.Index(fields=["record", "status"])]
        constraints = [
            # The same rule on the same data point never has a second query: a run re-opens the first.
            models.UniqueConstraint(
                fields=["project", "rule", "record", "event", "instance", "field"],
                condition=~models.Q(rule=""),
                name="one_query_per_rule_and_data_point",
            )
        ]

    def __str__(self) -> str:
        return f"Query #{self.pk}"


class QueryMessage(models.Model):
    """One step of a query's thread: opening, answer, send-back, close, re-open, system close."""

    class Kind(models.TextChoices):
        OPEN = "open"
        ANSWER = "answer"
        SEND_BACK = "send_back"
        CLOSE = "close"
        REOPEN = "reopen"
        SYSTEM_CLOSE = "system_close"
        SYSTEM_REOPEN = "system_reopen"

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField()
    comment = models.TextField(blank=True)
    response_category = models.CharField(max_length=20, choices=ResponseCategory.choices, blank=True)
    # A correction made with the answer: {"fields": [...], "row_version": n} (the audit rows carry the query id).
    correction = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on query #{self.query_id}"


class Verification(models.Model):
    """Source-data verification of a field (or of a whole form when field is blank).

    It holds the hash of the values verified: a later change of the value voids it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="verifications")
    event = models.CharField(max_length=100)
    instrument = models.CharField(max_length=100)
    instance = models.PositiveIntegerField(default=1)
    field = models.CharField(max_length=200, blank=True)
    value_hash = models.CharField(max_length=32)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    verified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record", "event", "instrument", "instance", "field"], name="one_verification_per_point"
            )
        ]

    def __str__(self) -> str:
        return f"SDV {self.record_id}/{self.event}/{self.instrument} {self.field}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quality_notifications")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    query = models.ForeignKey(Query, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["user", "emailed_at"])]

    def __str__(self) -> str:
        return self.text
