"""A deleted post leaves nothing in anyone's inbox (issue 15): the mention
items of other people's comments on it, for third parties, go too, and the
unread counts stop counting them."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import (
    API,
    PASSWORD,
    Account,
    comment,
    delete_media,
    eventually,
    get_json,
    paginate,
    post_media,
)


def _unread(http: httpx.Client, who: Account) -> int:
    count: int = get_json(http, f"{API}/activity/unread", who)["count"]
    return count


def _mentioned_in_a_comment_on_bos_post(
    http: httpx.Client, signup: Callable[..., Account]
) -> tuple[Account, Account, str]:
    ana, bo, cy = signup(), signup(), signup()
    bos = post_media(http, bo, caption="bo's")
    comment(http, ana, bos["id"], f"@{cy.username} look")
    eventually(lambda: _unread(http, cy) == 1, timeout=10)
    assert [item["type"] for item in paginate(http, f"{API}/activity", cy)] == ["mention"]
    return bo, cy, bos["id"]


def _cleared(http: httpx.Client, cy: Account) -> None:
    assert _unread(http, cy) == 0
    assert paginate(http, f"{API}/activity", cy) == []


def test_a_deleted_posts_comment_mentions_leave_third_parties_inboxes(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    bo, cy, media_id = _mentioned_in_a_comment_on_bos_post(http, signup)
    delete_media(http, bo, media_id)
    eventually(lambda: _cleared(http, cy), timeout=20)


def test_a_deleted_accounts_posts_comment_mentions_leave_third_parties_inboxes(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    bo, cy, _ = _mentioned_in_a_comment_on_bos_post(http, signup)
    response = http.request("DELETE", f"{API}/me", headers=bo.headers, json={"password": PASSWORD})
    assert response.status_code == 204
    eventually(lambda: _cleared(http, cy), timeout=20)
