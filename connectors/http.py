"""HTTP plumbing shared by the API connectors (`rest`, `fhir`, `nhs_statistics`, `ods`).

Authentication (API key header, bearer token, OAuth2 client credentials), one GET with the
status codes mapped to what they mean for an extract (5xx and 429 transient, 429's
Retry-After honoured, 401/403 a clear permanent auth error), JSON parsing that names the URL
when a body is not JSON, and the RFC 8288 Link header.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.base import Connector, ConnectorError, TransientError, resolve_secret, secret_field


class HttpError(ConnectorError):
    """A permanent HTTP failure (4xx); `status` says which."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after)
        self.status = status


class ApiKeyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["api_key"]
    header: str = Field(default="X-API-Key", description="header that carries the key")
    key: SecretStr = secret_field(description="the API key (or env:VAR_NAME)")


class BearerAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["bearer"]
    token: SecretStr = secret_field(description="the bearer token (or env:VAR_NAME)")


class OAuth2ClientCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="the authorisation server's token endpoint")
    client_id: str = Field(description="OAuth2 client id")
    client_secret: SecretStr = secret_field(description="OAuth2 client secret (or env:VAR_NAME)")
    scope: str | None = Field(default=None, description="space-separated scopes to request")


Auth = Annotated[ApiKeyAuth | BearerAuth | OAuth2ClientCredentials, Field(discriminator="type")]

_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def parse_link_header(value: str | None) -> dict[str, str]:
    """`<https://x/p2>; rel="next", <...>; rel="last"` -> {"next": "https://x/p2", "last": ...}."""
    links: dict[str, str] = {}
    for m in _LINK.finditer(value or ""):
        url, params = m.group(1), m.group(2)
        rel = re.search(r'rel\s*=\s*"?([^";]+)"?', params)
        if rel:
            for r in rel.group(1).split():
                links.setdefault(r.lower(), url)
    return links


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def display_url(url: str) -> str:
    """A URL as it may appear in a message: no user:password part."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def dig(obj: Any, path: str) -> Any:
    """`a.b.0.c` into nested dicts/lists; '' is the object itself; missing -> None."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.lstrip("-").isdigit():
            i = int(part)
            obj = obj[i] if -len(obj) <= i < len(obj) else None
        else:
            return None
        if obj is None:
            return None
    return obj


class HttpClient:
    """One connector's HTTP session: auth, timeouts, status handling; every call retried by the base."""

    def __init__(self, connector: Connector, auth: ApiKeyAuth | BearerAuth | OAuth2ClientCredentials | None,
                 headers: dict[str, str] | None = None, verify: bool = True):
        self.connector = connector
        self.auth = auth
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "nhs-benefits-pipeline"})
        self.session.headers.update(headers or {})
        self.session.verify = verify
        self._token: str | None = None
        self._token_expires = 0.0
        if isinstance(auth, ApiKeyAuth):
            key = resolve_secret(auth.key)
            connector.add_secret(key)
            self.session.headers[auth.header] = key
        elif isinstance(auth, BearerAuth):
            token = resolve_secret(auth.token)
            connector.add_secret(token)
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif isinstance(auth, OAuth2ClientCredentials):
            connector.add_secret(resolve_secret(auth.client_secret))

    @property
    def timeout(self) -> float:
        return self.connector.config.timeout_seconds

    # -- OAuth2 -----------------------------------------------------------------------------
    def _oauth_token(self) -> str:
        auth = self.auth
        assert isinstance(auth, OAuth2ClientCredentials)
        if self._token and time.monotonic() < self._token_expires - 30:
            return self._token
        data = {"grant_type": "client_credentials"}
        if auth.scope:
            data["scope"] = auth.scope
        url = auth.token_url

        def fetch():
            r = requests.post(
                url,
                data=data,
                auth=(auth.client_id, resolve_secret(auth.client_secret)),
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
            if r.status_code in (400, 401, 403):
                raise ConnectorError(
                    f"{display_url(url)}: the token endpoint refused the client credentials (HTTP {r.status_code}); "
                    "check client_id and client_secret"
                )
            self._check_status(r, url)
            body = self._json(r, url)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise ConnectorError(f"{display_url(url)}: the token response has no access_token")
            return str(token), float(body.get("expires_in") or 3600)

        token, lifetime = self.connector.call(fetch, what="get an OAuth2 token")
        self.connector.add_secret(token)
        self._token, self._token_expires = token, time.monotonic() + lifetime
        return token

    # -- requests -----------------------------------------------------------------------------
    def get(self, url: str, params: dict | None = None, *, what: str = "") -> requests.Response:
        """GET with retries; the response has a 2xx status."""
        refreshed = False

        def once():
            nonlocal refreshed
            headers = {}
            if isinstance(self.auth, OAuth2ClientCredentials):
                headers["Authorization"] = f"Bearer {self._oauth_token()}"
            r = self.session.get(url, params=params, timeout=self.timeout, headers=headers)
            if r.status_code == 401 and isinstance(self.auth, OAuth2ClientCredentials) and not refreshed:
                # An access token can expire early; fetch a fresh one once before giving up.
                refreshed, self._token = True, None
                headers["Authorization"] = f"Bearer {self._oauth_token()}"
                r = self.session.get(url, params=params, timeout=self.timeout, headers=headers)
            self._check_status(r, r.url or url)
            return r

        return self.connector.call(once, what=what or f"GET {display_url(url)}")

    def get_json(self, url: str, params: dict | None = None, *, what: str = "") -> tuple[Any, requests.Response]:
        r = self.get(url, params, what=what)
        return self._json(r, r.url or url), r

    def _auth_words(self) -> str:
        if isinstance(self.auth, ApiKeyAuth):
            return f"check the API key sent in the {self.auth.header} header"
        if isinstance(self.auth, BearerAuth):
            return "check the bearer token"
        if isinstance(self.auth, OAuth2ClientCredentials):
            return "check the OAuth2 client's permissions"
        return "the API needs credentials: configure `auth`"

    def _check_status(self, r: requests.Response, url: str) -> None:
        code = r.status_code
        if code < 400:
            return
        where = display_url(url)
        if code == 429:
            wait = retry_after_seconds(r.headers.get("Retry-After"))
            raise TransientError(
                f"{where}: HTTP 429 too many requests" + (f" (Retry-After {wait:g} s)" if wait is not None else ""),
                retry_after=wait,
            )
        if code >= 500:
            raise TransientError(f"{where}: HTTP {code} {r.reason or ''}".rstrip())
        if code in (401, 403):
            raise HttpError(
                f"{where}: HTTP {code}: {'authentication failed' if code == 401 else 'access denied'}; "
                f"{self._auth_words()} (not retried)",
                status=code,
            )
        snippet = " ".join((r.text or "").split())[:200]
        raise HttpError(f"{where}: HTTP {code} {r.reason or ''}{': ' + snippet if snippet else ''}", status=code)

    @staticmethod
    def _json(r: requests.Response, url: str) -> Any:
        try:
            return json.loads(r.content.decode(r.encoding or "utf-8", "replace") if r.content else "")
        except ValueError as e:
            raise ConnectorError(f"{display_url(url)}: the response is not valid JSON ({e})") from None

    def close(self) -> None:
        self.session.close()
