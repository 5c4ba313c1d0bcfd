"""Dashboard settings: where it listens, who may see it, and when it raises an alert.

A strict pydantic model (unknown keys are errors) so a ``[dashboard]`` section of the plant
service's TOML can be validated with it. The token itself never lives in the config: only
the name of the environment variable or the path of the file that holds it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DashboardConfig"]


class DashboardConfig(BaseModel):
    """Settings of the plant-manager dashboard."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        default="127.0.0.1",
        description="address to listen on; anything but loopback requires a token",
    )
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port (0: any free port)")
    token_env: str = Field(
        default="PEAKLINE_DASHBOARD_TOKEN",
        description="environment variable holding the access token",
    )
    token_file: str | None = Field(
        default=None,
        description="file holding the access token (first line); used when the variable is unset",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="names the dashboard is reached by (the Host header), besides the listen "
        "address and, on loopback, localhost; any other Host is refused (DNS rebinding)",
    )
    max_streams: int = Field(
        default=16, ge=1, le=1000, description="live event streams open at once, at most"
    )
    max_connections: int = Field(
        default=64, ge=4, le=10_000,
        description="connections and requests served at once, at most (503 beyond)",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=300,
        description="seconds a connection may take to send a request's headers; then it is "
        "closed (half-sent requests cannot hold the connection cap)",
    )
    site: str = Field(default="", description="site name shown in the header")
    progress_file: str | None = Field(
        default=None,
        description="JSON progress file of a job preparing the plant (``peakline demo`` writes "
        "one); its steps are shown until its phase is live",
    )
    refresh_s: float = Field(
        default=1.0, gt=0.05, le=60, description="seconds between live updates pushed to screens"
    )
    window_s: float = Field(
        default=60.0, gt=0, description="window of the live rates (items per minute, reject rate)"
    )
    baseline_window_s: float = Field(
        default=900.0, gt=0, description="longer window a reject-rate jump is compared with"
    )
    reject_jump_factor: float = Field(
        default=2.0, gt=1, description="alert when the live reject rate exceeds baseline x this"
    )
    reject_jump_min: float = Field(
        default=0.03, ge=0, description="...and exceeds it by at least this (0.03 = 3 points)"
    )
    min_items_for_rate: int = Field(
        default=20, ge=1, description="items a window needs before its reject rate is judged"
    )
    offline_after_s: float = Field(
        default=30.0, gt=0, description="a node silent this long is shown offline"
    )
    soon_days: int = Field(
        default=7, ge=0, description="order-by dates within this many days are highlighted"
    )
    gallery_limit: int = Field(
        default=24, ge=1, le=200, description="rejected items shown in the gallery"
    )
