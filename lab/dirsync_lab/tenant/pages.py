"""The HTML pages a person sees: the sign-in and consent page of the authorization endpoint, the device code
page (/devicelogin) and the form_post answer. Everything echoed is escaped; the pages keep no secret (the
sign-in's state stays in the tenant, named by a random flow id in a hidden field)."""

from __future__ import annotations

from html import escape

STYLE = ("<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.6em 0}"
         "input{width:100%}.error{color:#a00}</style>")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>{STYLE}"
            f"</head><body><h1>{escape(title)}</h1>{body}</body></html>")


def _error(message: str | None) -> str:
    return f"<p class=error role=alert id=error>{escape(message)}</p>" if message else ""


def _permissions(names: list[str]) -> str:
    items = "".join(f"<li>{escape(n)}</li>" for n in names) or "<li>Sign you in and read your profile</li>"
    return f"<p>This application asks for these permissions:</p><ul id=permissions>{items}</ul>"


def sign_in_page(flow_id: str, app_name: str, permissions: list[str], login_hint: str = "",
                 error: str | None = None) -> str:
    return _page("Sign in", (
        f"<p>Sign in to <b>{escape(app_name)}</b> (DirSync local tenant).</p>{_error(error)}"
        f"{_permissions(permissions)}<form method=post>"
        f"<input type=hidden name=flow value=\"{escape(flow_id)}\">"
        f"<label>User name <input name=login type=email autocomplete=username value=\"{escape(login_hint)}\">"
        "</label><label>Password <input name=passwd type=password autocomplete=current-password></label>"
        "<button name=action value=accept>Accept</button> <button name=action value=cancel>Cancel</button>"
        "</form>"))


def error_page(message: str) -> str:
    return _page("Sign in", _error(message))


def device_login_page(message: str | None = None, error: str | None = None) -> str:
    done = f"<p id=message>{escape(message)}</p>" if message else ""
    return _page("Enter code", (
        f"{done}{_error(error)}<p>Enter the code shown by the application, then sign in.</p><form method=post>"
        "<label>Code <input name=user_code autocomplete=off></label>"
        "<label>User name <input name=login type=email autocomplete=username></label>"
        "<label>Password <input name=passwd type=password autocomplete=current-password></label>"
        "<button name=action value=accept>Accept</button> <button name=action value=cancel>Cancel</button>"
        "</form>"))


def form_post_page(redirect_uri: str, params: dict) -> str:
    """response_mode=form_post: the browser POSTs the answer to the redirect URI."""
    fields = "".join(f"<input type=hidden name=\"{escape(k)}\" value=\"{escape(v)}\">" for k, v in params.items())
    return (f"<!doctype html><html><head><title>Working...</title></head><body onload=\"document.forms[0].submit()\">"
            f"<form method=post action=\"{escape(redirect_uri)}\">{fields}<noscript><button>Continue</button>"
            "</noscript></form></body></html>")
