"""Outbound HTTP: the one client every call to a user-given URL goes through, and the
signed webhook deliveries (endpoints, delivery log, retries, replay) built on it.

- `client` — `post()` and `url_problem()`: refuses loopback/private/link-local/… addresses
  when the socket connects (after DNS), only http(s), no redirects, bounded time and size,
  keeps only a short printable excerpt of an answer.
- `services` / `selectors` — Standard Webhooks endpoints and deliveries, used by workflows
  (webhook nodes) and scoring (CRM, Slack).

It lives under `workspaces` (the lowest layer) so that every app may use it.
"""
