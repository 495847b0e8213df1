"""Typed settings from the environment (twelve-factor).

Every setting has a safe development default; `Settings.check_production()` refuses
to run in production with any default secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the known default we refuse in production
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class InsecureSettings(RuntimeError):
    """Production mode with a development default."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    env: Literal["development", "test", "production"] = Field("development", alias="TRACEPORT_ENV")
    # The application role's URL. Unset: the embedded PostgreSQL under DATA_DIR.
    database_url: str | None = Field(None, alias="DATABASE_URL")
    # The owner role's URL, used only to run migrations. Unset: derived (embedded) or DATABASE_URL.
    migration_database_url: str | None = Field(None, alias="MIGRATION_DATABASE_URL")
    database_name: str = Field("traceport", alias="DATABASE_NAME")
    db_pool_size: int = Field(10, alias="DB_POOL_SIZE")
    data_dir: Path = Field(PROJECT_ROOT / ".data", alias="DATA_DIR")
    secret_key: str = Field(DEV_SECRET_KEY, alias="SECRET_KEY")
    smtp_url: str = Field("smtp://127.0.0.1:8025", alias="SMTP_URL")
    mail_from: str = Field("Traceport <no-reply@traceport.local>", alias="MAIL_FROM")
    storage_url: str | None = Field(None, alias="STORAGE_URL")
    # Largest file a user may upload (certificates, attachments); refused while streaming.
    max_upload_mb: int = Field(25, alias="MAX_UPLOAD_MB", gt=0)
    # Ed25519 private key (PEM, or base64 of the 32 raw bytes). Unset in development: a key
    # generated once under DATA_DIR; production refuses to start without one.
    audit_signing_key: str | None = Field(None, alias="AUDIT_SIGNING_KEY")
    audit_seal_interval: float = Field(0.5, alias="AUDIT_SEAL_INTERVAL")
    base_url: str = Field("http://127.0.0.1:5000", alias="BASE_URL")
    default_locale: str = Field("en", alias="DEFAULT_LOCALE")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    session_idle_minutes: int = Field(30, alias="SESSION_IDLE_MINUTES")
    # Identity and access (issue 4). A session ends after this long whatever the activity.
    session_absolute_hours: int = Field(12, alias="SESSION_ABSOLUTE_HOURS")
    # Comma-separated Fernet keys, newest first; unset: derived from SECRET_KEY.
    encryption_keys: str | None = Field(None, alias="ENCRYPTION_KEYS")
    password_min_length: int = Field(12, alias="PASSWORD_MIN_LENGTH")
    invitation_days: int = Field(7, alias="INVITATION_DAYS")
    password_reset_minutes: int = Field(60, alias="PASSWORD_RESET_MINUTES")
    # Consecutive failures (password or second factor) before an account is locked, and for how long.
    login_max_failures: int = Field(5, alias="LOGIN_MAX_FAILURES")
    lockout_minutes: int = Field(15, alias="LOCKOUT_MINUTES")
    # Per-address throttling of sign-in and token endpoints (Flask-Limiter syntax). The
    # storage is per process by default; several processes share one with redis://...
    login_rate_limit: str = Field("20/minute;200/hour", alias="LOGIN_RATE_LIMIT")
    ratelimit_storage_uri: str = Field("memory://", alias="RATELIMIT_STORAGE_URI")
    api_token_minutes: int = Field(60, alias="API_TOKEN_MINUTES")
    # Security alerts by email to the tenant's administrators: failed sign-ins for one
    # account within an hour, and rows in one export, above which an event is serious.
    alert_failed_logins: int = Field(10, alias="ALERT_FAILED_LOGINS")
    alert_export_rows: int = Field(5000, alias="ALERT_EXPORT_ROWS")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def check_production(self) -> None:
        """Refuse to start in production with a development default secret."""
        if not self.is_production:
            return
        problems = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("SECRET_KEY is the development default or shorter than 32 characters")
        if not self.audit_signing_key:
            problems.append("AUDIT_SIGNING_KEY is not set")
        if not self.encryption_keys:
            # Derived from SECRET_KEY, stored secrets (TOTP keys, SSO client secrets) would
            # be lost the day that key is rotated.
            problems.append("ENCRYPTION_KEYS is not set")
        if self.database_url is None:
            problems.append("DATABASE_URL is not set (the embedded database is for development)")
        if problems:
            raise InsecureSettings("refusing to start in production: " + "; ".join(problems))


def load_settings(**overrides) -> Settings:
    """Read settings from the environment; keyword overrides win (tests, CLI)."""
    return Settings(**overrides)
