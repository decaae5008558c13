"""The model name a KServe runtime serves, from the ISVC name and the predictor's args and env.

KServe's Python runtimes start with `--model_name={{.Name}}` (the ISVC name) and append the
predictor's own args after it, so argparse's last `--model_name` wins; MLServer takes
`MLSERVER_MODEL_NAME` from the env, where the predictor's env overrides the runtime's. A copy of an
ISVC under another name must pin the name back or clients get 404s.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sim.behaviour import ModelBehaviour


class Protocol(enum.Enum):
    """The inference protocol the runtime speaks (`protocolVersion` on the predictor)."""

    V1 = "v1"
    V2 = "v2"


@dataclass(frozen=True)
class ModelServerSpec:
    """What the KServe stand-in knows when it starts a model server for a predictor."""

    isvc_name: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    behaviour: ModelBehaviour = field(default_factory=ModelBehaviour)
    protocol: Protocol = Protocol.V1

    @property
    def model_name(self) -> str:
        return served_model_name(self.isvc_name, self.args, self.env)


def served_model_name(isvc_name: str, args: Sequence[str], env: Mapping[str, str]) -> str:
    """The name the server answers to: last `--model_name` in args, else MLServer's env, else ISVC.

    Both `--model_name X` and `--model_name=X` count, as argparse accepts both.
    """
    name: str | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--model_name" and index + 1 < len(args):
            name = args[index + 1]
            index += 2
            continue
        if arg.startswith("--model_name="):
            name = arg.split("=", 1)[1]
        index += 1
    if name:
        return name
    pinned = env.get("MLSERVER_MODEL_NAME")
    if pinned:
        return pinned
    return isvc_name
