"""Authentication hardening: lock-out, session timeouts, TOTP two-factor login, security headers, log redaction."""
