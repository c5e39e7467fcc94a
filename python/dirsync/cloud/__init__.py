"""Microsoft 365 through Microsoft Graph: sign-in (auth), HTTP with retries (graph), the engine's Target (writer)."""
