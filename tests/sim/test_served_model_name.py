"""The served model name follows KServe's runtimes: ISVC name unless args or env pin another."""

from __future__ import annotations

import pytest

from sim.modelserver import served_model_name


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, "iris-primary"),
        (("--model_name=iris-primary", "--model_name=iris"), {}, "iris"),
        (("--model_name", "iris-primary", "--model_name", "iris"), {}, "iris"),
        (("--model_name=iris", "--model_name", "other"), {}, "other"),
        (("--model_dir", "/mnt/models", "--model_name", "iris"), {}, "iris"),
        ((), {"MLSERVER_MODEL_NAME": "iris"}, "iris"),
        (("--http_port=8080",), {"OTHER": "x"}, "iris-primary"),
    ],
)
def test_served_name_follows_args_then_env_then_isvc(
    args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    assert served_model_name("iris-primary", args, env) == expected
