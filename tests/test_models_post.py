"""Posts and comments: Markdown rendered and sanitised on write (SPEC §4), JSON in and out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flasky.models import Comment, Post, ValidationError
from flasky.models.post import count_words, reading_minutes
from tests.factories import make_comment, make_post, make_user


def test_markdown_is_rendered_on_write():
    assert Post(body="body **x**").body_html == "<p>body <strong>x</strong></p>"
    assert Post(body="body of the *blog* post").body_html == "<p>body of the <em>blog</em> post</p>"


def test_set_body_rerenders():
    post = Post(body="first")
    post.set_body("*second*")
    assert post.body == "*second*"
    assert post.body_html == "<p><em>second</em></p>"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("body of the *blog* post", 5),
        ("see [my post](http://example.com/a-long/path?x=1) **now**", 4),
        ("don't stop — state-of-the-art & more", 4),
        ("# Title\n\n- one\n- two\n\n`code`", 4),
        ("", 0),
    ],
)
def test_word_count_is_of_the_rendered_text(body, words):
    post = Post(body=body)
    assert post.word_count == words == count_words(post.body_html)


def test_reading_time_is_whole_minutes_at_200_words_each():
    assert [reading_minutes(n) for n in (0, 1, 200, 201, 1000)] == [1, 1, 1, 2, 5]
    assert Post(body="word " * 401).reading_minutes == 3


def test_an_edit_takes_every_derived_field():
    post, edited = Post(body="one"), Post(body="two *three* four")
    post.take_body(edited)
    assert (post.body, post.body_html, post.word_count) == (
        "two *three* four",
        "<p>two <em>three</em> four</p>",
        3,
    )


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert('x')</script>",
        "hello <script>alert('x')</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "<iframe src='https://evil.example'></iframe>",
    ],
)
@pytest.mark.parametrize("model", [Post, Comment])
def test_dangerous_html_never_survives(model, body):
    html = model(body=body).body_html
    for bad in ("<script", "onerror", "javascript:", "<iframe", "src="):
        assert bad not in html
    if model is Comment:
        assert "<img" not in html


def test_post_allow_list_keeps_structure():
    html = Post(body="# Title\n\n- one\n- two\n\n> quoted\n\n    code").body_html
    for tag in ("<h1>", "<ul>", "<li>", "<blockquote>", "<pre>", "<code>"):
        assert tag in html


def test_comment_allow_list_is_narrower():
    html = Comment(body="# Title\n\n- one\n\n**bold** `code`").body_html
    for tag in ("<h1>", "<ul>", "<li>", "<p>"):
        assert tag not in html
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html


@pytest.mark.parametrize("model", [Post, Comment])
def test_bare_urls_are_linkified(model):
    html = model(body="see https://example.com/page for more").body_html
    assert '<a href="https://example.com/page"' in html
    assert 'rel="noopener noreferrer"' in html


async def test_rendered_html_is_stored(session):
    author = await make_user(session)
    post = await make_post(session, author, "stored **bold**")
    comment = await make_comment(session, author, post, "*nice*")
    session.expunge_all()
    stored = await session.scalar(select(Post).where(Post.id == post.id))
    assert stored.body_html == "<p>stored <strong>bold</strong></p>"
    stored_comment = await session.get(Comment, comment.id)
    assert stored_comment.body_html == "<em>nice</em>"
    assert not stored_comment.disabled
    assert stored.timestamp.tzinfo is not None


def test_post_from_json():
    post = Post.from_json({"body": "from *json*"})
    assert post.body == "from *json*"
    assert post.body_html == "<p>from <em>json</em></p>"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "body",
        3,
        {},
        {"body": None},
        {"body": ""},
        {"body": "   "},
        {"body": 12},
        {"body": ["x"]},
    ],
)
@pytest.mark.parametrize("model", [Post, Comment])
def test_from_json_rejects_bad_input(model, payload):
    with pytest.raises(ValidationError):
        model.from_json(payload)


def test_comment_from_json():
    comment = Comment.from_json({"body": "a **comment**"})
    assert comment.body_html == "a <strong>comment</strong>"


