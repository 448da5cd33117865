"""Settings from `SYNFAB_*` environment variables and an optional `synfab.toml`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file (`--db PATH` is a shorthand for this)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNFAB_", toml_file="synfab.toml", extra="ignore")

    database_url: str = Field(default_factory=lambda: sqlite_url("synfab.db"))
    mqtt_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    default_locale: str = "zh_CN"
    # Outbox delivery: attempts before a row is dead-lettered, and the first retry delay.
    outbox_max_attempts: int = 8
    outbox_backoff_s: float = 2.0
    outbox_poll_s: float = 1.0
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    # How far above a work order's quantity an operation may report (good + scrap), as a fraction: 0.05 = 5 %.
    over_report_tolerance: float = Field(default=0.05, ge=0, le=1)
    # Set behind a TLS-terminating proxy so cookies are Secure.
    secure_cookies: bool = False
    # Machine data: where connectors' batches wait until stored (store-and-forward), and its size cap.
    buffer_dir: str = "synfab-buffer"
    buffer_max_mb: int = Field(default=512, ge=1)
    # Run the enabled connectors inside `synfab serve`; turn off when `synfab connect` workers run them.
    run_connectors: bool = True
    # With SYNFAB_MQTT_URL set, states and events are published on the Unified Namespace under this root ("" = the
    # enterprise's code is the first level).
    uns_root: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = os.environ.get("SYNFAB_CONFIG", "synfab.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml))


@lru_cache
def get_settings() -> Settings:
    return Settings()
