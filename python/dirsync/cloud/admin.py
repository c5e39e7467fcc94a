"""The administrator's sign-in on the wizard's first page, with MSAL for Python as a public client.

DirSync signs in as Microsoft's own public client "Microsoft Graph Command Line Tools" (the app
Connect-MgGraph uses) and asks for the delegated permissions the next step needs, no more. In a browser
where the machine has one (the authorization code flow with PKCE and a loopback redirect), else with a
device code (https://learn.microsoft.com/entra/identity-platform/msal-authentication-flows). The tokens
live in MSAL's in-memory cache of this one sign-in and are written nowhere; the wizard drops them when
its first page is done, as it drops the Enterprise Admin password after the second.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import webbrowser

import msal
import requests

from ..errors import AuthenticationError
from ..events import Events
from .auth import msal_application

SIGN_IN_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools
# What creating DirSync's app needs, by each call's page: the app registration and its service principal
# (application-upsert, serviceprincipal-upsert: Application.ReadWrite.All); its owner
# (application-post-owners: Application.ReadWrite.All and Directory.Read.All); the grant of its Graph
# application permissions (serviceprincipal-post-approleassignedto: AppRoleAssignment.ReadWrite.All and
# Application.Read.All or Directory.Read.All); the signed-in user's own directory roles
# (user-list-memberof: Directory.Read.All covers it).
ADMIN_SCOPES = ("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Directory.Read.All")
BROWSER_TIMEOUT = 300.0  # seconds for the administrator to finish in the browser
DEVICE_CODE_TIMEOUT = 900.0  # the device code's own lifetime at Entra ID

BLOCKED = ("53003",)  # Conditional Access blocked the sign-in
CANCELLED = ("65004",)  # the user declined consent


def has_browser() -> bool:
    """Can MSAL open a browser here? Not on a Linux server with no display (unless $BROWSER names one)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
        return True
    except webbrowser.Error:
        return False


def _claims(token: str) -> dict:
    """The claims of a token MSAL just got from Entra over TLS (read, not verified: Graph verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class AdminSignIn:
    """One administrator's sign-in, as a token provider for GraphClient (token(force_refresh=...))."""

    def __init__(self, settings, session: requests.Session, *, events: Events):
        self.events = events
        self.scopes = [f"{settings.graph_endpoint.rstrip('/')}/{scope}" for scope in ADMIN_SCOPES]
        tenant = settings.tenant_id or "organizations"
        self.authority = f"{settings.authority_host.rstrip('/')}/{tenant}"
        # A fresh in-memory cache: nothing is read from or written to disk.
        self.app = msal_application(lambda: msal.PublicClientApplication(
            SIGN_IN_CLIENT_ID, authority=self.authority, instance_discovery=False, http_client=session,
            token_cache=msal.TokenCache()), settings.authority_host, self.authority, session)
        self._result: dict = {}
        self.user = ""
        self.tenant_id = ""
        self.user_id = ""

    def sign_in(self, *, use_device_code: bool = False, timeout: float | None = None) -> None:
        """Signs the administrator in; raises AuthenticationError with the reason and the fix."""
        if use_device_code or not has_browser():
            result = self._device_code(timeout or DEVICE_CODE_TIMEOUT)
        else:
            self.events.notice("Sign in to Microsoft 365 as an administrator in the browser window that opens.")
            try:
                result = self.app.acquire_token_interactive(self.scopes, prompt="select_account",
                                                            timeout=int(timeout or BROWSER_TIMEOUT))
            except ValueError:  # MSAL's answer to a browser left without a redirect (timeout, closed)
                result = {"error": "timeout"}
        self._accept(result)

    def _device_code(self, timeout: float) -> dict:
        flow = self.app.initiate_device_flow(self.scopes)
        if "user_code" not in flow:
            return flow
        # "To sign in, use a web browser to open the page … and enter the code … to authenticate."
        self.events.notice(flow["message"])
        deadline = time.monotonic() + timeout
        cancelled = self.events.is_cancelled

        def give_up(_flow) -> bool:
            return cancelled() or time.monotonic() >= deadline

        result = self.app.acquire_token_by_device_flow(flow, exit_condition=give_up)
        self.events.check_cancelled()
        if "access_token" not in result and time.monotonic() >= deadline:
            return {"error": "timeout"}
        return result

    def _accept(self, result: dict) -> None:
        if "access_token" in result:
            self._result = result
            claims = _claims(result["access_token"])
            self.user = str(claims.get("upn") or claims.get("preferred_username") or "")
            self.tenant_id = str(claims.get("tid") or "")
            self.user_id = str(claims.get("oid") or "")
            self.events.verbose(f"Signed in to Microsoft 365 as {self.user}.")
            return
        raise _refusal(result)

    def token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            accounts = self.app.get_accounts()
            result = self.app.acquire_token_silent(self.scopes, account=accounts[0] if accounts else None,
                                                   force_refresh=True) if accounts else None
            if result and "access_token" in result:
                self._result = result
        if "access_token" not in self._result:
            raise AuthenticationError("The administrator is not signed in.", fix="Run the wizard again.")
        return self._result["access_token"]

    def forget(self) -> None:
        """Drops every token of this sign-in (the wizard's first page is over)."""
        self._result = {}
        for account in self.app.get_accounts():
            self.app.remove_account(account)


def _refusal(result: dict) -> AuthenticationError:
    error = str(result.get("error") or "")
    description = str(result.get("error_description") or "").split(" Trace ID:")[0]
    codes = [str(c) for c in result.get("error_codes") or []]
    if error == "timeout" or error == "expired_token":
        return AuthenticationError(
            "Nobody signed in before the sign-in timed out, so DirSync created nothing and saved nothing.",
            fix="Run the wizard again and finish the sign-in while it waits (with -UseDeviceCode: open the page "
                "it names and type the code within 15 minutes).")
    if any(c in BLOCKED for c in codes) or "AADSTS53003" in description:
        return AuthenticationError(
            f"Your tenant's Conditional Access blocked this sign-in ({description}). DirSync created nothing.",
            fix="Sign in another way: in a browser (run the wizard without -UseDeviceCode on a machine with one) "
                "if device code sign-in is blocked, from a compliant device, or ask your Conditional Access "
                "administrator; or register DirSync's app yourself and give -ClientId (docs/administrator-guide.md).")
    if error in ("access_denied", "authorization_declined") or any(c in CANCELLED for c in codes):
        return AuthenticationError(
            "The sign-in was cancelled (or the permissions were declined), so DirSync created nothing and "
            "saved nothing.",
            fix="Run the wizard again, sign in as an administrator and accept the permissions it asks for "
                f"({', '.join(ADMIN_SCOPES)}).")
    return AuthenticationError(f"Microsoft Entra ID refused the administrator's sign-in: {error}: {description}",
                               fix="Check the account and the tenant, then run the wizard again.")
