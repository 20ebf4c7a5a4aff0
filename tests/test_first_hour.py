"""What a new user expects of the pages: Register in the navbar, password-manager hints,
a comment box to write in, a word on empty lists, Cancel on edit pages."""

from __future__ import annotations

import re

import pytest

from tests.factories import login_as, make_post, make_user


async def html_of(client, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, url
    return await response.get_data(as_text=True)


async def test_navbar_offers_register_to_visitors_only(client, session):
    assert 'href="/auth/register">Register</a>' in await html_of(client, "/")
    login_as(client, await make_user(session))
    assert 'href="/auth/register"' not in await html_of(client, "/")


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/auth/login", {"email": "email", "password": "current-password"}),
        (
            "/auth/register",
            {
                "email": "email",
                "username": "username",
                "password": "new-password",
                "password2": "new-password",
            },
        ),
        ("/auth/reset", {"email": "email"}),
    ],
)
async def test_inputs_tell_password_managers_what_they_are(client, url, fields):
    html = await html_of(client, url)
    for name, autocomplete in fields.items():
        tag = re.search(rf'<input[^>]* name="{name}"[^>]*>', html).group(0)
        assert f'autocomplete="{autocomplete}"' in tag, tag


async def test_signed_in_forms_carry_autocomplete(client, session):
    login_as(client, await make_user(session))
    html = await html_of(client, "/auth/change-password")
    assert re.search(r'name="old_password"[^>]*autocomplete="current-password"', html) or re.search(
        r'autocomplete="current-password"[^>]*name="old_password"', html
    )
    assert html.count('autocomplete="new-password"') == 2
    html = await html_of(client, "/auth/change_email")
    assert 'autocomplete="email"' in html and 'autocomplete="current-password"' in html


async def test_the_comment_box_is_a_textarea(client, session):
    author = await make_user(session)
    post = await make_post(session, author)
    login_as(client, author)
    html = await html_of(client, f"/post/{post.id}")
    assert re.search(r'<textarea[^>]*name="body"', html)


async def test_empty_pages_say_so(client, session):
    lonely = await make_user(session, username="lonely")
    assert "No posts yet." in await html_of(client, "/?page=5")
    assert "No posts yet." in await html_of(client, "/user/lonely")
    assert "No followers yet." in await html_of(client, "/followers/lonely")
    assert "Not following anyone yet." in await html_of(client, "/followed_by/lonely")
    post = await make_post(session, lonely)
    assert "No comments yet." in await html_of(client, f"/post/{post.id}")
    assert "No posts yet." not in await html_of(client, "/")


async def test_edit_pages_have_cancel(client, session):
    author = await make_user(session, username="writer")
    post = await make_post(session, author)
    login_as(client, author)
    for url, back in [
        (f"/edit/{post.id}", f"/post/{post.id}"),
        ("/edit-profile", "/user/writer"),
        ("/auth/change-password", "/"),
        ("/auth/change_email", "/"),
    ]:
        html = await html_of(client, url)
        assert f'href="{back}">Cancel</a>' in html, url
