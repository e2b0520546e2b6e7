"""Settings: defaults, and one clear line naming the setting for each wrong value."""

from __future__ import annotations

import pytest

from stripe_kpi.config import load_settings
from stripe_kpi.errors import ConfigurationError

SETTING_NAMES = [
    "STRIPE_API_KEY",
    "STRIPE_API_BASE",
    "DATABASE_URL",
    "STRIPE_KPI_CURRENCY",
    "STRIPE_KPI_TIMEZONE",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_PASSWORD",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.currency == "usd"
    assert settings.timezone == "UTC"
    assert settings.database_url == "sqlite:///stripe_kpi.db"
    assert settings.stripe_api_key is None
    assert settings.smtp_security == "starttls"


def test_reads_env_file(tmp_path) -> None:
    (tmp_path / ".env").write_text("STRIPE_KPI_CURRENCY=EUR\nSTRIPE_KPI_TIMEZONE=Europe/Paris\n")
    settings = load_settings()
    assert (settings.currency, settings.timezone) == ("eur", "Europe/Paris")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STRIPE_KPI_CURRENCY", "dollars", "STRIPE_KPI_CURRENCY is not an ISO 4217 currency code"),
        ("STRIPE_KPI_TIMEZONE", "Mars/Olympus", "STRIPE_KPI_TIMEZONE is not an IANA time zone"),
        ("DATABASE_URL", "not a url", "DATABASE_URL is not a database URL"),
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a sqlite:/// or postgresql"),
        (
            "DATABASE_URL",
            "postgresql+psycopg2://u@h/db",
            "DATABASE_URL must use the psycopg driver",
        ),
        ("STRIPE_API_BASE", "localhost:12111", "STRIPE_API_BASE must be a base address"),
        ("SMTP_PORT", "99999", "SMTP_PORT"),
        ("SMTP_SECURITY", "tls", "SMTP_SECURITY"),
    ],
)
def test_bad_value_names_the_setting(monkeypatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message


@pytest.mark.parametrize("key", ["pk_test_abcdefghijkl", "sk_test_", "garbage"])
def test_a_malformed_key_loads_and_is_refused_where_stripe_is_called(monkeypatch, key) -> None:
    """Commands that only read the database never need the key: settings load whatever it is,
    and the key's shape is checked when a command asks for it to call Stripe."""
    monkeypatch.setenv("STRIPE_API_KEY", key)
    settings = load_settings()
    with pytest.raises(ConfigurationError) as info:
        settings.api_key_value()
    assert info.value.message.startswith("STRIPE_API_KEY is not a Stripe secret")
    assert "\n" not in info.value.message


def test_malformed_key_is_not_echoed(monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_live_abc def ghi")
    with pytest.raises(ConfigurationError) as info:
        load_settings().api_key_value()
    assert "abc" not in info.value.message


def test_key_is_secret(monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "rk_test_51AbCdEfGhIjKlMn")
    settings = load_settings()
    assert "51AbCdEfGhIjKlMn" not in repr(settings)
    assert settings.api_key_value() == "rk_test_51AbCdEfGhIjKlMn"


def test_missing_key_says_how_to_get_one() -> None:
    with pytest.raises(ConfigurationError, match="restricted read-only key"):
        load_settings().api_key_value()


def test_env_example_lists_every_setting_and_loads(tmp_path) -> None:
    """.env.example is the settings' documentation: it must name each one and load as is."""
    from pathlib import Path

    from stripe_kpi.config import _FIELD_TO_ENV, Settings

    example = (Path(__file__).parent.parent / ".env.example").read_text()
    names = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}
    names = {n for n in names if not n.startswith("#")}
    assert names == set(_FIELD_TO_ENV.values())
    assert set(_FIELD_TO_ENV) == set(Settings.model_fields)
    (tmp_path / ".env").write_text(example)
    assert load_settings().currency == "usd"
