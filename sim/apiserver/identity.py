"""Who a request comes from: the bearer token's user and groups.

Two kinds of token, as a cluster reached through kubeconfigs has them: the admin token (user
`kubernetes-admin` in `system:masters`, which the authorizer lets do anything, as the real
server's privileged-group authorizer does), and ServiceAccount tokens issued by
`TokenIssuer.issue`. A ServiceAccount token stops working when its ServiceAccount is deleted,
as a bound token does, so the store is asked on every request.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

ADMIN_USER = "kubernetes-admin"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated user, as the authorizer sees it."""

    name: str
    groups: tuple[str, ...]

    @property
    def privileged(self) -> bool:
        return MASTERS in self.groups

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) for a ServiceAccount user."""
        if not self.name.startswith(SERVICE_ACCOUNT_PREFIX):
            return None
        namespace, _, name = self.name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        return namespace, name


ADMIN = UserInfo(ADMIN_USER, (MASTERS, AUTHENTICATED))


def service_account_user(namespace: str, name: str) -> UserInfo:
    return UserInfo(
        f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}", AUTHENTICATED),
    )


class TokenIssuer:
    """Tokens and the users they stand for.

    `account_exists(namespace, name)` says whether a ServiceAccount is still there; it is asked
    on every request that carries one of its tokens.
    """

    def __init__(self, admin_token: str, account_exists: Callable[[str, str], bool]) -> None:
        self._admin_token = admin_token.encode()
        self._account_exists = account_exists
        self._accounts: dict[str, tuple[str, str]] = {}

    def issue(self, namespace: str, name: str) -> str:
        """A new bearer token for the ServiceAccount `namespace/name` (which may not exist yet:
        the token works once it does)."""
        token = secrets.token_urlsafe(32)
        self._accounts[token] = (namespace, name)
        return token

    def authenticate(self, authorization_header: str) -> UserInfo | None:
        scheme, _, credential = authorization_header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = credential.strip()
        if hmac.compare_digest(token.encode(), self._admin_token):
            return ADMIN
        account = self._accounts.get(token)
        if account is None or not self._account_exists(*account):
            return None
        return service_account_user(*account)
