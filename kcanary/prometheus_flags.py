"""How to reach Prometheus, as flags: one set shared by every command that queries it.

Each flag can also be set from its `KCANARY_<FLAG>` variable (kcanary.flags), so a Deployment
can point at a Secret's mounted files. `--prometheus-header` is repeatable; its variable holds one
`Name: value` per line. The settings are checked when the command starts (`connection`): a
missing or unreadable file, a CA bundle without a certificate, a certificate without its key, a
header without a colon, each fail with one line naming the flag, never a traceback.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from analysis.prometheus_connection import ConnectionSettingError, PrometheusConnection
from kcanary.flags import add_env_flag, env_name, parse_duration

# The flag of each PrometheusConnection setting, for naming it in an error.
_FLAGS = {
    "url": "--prometheus-url",
    "timeout_s": "--prometheus-timeout",
    "ca_file": "--prometheus-ca-file",
    "insecure_skip_verify": "--prometheus-insecure-skip-verify",
    "client_cert": "--prometheus-client-cert",
    "client_key": "--prometheus-client-key",
    "bearer_token_file": "--prometheus-bearer-token-file",
    "basic_auth_username_file": "--prometheus-basic-auth-username-file",
    "basic_auth_password_file": "--prometheus-basic-auth-password-file",
    "headers": "--prometheus-header",
}


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` -> (name, value)."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or name != name.strip():
        raise argparse.ArgumentTypeError(
            f"invalid header {text!r}: write it as 'Name: value', e.g. 'X-Scope-OrgID: tenant-a'"
        )
    return name, value.strip()


def add_connection_flags(parser: argparse.ArgumentParser | Any) -> None:
    """Every Prometheus connection flag but `--prometheus-url`, which each command words itself."""
    add_env_flag(
        parser,
        "--prometheus-timeout",
        type=parse_duration,
        default=10.0,
        metavar="D",
        help="how long to wait for each answer from Prometheus (default 10s)",
    )
    add_env_flag(
        parser,
        "--prometheus-ca-file",
        type=Path,
        metavar="F",
        help="PEM bundle of the CA that signed Prometheus' certificate (default: the system's)",
    )
    add_env_flag(
        parser,
        "--prometheus-insecure-skip-verify",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="do not verify Prometheus' certificate (default off)",
    )
    add_env_flag(
        parser,
        "--prometheus-client-cert",
        type=Path,
        metavar="F",
        help="PEM client certificate for mutual TLS (with --prometheus-client-key)",
    )
    add_env_flag(
        parser, "--prometheus-client-key", type=Path, metavar="F", help="its PEM private key"
    )
    add_env_flag(
        parser,
        "--prometheus-bearer-token-file",
        type=Path,
        metavar="F",
        help="file with a bearer token (re-read on every query)",
    )
    # The name of earlier versions, kept so existing Deployments keep working; not listed.
    old = os.environ.get("KCANARY_PROMETHEUS_TOKEN_FILE")
    if old and "KCANARY_PROMETHEUS_BEARER_TOKEN_FILE" not in os.environ:
        parser.set_defaults(prometheus_bearer_token_file=Path(old))
    parser.add_argument(
        "--prometheus-token-file",
        dest="prometheus_bearer_token_file",
        type=Path,
        help=argparse.SUPPRESS,
    )
    add_env_flag(
        parser,
        "--prometheus-basic-auth-username-file",
        type=Path,
        metavar="F",
        help="file with a basic-auth username (re-read on every query)",
    )
    add_env_flag(
        parser,
        "--prometheus-basic-auth-password-file",
        type=Path,
        metavar="F",
        help="file with the basic-auth password (re-read on every query)",
    )
    add_env_flag(
        parser,
        "--prometheus-header",
        action="append",
        type=parse_header,
        default=[],
        env_separator="\n",
        metavar="'NAME: VALUE'",
        help="extra header on every query, e.g. 'X-Scope-OrgID: tenant-a' (repeatable; the "
        "variable takes one per line)",
    )


def connection(args: argparse.Namespace, url: str) -> PrometheusConnection:
    """The connection the flags describe; ValueError naming the flag at fault."""
    headers: dict[str, str] = {}
    for name, value in args.prometheus_header:
        if name.lower() in (known.lower() for known in headers):
            raise ValueError(_at_fault("headers", f"the header {name} is given twice"))
        headers[name] = value
    try:
        return PrometheusConnection(
            url,
            timeout_s=args.prometheus_timeout,
            ca_file=args.prometheus_ca_file,
            insecure_skip_verify=args.prometheus_insecure_skip_verify,
            client_cert=args.prometheus_client_cert,
            client_key=args.prometheus_client_key,
            bearer_token_file=args.prometheus_bearer_token_file,
            basic_auth_username_file=args.prometheus_basic_auth_username_file,
            basic_auth_password_file=args.prometheus_basic_auth_password_file,
            headers=headers,
        )
    except ConnectionSettingError as error:
        raise ValueError(_at_fault(error.setting, str(error))) from None


def _at_fault(setting: str, problem: str) -> str:
    flag = _FLAGS[setting]
    return f"{flag} (or {env_name(flag)}): {problem}"
