"""How to reach one Prometheus: URL, timeout, TLS, authentication and extra headers.

One set of settings for every reader of Prometheus (the analysis' instant queries, the report's
range queries), checked once when it is made so that a setting that can never work fails at
start-up: a missing or unreadable file, a CA bundle that holds no certificate, a client
certificate without its key, two kinds of authentication at once. `ConnectionSettingError.setting`
names the field at fault, so a command can name its own flag.

Secrets given as files (bearer token, basic-auth username and password) are read again on every
request, as Prometheus reads its own `*_file` settings: Kubernetes rewrites a mounted Secret or a
projected service-account token in place when it rotates. The client certificate and key are
read when a connection opens.

Requests are never retried: prometheus-api-client mounts a urllib3 `Retry` that tries three more
times with backoff, which would hide an outage and stretch a caller's deadline; each caller
decides what a failure means (the analysis' next tick is its retry).
"""

from __future__ import annotations

import ast
import json
import re
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)\Z", re.DOTALL)
# Headers that the settings' own options produce: setting them as a header too would be ambiguous.
_RESERVED_HEADERS = frozenset({"authorization", "host", "content-length"})


class ConnectionSettingError(ValueError):
    """A setting of `PrometheusConnection` that can never work; `setting` is the field's name."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class PrometheusConnection:
    """Everything needed to send a query to one Prometheus; raises ConnectionSettingError."""

    url: str
    timeout_s: float = 10.0
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    client_cert: Path | None = None
    client_key: Path | None = None
    bearer_token: str | None = None
    bearer_token_file: Path | None = None
    basic_auth_username_file: Path | None = None
    basic_auth_password_file: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.match(r"https?://[^/]", self.url):
            raise ConnectionSettingError(
                "url", f"{self.url!r} must start with http:// or https:// and name a host"
            )
        if not self.timeout_s > 0:
            raise ConnectionSettingError(
                "timeout_s", f"the timeout must be a positive duration, got {self.timeout_s:g}s"
            )
        self._check_tls()
        self._check_authentication()
        for name in self.headers:
            if not _HEADER_NAME.match(name):
                raise ConnectionSettingError("headers", f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ConnectionSettingError(
                    "headers",
                    f"the {name} header is set by the connection itself: use the bearer-token or "
                    "basic-auth settings instead",
                )

    def _check_tls(self) -> None:
        if self.ca_file is not None and self.insecure_skip_verify:
            raise ConnectionSettingError(
                "insecure_skip_verify", "give either a CA file or skip verification, not both"
            )
        if self.ca_file is not None:
            _readable("ca_file", self.ca_file)
            try:
                ssl.create_default_context(cafile=str(self.ca_file))
            except ssl.SSLError as error:
                raise ConnectionSettingError(
                    "ca_file",
                    f"CA file {str(self.ca_file)!r} holds no PEM certificate "
                    f"({error.reason or error}): give the CA bundle that signed Prometheus' "
                    "certificate",
                ) from None
        if (self.client_cert is None) != (self.client_key is None):
            given, missing = (
                ("client_cert", "client_key")
                if self.client_key is None
                else ("client_key", "client_cert")
            )
            raise ConnectionSettingError(
                given, f"a client {given[7:]} needs its client {missing[7:]} too"
            )
        if self.client_cert is not None and self.client_key is not None:
            _readable("client_cert", self.client_cert)
            _readable("client_key", self.client_key)
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
                    self.client_cert, self.client_key
                )
            except ssl.SSLError as error:
                raise ConnectionSettingError(
                    "client_cert",
                    f"{str(self.client_cert)!r} and {str(self.client_key)!r} are not a PEM "
                    f"certificate and its private key ({error.reason or error})",
                ) from None

    def _check_authentication(self) -> None:
        if self.bearer_token is not None and self.bearer_token_file is not None:
            raise ConnectionSettingError(
                "bearer_token_file", "give either a bearer token or a token file, not both"
            )
        if self.bearer_token_file is not None:
            _readable("bearer_token_file", self.bearer_token_file)
        basic = (self.basic_auth_username_file, self.basic_auth_password_file)
        if (basic[0] is None) != (basic[1] is None):
            given = "basic_auth_username_file" if basic[1] is None else "basic_auth_password_file"
            raise ConnectionSettingError(
                given, "basic auth needs both a username file and a password file"
            )
        if basic[0] is not None and basic[1] is not None:
            if self.bearer_token is not None or self.bearer_token_file is not None:
                raise ConnectionSettingError(
                    "basic_auth_username_file",
                    "give either a bearer token or basic auth, not both",
                )
            _readable("basic_auth_username_file", basic[0])
            _readable("basic_auth_password_file", basic[1])

    def client(self) -> PrometheusConnect:
        """A prometheus-api-client connection with these settings and no retries."""
        session = requests.Session()
        session.verify = (
            str(self.ca_file) if self.ca_file is not None else not self.insecure_skip_verify
        )
        if self.insecure_skip_verify:
            # Verification was turned off on purpose; urllib3 would warn on every query.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        if self.client_cert is not None and self.client_key is not None:
            session.cert = (str(self.client_cert), str(self.client_key))
        no_retry = Retry(
            total=0, connect=0, read=False, redirect=0, status=0, other=0, raise_on_status=False
        )
        connect = PrometheusConnect(
            url=self.url.rstrip("/"),
            headers=dict(self.headers) if self.headers else None,
            retry=no_retry,
            auth=self._auth(),
            session=session,
            timeout=self.timeout_s,
        )
        # PrometheusConnect mounts its adapter for its URL prefix only; mount the same no-retry
        # adapter for the scheme too, so nothing falls back to requests' defaults.
        session.mount(self.url.split("://")[0] + "://", HTTPAdapter(max_retries=no_retry))
        return connect

    def _auth(self) -> requests.auth.AuthBase | None:
        if self.bearer_token is not None or self.bearer_token_file is not None:
            return _BearerToken(self.bearer_token, self.bearer_token_file)
        if self.basic_auth_username_file is not None and self.basic_auth_password_file is not None:
            return _BasicAuthFiles(self.basic_auth_username_file, self.basic_auth_password_file)
        return None


@dataclass(frozen=True)
class Refusal:
    """A non-200 answer: its status, its body, and Prometheus' error when the body is its JSON."""

    status: int
    body: str
    json: bool
    error_type: str | None = None
    error: str | None = None


def refusal(message: str) -> Refusal | None:
    """The answer inside prometheus-api-client's "HTTP Status Code N (b'...')" exception text."""
    match = _STATUS.match(message)
    if match is None:
        return None
    status, body_repr = int(match.group(1)), match.group(2)
    try:
        body = ast.literal_eval(body_repr)
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    except (ValueError, SyntaxError):
        text = body_repr
    try:
        document = json.loads(text)
    except ValueError:
        return Refusal(status, text, json=False)
    if not isinstance(document, dict):
        return Refusal(status, text, json=False)
    error_type, error = document.get("errorType"), document.get("error")
    return Refusal(
        status,
        text,
        json=True,
        error_type=None if error_type is None else str(error_type),
        error=None if error is None else str(error),
    )


def root_cause(error: BaseException) -> str:
    """The innermost reason of a connection error, which is the part worth reading."""
    cause: BaseException = error
    for _ in range(10):  # urllib3 wraps a few levels deep; never follow a cycle forever
        inner = getattr(cause, "reason", None) or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    return str(cause)


class _BearerToken(requests.auth.AuthBase):
    """Adds `Authorization: Bearer ...`, re-reading the token file on each request."""

    def __init__(self, token: str | None, token_file: Path | None) -> None:
        self._token = token
        self._token_file = token_file

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token
        if self._token_file is not None:
            token = self._token_file.read_text().strip()
        request.headers["Authorization"] = f"Bearer {token}"
        return request


class _BasicAuthFiles(requests.auth.AuthBase):
    """HTTP basic auth whose username and password are read from their files on each request."""

    def __init__(self, username_file: Path, password_file: Path) -> None:
        self._username_file = username_file
        self._password_file = password_file

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Only a trailing newline is dropped: a password may start or end with other spaces.
        username = self._username_file.read_text().rstrip("\r\n")
        password = self._password_file.read_text().rstrip("\r\n")
        signed: requests.PreparedRequest = requests.auth.HTTPBasicAuth(username, password)(request)
        return signed


_FILE_KINDS = {
    "ca_file": "CA file",
    "client_cert": "client certificate",
    "client_key": "client key",
    "bearer_token_file": "token file",
    "basic_auth_username_file": "basic-auth username file",
    "basic_auth_password_file": "basic-auth password file",
}


def _readable(setting: str, path: Path) -> None:
    kind = _FILE_KINDS[setting]
    try:
        with path.open("rb"):
            pass
    except IsADirectoryError:
        raise ConnectionSettingError(setting, f"{kind} {str(path)!r} is a directory") from None
    except FileNotFoundError:
        raise ConnectionSettingError(setting, f"{kind} {str(path)!r} does not exist") from None
    except OSError as error:
        raise ConnectionSettingError(
            setting, f"cannot read the {kind} {str(path)!r}: {error.strerror or error}"
        ) from None
