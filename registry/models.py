"""Registry domain models: sites, memberships and roles, background jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from forms.models import Project


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Study coordinator"
    MONITOR = "monitor", "Monitor"
    PI = "pi", "Principal investigator"
    DATA_MANAGER = "data_manager", "Data manager"
    STATISTICIAN = "statistician", "Statistician"


class Site(models.Model):
    """A hospital taking part in a project (REDCap's data access group)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sites")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    record_prefix = models.CharField(max_length=20, help_text="Prefix of auto-numbered record ids, e.g. 'UMC'.")

    class Meta:
        ordering = ["project", "code"]
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="site_code_unique_per_project")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a project, at one site or (site empty) at all sites."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    extra_rights = models.JSONField(
        default=list, blank=True, help_text="rights granted beyond the role, e.g. ['view_identifiers']"
    )
    form_rights = models.JSONField(
        default=dict, blank=True, help_text="per-instrument rights overriding the role: {instrument: none|read|edit}"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_project")]

    def __str__(self) -> str:
        return f"{self.user} - {self.project.code} ({self.role})"


class Job(models.Model):
    """A background job: Celery tasks receive its id and claim it atomically."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=40)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class SiteCounter(models.Model):
    """The next record number of a site; its row is locked while a record is created, so ids are gapless."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, primary_key=True, related_name="counter")
    next_number = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.site}: next {self.next_number}"


class Record(models.Model):
    """A patient in a project, owned by one site."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="records")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="records")
    record_id = models.CharField(max_length=100)
    locked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["project", "record_id"]
        constraints = [models.UniqueConstraint(fields=["project", "record_id"], name="record_id_unique_per_project")]
        indexes = [models.Index(fields=["project", "site", "record_id"])]

    def __str__(self) -> str:
        return self.record_id


class FormStatus(models.IntegerChoices):
    INCOMPLETE = 0, "Incomplete"
    UNVERIFIED = 1, "Unverified"
    COMPLETE = 2, "Complete"


class FormInstance(models.Model):
    """One instrument of one record at one event and repeat instance.

    Values are one flat JSON object of REDCap raw strings (dates ISO, checkboxes as
    `field___code`); missing-data codes sit apart from the values so typed columns stay typed.
    Event and instrument are stored by their unique names, which survive metadata versions.
    """

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="forms")
    event = models.CharField(max_length=100)
    instrument = models.CharField(max_length=100)
    instance = models.PositiveIntegerField(default=1)
    data = models.JSONField(default=dict)
    missing = models.JSONField(default=dict, help_text="field name -> missing-data code")
    status = models.PositiveSmallIntegerField(choices=FormStatus.choices, default=FormStatus.INCOMPLETE)
    locked = models.BooleanField(default=False)
    row_version = models.PositiveIntegerField(default=1, help_text="optimistic-locking counter")
    metadata_version = models.PositiveIntegerField(null=True, blank=True, help_text="design version saved under")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record", "event", "instrument", "instance"], name="one_form_instance_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_id}/{self.event}/{self.instrument}#{self.instance}"


class AuditSource(models.TextChoices):
    WEB = "web"
    API = "api"
    IMPORT = "import"
    CALCULATION = "calculation"
    SYSTEM = "system"


class AuditEvent(models.Model):
    """Append-only audit trail: one row per changed field (or per design, access or release action).

    PostgreSQL refuses UPDATE and DELETE on this table (a trigger); each row carries the hash of
    the previous row of its project, so removing or editing a row breaks the chain.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="audit_events", null=True, blank=True)
    chain = models.CharField(max_length=60, help_text="the hash chain: 'project:<code>' or 'system'")
    sequence = models.PositiveBigIntegerField(help_text="position in the chain")
    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, default="data_change")
    record_id = models.CharField(max_length=100, blank=True)  # indexed with its chain (Meta.indexes)
    event = models.CharField(max_length=100, blank=True)
    instrument = models.CharField(max_length=100, blank=True)
    instance = models.PositiveIntegerField(null=True, blank=True)
    field = models.CharField(max_length=200, blank=True)
    old_value = models.TextField(null=True, blank=True)
    new_value = models.TextField(null=True, blank=True)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=AuditSource.choices, default=AuditSource.WEB)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["chain", "sequence"]
        constraints = [models.UniqueConstraint(fields=["chain", "sequence"], name="audit_sequence_unique")]
        # Every reader filters by chain (a project's history) and often by record, newest first: one index
        # serves them in order. It replaced (project, record_id, sequence), which no reader's filter used, and
        # the record_id index with its LIKE twin: every audit row written paid for three indexes (~25 % of an
        # insert's cost, docs/scaling.md) that a chain-and-record read did not need.
        indexes = [models.Index(fields=["chain", "record_id", "sequence"], name="audit_chain_record")]

    def __str__(self) -> str:
        return f"{self.chain}#{self.sequence} {self.action} {self.field}".strip()


class AuditChainHead(models.Model):
    """The last hash of an audit chain; locking this row serialises appends to the chain."""

    chain = models.CharField(max_length=60, primary_key=True)
    sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.chain} at {self.sequence}"


class Signature(models.Model):
    """An e-signature of a form instance or a whole record by a PI, with the meaning shown and stored."""

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="signatures")
    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, null=True, blank=True, related_name="signatures")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    signed_at = models.DateTimeField()
    meaning = models.TextField()
    data_sha256 = models.CharField(max_length=64, help_text="hash of the signed values")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"signature of {self.record} by {self.signed_by}"


class SaveFloorRow(models.Model):
    """A scratch row the form-save benchmark's floor rewrites (`registry/bench/views.py: save_floor`).

    Never clinical data: the floor stores a submitted form's values here, one row per simulated browser,
    so that "receive the post, write its values as one JSONB row durably, answer" is measured on the
    same server as the real save, without touching any record.
    """

    slot = models.PositiveSmallIntegerField(unique=True)
    data = models.JSONField(default=dict)
    row_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"save floor slot {self.slot}"
