"""The Prometheus connection flags, shared by `kcanary controller` and `kcanary report`: each from
its flag or its `KCANARY_` variable, and every unusable value refused at start-up with one line
that names the flag, before anything is queried."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from kcanary.cli import main
from kcanary.prometheus_flags import add_connection_flags, connection

URL = "http://prometheus:9090"


def parsed(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kcanary")
    add_connection_flags(parser)
    return parser.parse_args(argv)


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    """A CA bundle and a client certificate with its key, as PEM files."""
    ca = trustme.CA()
    client = ca.issue_cert("kcanary@example.com")
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "c.pem", "key": tmp_path / "k.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    client.cert_chain_pems[0].write_to_path(str(files["cert"]))
    client.private_key_pem.write_to_path(str(files["key"]))
    return files


def test_every_setting_comes_from_its_flag(pem: dict[str, Path], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t")
    args = parsed(
        [
            "--prometheus-timeout=2500ms",
            f"--prometheus-ca-file={pem['ca']}",
            f"--prometheus-client-cert={pem['cert']}",
            f"--prometheus-client-key={pem['key']}",
            f"--prometheus-bearer-token-file={token}",
            "--prometheus-header=X-Scope-OrgID: tenant-a",
            "--prometheus-header=X-Extra:a, b",
        ]
    )
    made = connection(args, URL)
    assert made.timeout_s == 2.5
    assert (made.ca_file, made.client_cert, made.client_key) == (pem["ca"], pem["cert"], pem["key"])
    assert made.bearer_token_file == token
    assert dict(made.headers) == {"X-Scope-OrgID": "tenant-a", "X-Extra": "a, b"}


def test_every_setting_comes_from_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    username, password = tmp_path / "user", tmp_path / "password"
    username.write_text("kcanary\n")
    password.write_text("s3cret\n")
    monkeypatch.setenv("KCANARY_PROMETHEUS_TIMEOUT", "30s")
    monkeypatch.setenv("KCANARY_PROMETHEUS_INSECURE_SKIP_VERIFY", "true")
    monkeypatch.setenv("KCANARY_PROMETHEUS_BASIC_AUTH_USERNAME_FILE", str(username))
    monkeypatch.setenv("KCANARY_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE", str(password))
    monkeypatch.setenv("KCANARY_PROMETHEUS_HEADER", "X-Scope-OrgID: tenant-a\nAccept: a, b\n")
    made = connection(parsed([]), URL)
    assert made.timeout_s == 30.0 and made.insecure_skip_verify is True
    assert made.basic_auth_username_file == username
    assert made.basic_auth_password_file == password
    assert dict(made.headers) == {"X-Scope-OrgID": "tenant-a", "Accept": "a, b"}


def test_the_defaults_are_a_ten_second_timeout_and_nothing_else() -> None:
    made = connection(parsed([]), URL)
    assert made.timeout_s == 10.0 and made.ca_file is None and not made.insecure_skip_verify
    assert made.bearer_token_file is None and made.client_cert is None and not made.headers


def _not_pem(tmp_path: Path, pem: dict[str, Path]) -> list[str]:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    return [f"--prometheus-ca-file={garbage}"]


def _missing(flag: str) -> Callable[[Path, dict[str, Path]], list[str]]:
    return lambda tmp_path, pem: [f"{flag}={tmp_path / 'missing'}"]


BAD_INPUT: list[tuple[Callable[[Path, dict[str, Path]], list[str]], str]] = [
    (
        _missing("--prometheus-ca-file"),
        "--prometheus-ca-file (or KCANARY_PROMETHEUS_CA_FILE): CA file '{tmp}/missing' does "
        "not exist",
    ),
    (_not_pem, "--prometheus-ca-file (or KCANARY_PROMETHEUS_CA_FILE): CA file '{tmp}/garbage"),
    (
        lambda tmp_path, pem: [f"--prometheus-client-cert={pem['cert']}"],
        "--prometheus-client-cert (or KCANARY_PROMETHEUS_CLIENT_CERT): a client cert needs its "
        "client key too",
    ),
    (
        lambda tmp_path, pem: [
            f"--prometheus-client-cert={pem['cert']}",
            f"--prometheus-client-key={pem['ca']}",
        ],
        "--prometheus-client-cert (or KCANARY_PROMETHEUS_CLIENT_CERT): '{tmp}/c.pem' and "
        "'{tmp}/ca.pem' are not a PEM certificate and its private key",
    ),
    (
        _missing("--prometheus-bearer-token-file"),
        "--prometheus-bearer-token-file (or KCANARY_PROMETHEUS_BEARER_TOKEN_FILE): token file "
        "'{tmp}/missing' does not exist",
    ),
    (
        lambda tmp_path, pem: [f"--prometheus-basic-auth-username-file={pem['ca']}"],
        "--prometheus-basic-auth-username-file (or KCANARY_PROMETHEUS_BASIC_AUTH_USERNAME_FILE): "
        "basic auth needs both a username file and a password file",
    ),
    (
        lambda tmp_path, pem: [
            f"--prometheus-basic-auth-username-file={pem['ca']}",
            f"--prometheus-basic-auth-password-file={tmp_path / 'missing'}",
        ],
        "--prometheus-basic-auth-password-file (or KCANARY_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE): "
        "basic-auth password file '{tmp}/missing' does not exist",
    ),
    (
        lambda tmp_path, pem: [
            f"--prometheus-basic-auth-username-file={pem['ca']}",
            f"--prometheus-basic-auth-password-file={pem['ca']}",
            f"--prometheus-bearer-token-file={pem['ca']}",
        ],
        "either a bearer token or basic auth, not both",
    ),
    (
        lambda tmp_path, pem: [
            f"--prometheus-ca-file={pem['ca']}",
            "--prometheus-insecure-skip-verify",
        ],
        "--prometheus-insecure-skip-verify (or KCANARY_PROMETHEUS_INSECURE_SKIP_VERIFY): give "
        "either a CA file or skip verification, not both",
    ),
    (
        lambda tmp_path, pem: ["--prometheus-timeout=0s"],
        "--prometheus-timeout (or KCANARY_PROMETHEUS_TIMEOUT): the timeout must be a positive",
    ),
    (
        lambda tmp_path, pem: ["--prometheus-header=A: 1", "--prometheus-header=a: 2"],
        "--prometheus-header (or KCANARY_PROMETHEUS_HEADER): the header a is given twice",
    ),
    (
        lambda tmp_path, pem: ["--prometheus-header=Authorization: Bearer x"],
        "the Authorization header is set by the connection itself",
    ),
]


@pytest.mark.parametrize(("flags", "message"), BAD_INPUT)
@pytest.mark.parametrize("command", ["controller", "report"])
def test_an_unusable_setting_is_one_line_naming_the_flag(
    command: str,
    flags: Callable[[Path, dict[str, Path]], list[str]],
    message: str,
    pem: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A kubeconfig that does not exist: the settings must be refused before the cluster is used.
    common = ["--prometheus-url", URL, "--kubeconfig", str(tmp_path / "no-kubeconfig")]
    argv = [command, *common, *flags(tmp_path, pem)]
    if command == "report":
        argv[1:1] = ["iris", "--out", str(tmp_path / "out")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == (2 if command == "controller" else 1)
    assert message.format(tmp=tmp_path) in err and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("header", ["X-Scope-OrgID tenant-a", ": tenant-a", " X: y"])
def test_a_header_without_a_name_and_colon_is_refused_by_the_parser(
    header: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parsed(["--prometheus-header", header])
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --prometheus-header: invalid header" in last
    assert "write it as 'Name: value', e.g. 'X-Scope-OrgID: tenant-a'" in last


def test_a_bad_header_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KCANARY_PROMETHEUS_HEADER", "X-Scope-OrgID tenant-a")
    with pytest.raises(SystemExit, match="environment variable KCANARY_PROMETHEUS_HEADER="):
        parsed([])


def test_a_timeout_that_is_no_duration_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parsed(["--prometheus-timeout", "soon"])
    assert 'argument --prometheus-timeout: "soon" is not a duration' in capsys.readouterr().err


def test_the_token_file_flag_and_variable_of_earlier_versions_still_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    assert connection(parsed([f"--prometheus-token-file={token}"]), URL).bearer_token_file == token
    monkeypatch.setenv("KCANARY_PROMETHEUS_TOKEN_FILE", str(token))
    assert connection(parsed([]), URL).bearer_token_file == token
    newer = tmp_path / "newer"
    newer.write_text("n3wer\n")
    monkeypatch.setenv("KCANARY_PROMETHEUS_BEARER_TOKEN_FILE", str(newer))
    assert connection(parsed([]), URL).bearer_token_file == newer
