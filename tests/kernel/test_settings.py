import pytest

from kernel.settings import DEV_SECRET_KEY, InsecureSettings, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """These tests read the environment; the suite's own DATABASE_URL must not leak in."""
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias, raising=False)


def test_development_defaults_need_nothing_set():
    settings = load_settings()
    assert settings.secret_key == DEV_SECRET_KEY
    settings.check_production()  # development: defaults are fine


def test_production_refuses_the_default_secret():
    settings = load_settings(TRACEPORT_ENV="production", DATABASE_URL="postgresql://app@db/traceport", AUDIT_SIGNING_KEY="x")
    with pytest.raises(InsecureSettings, match="SECRET_KEY"):
        settings.check_production()


def test_production_refuses_missing_signing_key_and_embedded_database():
    settings = load_settings(TRACEPORT_ENV="production", SECRET_KEY="s" * 40)
    with pytest.raises(InsecureSettings) as info:
        settings.check_production()
    assert "AUDIT_SIGNING_KEY" in str(info.value) and "DATABASE_URL" in str(info.value)
    assert "ENCRYPTION_KEYS" in str(info.value)


def test_production_with_real_secrets_starts():
    load_settings(
        TRACEPORT_ENV="production",
        SECRET_KEY="s" * 40,
        AUDIT_SIGNING_KEY="k",
        DATABASE_URL="postgresql://app@db/t",
        ENCRYPTION_KEYS="k" * 44,
    ).check_production()


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SMTP_URL", "smtp://mail.example:2525")
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    settings = load_settings()
    assert settings.smtp_url == "smtp://mail.example:2525"
    assert settings.db_pool_size == 3
