"""Comments on the post page, disabled comments, and the moderation page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from flasky.models import Comment, Permission, Role
from tests.factories import ROLES, login_as, make_comment, make_post, make_user, sign_in_as

DISABLED = "This comment has been disabled by a moderator."


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


async def comments_of(session) -> list[Comment]:
    session.expunge_all()
    found = list(await session.scalars(select(Comment).order_by(Comment.id)))
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return found


async def comment_count(session) -> int:
    count = await session.scalar(select(func.count(Comment.id)))
    await session.commit()
    return count


# -- writing comments ------------------------------------------------------------------------


async def test_a_new_comment_goes_to_the_last_page_with_the_book_message(client, session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    await sign_in_as(client, session, "User", username="bob")
    response = await client.post(f"/post/{post.id}", form={"body": "nice *post*"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/post/{post.id}?page=-1#comments"
    html = await text_of(await client.get(f"/post/{post.id}?page=-1"))
    assert "Your comment has been published." in html
    assert "nice <em>post</em>" in html and 'href="/user/bob"' in html
    assert "1 Comment<" in html
    (comment,) = await comments_of(session)
    assert comment.post_id == post.id and comment.body == "nice *post*"


async def test_comments_are_sanitised_to_the_comment_allow_list(client, session):
    ann = await sign_in_as(client, session, "User")
    post = await make_post(session, ann)
    body = "# Head <script>alert(1)</script> [link](https://example.com) **b**"
    await client.post(f"/post/{post.id}", form={"body": body})
    html = await text_of(await client.get(f"/post/{post.id}"))
    assert "<script>alert" not in html and "alert(1)" not in html
    assert 'href="https://example.com"' in html and "<strong>b</strong>" in html
    (comment,) = await comments_of(session)
    assert "<h1>" not in comment.body_html and "<p>" not in comment.body_html


async def test_an_empty_comment_is_a_form_error(client, session):
    ann = await sign_in_as(client, session, "User")
    post = await make_post(session, ann)
    response = await client.post(f"/post/{post.id}", form={"body": ""})
    assert response.status_code == 200
    assert "This field is required." in await text_of(response)
    assert await comment_count(session) == 0


async def test_commenting_anonymously_redirects_to_login(client, session):
    post = await make_post(session, await make_user(session))
    response = await client.post(f"/post/{post.id}", form={"body": "hi"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert await comment_count(session) == 0


async def test_commenting_without_permission_is_forbidden(client, session):
    session.add(Role(name="Quiet", permissions=Permission.FOLLOW))
    await session.commit()
    quiet = await make_user(session, role="Quiet")
    post = await make_post(session, await make_user(session))
    login_as(client, quiet)
    assert 'name="body"' not in await text_of(await client.get(f"/post/{post.id}"))
    assert (await client.post(f"/post/{post.id}", form={"body": "hi"})).status_code == 403
    assert await comment_count(session) == 0


async def test_commenting_on_an_unknown_post_is_404(client, session):
    await sign_in_as(client, session, "User")
    assert (await client.post("/post/999", form={"body": "hi"})).status_code == 404


# -- comment pagination ----------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"FLASKY_COMMENTS_PER_PAGE": 2}])
async def test_comment_pages_oldest_first_and_minus_one_is_the_last(client, session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    for n in range(1, 6):
        await make_comment(session, ann, post, body=f"comment number {n}")

    def numbers(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"comment number (\d)", html)]

    assert numbers(await text_of(await client.get(f"/post/{post.id}"))) == [1, 2]
    assert numbers(await text_of(await client.get(f"/post/{post.id}?page=2"))) == [3, 4]
    assert numbers(await text_of(await client.get(f"/post/{post.id}?page=-1"))) == [5]
    assert numbers(await text_of(await client.get(f"/post/{post.id}?page=0"))) == [1, 2]
    past = await client.get(f"/post/{post.id}?page=7")
    assert past.status_code == 200 and numbers(await text_of(past)) == []
    first = await text_of(await client.get(f"/post/{post.id}"))
    assert f'href="/post/{post.id}?page=3#comments"' in first
    assert "5 Comments" in first

    await sign_in_as(client, session, "User")
    response = await client.post(f"/post/{post.id}", form={"body": "comment number 6"})
    landing = await text_of(await client.get(response.headers["Location"].split("#")[0]))
    assert numbers(landing) == [5, 6]


async def test_minus_one_on_a_post_without_comments_is_fine(client, session):
    post = await make_post(session, await make_user(session))
    assert (await client.get(f"/post/{post.id}?page=-1")).status_code == 200


# -- disabled comments -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_disabled_comment_text_is_for_moderators_only(client, session, role):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    await make_comment(session, ann, post, body="rude words", disabled=True)
    await make_comment(session, ann, post, body="kind words")
    await sign_in_as(client, session, role)
    html = await text_of(await client.get(f"/post/{post.id}"))
    assert "kind words" in html
    if role in ("Moderator", "Administrator"):
        assert "rude words" in html and "Disabled</span>" in html
        assert DISABLED not in html
    else:
        assert "rude words" not in html and DISABLED in html


# -- moderation ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_moderation_page_is_for_moderators(client, session, role):
    await sign_in_as(client, session, role)
    response = await client.get("/moderate")
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")
    elif role == "User":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert "Comment Moderation" in await text_of(response)


@pytest.mark.parametrize("app_config", [{"FLASKY_COMMENTS_PER_PAGE": 2}])
async def test_moderation_lists_all_comments_newest_first_with_buttons(client, session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    first = await make_comment(session, ann, post, body="comment one")
    second = await make_comment(session, ann, post, body="comment two", disabled=True)
    third = await make_comment(session, ann, post, body="comment three")
    await sign_in_as(client, session, "Moderator")

    html = await text_of(await client.get("/moderate"))
    assert html.index("comment three") < html.index("comment two")
    assert "comment one" not in html
    assert f'action="/moderate/disable/{third.id}?page=1"' in html
    assert f'action="/moderate/enable/{second.id}?page=1"' in html
    assert 'href="/moderate?page=2"' in html

    html = await text_of(await client.get("/moderate?page=2"))
    assert "comment one" in html
    assert f'action="/moderate/disable/{first.id}?page=2"' in html
    assert (await client.get("/moderate?page=5")).status_code == 200


async def test_disable_and_enable_come_back_to_the_same_page(client, session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    comment = await make_comment(session, ann, post, body="hmm")
    await sign_in_as(client, session, "Moderator")

    response = await client.post(f"/moderate/disable/{comment.id}?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/moderate?page=2"
    assert (await comments_of(session))[0].disabled

    response = await client.post(f"/moderate/enable/{comment.id}?page=3")
    assert response.headers["Location"] == "/moderate?page=3"
    assert not (await comments_of(session))[0].disabled


@pytest.mark.parametrize("action", ["enable", "disable"])
async def test_moderation_get_is_405_and_changes_nothing(client, session, action):
    ann = await make_user(session)
    comment = await make_comment(
        session, ann, await make_post(session, ann), disabled=(action == "enable")
    )
    await sign_in_as(client, session, "Moderator")
    assert (await client.get(f"/moderate/{action}/{comment.id}")).status_code == 405
    assert (await comments_of(session))[0].disabled == (action == "enable")


@pytest.mark.parametrize("role", ["anonymous", "User"])
async def test_moderation_actions_need_the_permission(client, session, role):
    ann = await make_user(session)
    comment = await make_comment(session, ann, await make_post(session, ann))
    await sign_in_as(client, session, role)
    response = await client.post(f"/moderate/disable/{comment.id}")
    assert response.status_code == (302 if role == "anonymous" else 403)
    assert not (await comments_of(session))[0].disabled


async def test_moderating_an_unknown_comment_is_404(client, session):
    await sign_in_as(client, session, "Moderator")
    assert (await client.post("/moderate/disable/999")).status_code == 404


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
async def test_moderation_buttons_need_a_csrf_token(client, session):
    ann = await make_user(session)
    comment = await make_comment(session, ann, await make_post(session, ann))
    await sign_in_as(client, session, "Moderator")
    assert (await client.post(f"/moderate/disable/{comment.id}?page=1")).status_code == 400
    assert not (await comments_of(session))[0].disabled

    html = await text_of(await client.get("/moderate"))
    token = re.search(
        rf'action="/moderate/disable/{comment.id}\?page=1"[^>]*>\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]+)"',
        html,
    ).group(1)
    response = await client.post(
        f"/moderate/disable/{comment.id}?page=1", form={"csrf_token": token}
    )
    assert response.status_code == 302
    assert (await comments_of(session))[0].disabled
