"""The one secrets rule (peakline.config.read_secret) and the MQTT client's password.

The variable wins; when it is unset or blank, the file the config names, else the file named
by ``<VAR>_FILE``; the first line, stripped. An empty or unreadable file is an error that names
the key; so is a variable the config named explicitly that is not set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from peakline.config import MqttClientConfig, read_secret
from peakline.errors import ConfigError

KEY = "mqtt.password"
VAR = "PEAKLINE_TEST_SECRET"


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (VAR, f"{VAR}_FILE", "PEAKLINE_MQTT_PASSWORD", "PEAKLINE_MQTT_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)


def _file(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_the_variable_wins_over_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    named = _file(tmp_path, "named", "from-named-file\n")
    monkeypatch.setenv(f"{VAR}_FILE", str(_file(tmp_path, "var-file", "from-var-file\n")))
    monkeypatch.setenv(VAR, "  from-variable \n")
    assert read_secret(KEY, VAR, named) == "from-variable"
    assert read_secret(KEY, VAR) == "from-variable"


def test_then_the_named_file_then_the_variables_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = _file(tmp_path, "named", "  from-named-file  \nsecond line\n")
    monkeypatch.setenv(f"{VAR}_FILE", str(_file(tmp_path, "var-file", "from-var-file\n")))
    assert read_secret(KEY, VAR, named) == "from-named-file"  # first line, stripped
    assert read_secret(KEY, VAR) == "from-var-file"
    monkeypatch.setenv(VAR, "   ")  # a blank variable counts as unset
    assert read_secret(KEY, VAR, named) == "from-named-file"
    assert read_secret(KEY, None, named) == "from-named-file"  # no variable named at all


def test_nothing_set_is_none_unless_the_config_named_the_variable() -> None:
    assert read_secret(KEY, VAR) is None
    assert read_secret(KEY, None) is None
    with pytest.raises(ConfigError, match=rf"^{KEY}_env: variable {VAR} is not set$"):
        read_secret(KEY, VAR, required=True)


def test_a_named_variable_may_be_served_by_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = _file(tmp_path, "named", "from-named-file\n")
    assert read_secret(KEY, VAR, named, required=True) == "from-named-file"
    monkeypatch.setenv(f"{VAR}_FILE", str(named))
    assert read_secret(KEY, VAR, required=True) == "from-named-file"


@pytest.mark.parametrize("text", ["", "\n", "   \nthe second line does not count\n"])
def test_an_empty_file_is_an_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    empty = _file(tmp_path, "empty", text)
    with pytest.raises(ConfigError, match=rf"^{KEY}_file: {empty} is empty$"):
        read_secret(KEY, VAR, empty)
    monkeypatch.setenv(f"{VAR}_FILE", str(empty))
    with pytest.raises(ConfigError, match=rf"^{KEY}_file: {empty} is empty$"):
        read_secret(KEY, VAR)


@pytest.mark.parametrize("kind", ["missing", "a folder", "not UTF-8"])
def test_an_unreadable_file_is_an_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = {
        "missing": tmp_path / "nowhere",
        "a folder": tmp_path,
        "not UTF-8": _file(tmp_path, "latin1", "sécret\n".encode("latin-1")),
    }[kind]
    with pytest.raises(ConfigError, match=rf"^{KEY}_file: cannot read {path}: ") as err:
        read_secret(KEY, VAR, path)
    assert isinstance(err.value.__cause__, OSError | UnicodeDecodeError)  # raise ... from
    monkeypatch.setenv(f"{VAR}_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"^{KEY}_file: cannot read {path}: "):
        read_secret(KEY, VAR, required=True)


def test_mqtt_password_by_default_is_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = MqttClientConfig.model_validate({"username": "line"})
    assert config.password() is None  # nothing set: connect without a password
    monkeypatch.setenv("PEAKLINE_MQTT_PASSWORD_FILE",
                       str(_file(tmp_path, "pw", "from-default-file\n")))
    assert config.password() == "from-default-file"
    monkeypatch.setenv("PEAKLINE_MQTT_PASSWORD", "from-default-variable")
    assert config.password() == "from-default-variable"


def test_mqtt_password_from_a_variable_the_config_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = MqttClientConfig.model_validate({"username": "line", "password_env": VAR})
    with pytest.raises(ConfigError, match=rf"^mqtt\.password_env: variable {VAR} is not set$"):
        config.password()
    monkeypatch.setenv("PEAKLINE_MQTT_PASSWORD", "the-default-variable-is-not-asked")
    with pytest.raises(ConfigError, match="is not set"):
        config.password()
    monkeypatch.setenv(VAR, "s3cret")
    assert config.password() == "s3cret"


def test_mqtt_password_from_the_file_the_config_names(tmp_path: Path) -> None:
    config = MqttClientConfig.model_validate(
        {"password_env": VAR, "password_file": str(_file(tmp_path, "pw", "from-file\n"))})
    assert config.password() == "from-file"
    empty = MqttClientConfig.model_validate(
        {"password_file": str(_file(tmp_path, "empty", "\n"))})
    with pytest.raises(ConfigError, match=r"^mqtt\.password_file: .* is empty$"):
        empty.password()
