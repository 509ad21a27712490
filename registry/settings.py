"""Django settings, all read from the environment (see docs/operations.md).

Unset DATABASE_URL gives the embedded SQLite database under var/; unset CELERY_BROKER_URL
runs tasks in-process. DJANGO_ENV=production requires SECRET_KEY and turns on the secure
settings that `manage.py check --deploy` asks for.
"""

from __future__ import annotations

from pathlib import Path

from kombu import Queue

from registry import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DJANGO_ENV = env.get_choice("DJANGO_ENV", env.ENVIRONMENTS, "development")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env.get_str("SECRET_KEY")
    if not SECRET_KEY:
        raise env.ConfigError("SECRET_KEY is required when DJANGO_ENV=production")
else:
    SECRET_KEY = env.get_str("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789")

DEBUG = env.get_bool("DJANGO_DEBUG", not PRODUCTION)
PORT = env.get_int("PORT", 8000, minimum=1, maximum=65535)
# Production defaults to loopback only: a real deployment names its host names explicitly.
ALLOWED_HOSTS = env.get_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "forms.apps.CrfConfig",
    "registry.apps.RegistryConfig",
    "registry.api.apps.ApiConfig",
    "registry.exports.apps.ExportsConfig",
    "registry.quality.apps.QualityConfig",
    "registry.reports.apps.ReportsConfig",
    "registry.imports.apps.ImportsConfig",
    "registry.custom_reports.apps.CustomReportsConfig",
    "registry.security.apps.SecurityConfig",
]

MIDDLEWARE = [
    "registry.db_unavailable.DatabaseUnavailableMiddleware",  # outermost: a lost database answers 503
    "registry.request_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "registry.security.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "registry.form_post.FormPostMiddleware",  # reads url-encoded posts in one pass, before CSRF does
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "registry.security.session_clock.SessionTimeoutMiddleware",
    "registry.security.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections save a connect per request; tests close them so the test database can be dropped.
DATABASES = {
    "default": env.get_database(
        "DATABASE_URL",
        str(VAR_DIR / "registry.sqlite3"),
        conn_max_age=env.get_int("DB_CONN_MAX_AGE", 0 if DJANGO_ENV == "test" else 60, minimum=0),
    )
}
# An optional streaming replica for the heavy reads of exports and reports (registry/db_router.py).
if env.get_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = env.get_database(
        "DATABASE_REPLICA_URL", "", conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 60)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests read their own writes
DATABASE_ROUTERS = ["registry.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if DJANGO_ENV == "test":
    # Argon2 is slow by design; the suite creates thousands of users. Production keeps Argon2 (tested).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's model backend, except that while a username or address is locked it refuses even the right password.
AUTHENTICATION_BACKENDS = ["registry.security.backends.LockoutModelBackend"]
LOGIN_FAILURES_PER_USER = env.get_int("LOGIN_FAILURES_PER_USER", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env.get_int("LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_FAILURE_WINDOW_MINUTES = env.get_int("LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1)
LOGIN_LOCKOUT_MINUTES = env.get_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=0)  # 0: until someone unlocks it
TWO_FACTOR_ISSUER = env.get_str("TWO_FACTOR_ISSUER", "SoJIA registry")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic output, used in production; development serves straight from the finders.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
# Bootstrap comes from the npm registry at install time (package.json) and is served by
# whitenoise from this server: hospitals run closed networks, so no CDN.
STATICFILES_DIRS = [("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.get_str("MEDIA_ROOT", str(VAR_DIR / "media")))

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The form-save benchmark's floor page (registry/bench/views.py: save_floor) answers only where the
# benchmark's own server turns it on; everywhere else it is a 404.
BENCH_SAVE_FLOOR = env.get_bool("BENCH_SAVE_FLOOR", False)
if BENCH_SAVE_FLOOR and PRODUCTION:
    raise env.ConfigError("BENCH_SAVE_FLOOR must be off when DJANGO_ENV=production: its page writes unaudited")

# Celery: no broker configured means the embedded default, tasks run in-process.
CELERY_BROKER_URL = env.get_broker_url("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.get_str("CELERY_TASK_DEFAULT_QUEUE", "default")
# Long exports and data-quality runs get their own queues, so workers on other machines can take
# them (`celery worker -Q exports,quality`) without holding up the short jobs on the default queue.
# A worker started without -Q consumes all three: the one-machine layout needs no change.
CELERY_TASK_QUEUES = [Queue(name) for name in dict.fromkeys((CELERY_TASK_DEFAULT_QUEUE, "exports", "quality"))]
CELERY_TASK_ROUTES = {"exports.*": {"queue": "exports"}, "quality.*": {"queue": "quality"}}
# Processes of a data-quality run's Python pass (0: one per core; registry/quality/parallel.py).
QUALITY_RUN_PROCESSES = env.get_int("QUALITY_RUN_PROCESSES", 0, minimum=0)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.get_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BEAT_SCHEDULE: dict = {}  # data-quality entries are added by registry/quality/apps.py

# E-mail (daily query digests): printed to the console unless SMTP is configured.
EMAIL_BACKEND = env.get_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.get_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.get_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.get_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.get_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.get_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env.get_str("DEFAULT_FROM_EMAIL", "registry@localhost")

SESSION_IDLE_TIMEOUT = env.get_int("SESSION_IDLE_TIMEOUT_MINUTES", 30, minimum=1) * 60
# Activity never extends a session past this (registry/security/session_clock.py).
SESSION_ABSOLUTE_TIMEOUT = env.get_int("SESSION_ABSOLUTE_TIMEOUT_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
# The cookie age is an idle timeout, renewed when the session is saved: the session clock
# (registry/security/session_clock.py) records activity, and so saves the session, once a minute.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts and styles only from files this server serves: no inline script, no eval, no inline style.
# Bootstrap's CSS draws its form icons from data: SVG images, hence img-src data:.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.get_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.get_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by the container health checks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# SQL statements and template lookup failures carry patient values: their loggers stay at INFO whatever
# LOG_LEVEL says, and their records are redacted at the source in case anything turns them up
# (registry/security/log_redaction.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_sql": {"()": "registry.security.log_redaction.RedactSqlFilter"},
        "drop_traceback": {"()": "registry.security.log_redaction.DropTracebackFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO", "filters": ["redact_sql"]},
        "django.db.backends.schema": {"level": "INFO", "filters": ["redact_sql"]},
        "django.template": {"level": "INFO", "filters": ["drop_traceback"]},
    },
}
