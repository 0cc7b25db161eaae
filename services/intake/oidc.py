"""Staff sign-in through the organisation's OpenID provider, with Authlib: the authorization code
flow with PKCE (S256), the provider's discovery document and its JWKS; the ID token's signature,
issuer, audience, expiry and nonce are checked before any claim is believed.

The flow's state (``state``, ``code_verifier``, ``nonce``, where to go next) travels in the signed
page session between ``begin`` and ``finish``; nothing else is kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.starlette_client import OAuth

from services.intake.settings import IntakeSettings


class SignInFailed(Exception):
    """The provider's answer could not be accepted (wrong state, refused code, bad token)."""


@dataclass(frozen=True)
class Started:
    url: str
    #: What ``finish`` needs back: keep it in the session.
    pending: dict[str, str]


class OidcClient:
    def __init__(self, settings: IntakeSettings) -> None:
        if not settings.oidc_issuer:
            raise ValueError("OIDC_ISSUER is not set")
        self._redirect_uri = settings.oidc_redirect_uri
        oauth = OAuth()
        oauth.register(
            "staff",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256",
                           "token_endpoint_auth_method": "client_secret_basic", "timeout": 10.0},
        )
        self._client: Any = oauth.create_client("staff")

    async def begin(self, next_url: str) -> Started:
        """Where to send the browser, and what to remember until it comes back."""
        rv = await self._client.create_authorization_url(self._redirect_uri)
        return Started(rv["url"], {"state": rv["state"], "code_verifier": rv["code_verifier"],
                                   "nonce": rv["nonce"], "next": next_url})

    async def finish(self, pending: dict[str, Any] | None, params: dict[str, str]) -> dict[str, Any]:
        """The validated ID-token claims for the code the provider sent back."""
        if not pending or not isinstance(pending.get("state"), str):
            raise SignInFailed("no sign-in was started in this browser")
        if params.get("state") != pending["state"]:
            raise SignInFailed("the sign-in's state does not match")
        if "error" in params or not params.get("code"):
            raise SignInFailed(params.get("error_description") or params.get("error") or "no code")
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=self._redirect_uri, code=params["code"], code_verifier=pending["code_verifier"])
            claims = await self._client.parse_id_token(token, nonce=pending["nonce"])
        except Exception as exc:  # any refusal by the provider or a token that does not validate
            raise SignInFailed(f"{type(exc).__name__}: {exc}") from exc
        if not claims:
            raise SignInFailed("the provider sent no ID token")
        return dict(claims)
