"""The memoized url_for and the context processors run on the event loop."""

from __future__ import annotations

import inspect
import re

import pytest
from quart import url_for as quart_url_for

from flasky.compat.quart_templating import FLASK_DEFAULT_CONTEXT_PROCESSOR
from flasky.templating import MemoizedUrls


async def test_memoized_urls_equal_quarts_and_are_remembered(app):
    urls: MemoizedUrls = app.extensions["urls"]
    async with app.test_request_context("/", headers={"Host": "one.example"}):
        for endpoint, values in [
            ("main.user", {"username": "ann"}),
            ("main.post", {"id": 7}),
            ("main.index", {"page": 3}),
            # Static URLs get their content version unless they name one (tests/test_caching.py).
            ("static", {"filename": "css/flasky.css", "v": "1"}),
        ]:
            assert urls(endpoint, **values) == quart_url_for(endpoint, **values)
            assert urls(endpoint, _external=True, **values) == quart_url_for(
                endpoint, _external=True, **values
            )
        assert urls("main.post", id=7) == "/post/7"
        cached = dict(urls.urls)
        assert ("/", "main.post", ("id", 7)) in cached
        # A remembered URL is served from the table (proved by planting a marker).
        urls.urls[("/", "main.post", ("id", 7))] = "/remembered"
        assert urls("main.post", id=7) == "/remembered"
        assert urls("main.post", id=8) == "/post/8"


async def test_memoized_absolute_urls_follow_the_host_and_mount_point(app):
    urls: MemoizedUrls = app.extensions["urls"]
    async with app.test_request_context("/", headers={"Host": "one.example"}):
        assert urls("main.post", _external=True, id=1) == "http://one.example/post/1"
    async with app.test_request_context("/", headers={"Host": "two.example"}):
        assert urls("main.post", _external=True, id=1) == "http://two.example/post/1"
    async with app.test_request_context("/", headers={"Host": "two.example"}, root_path="/blog"):
        assert urls("main.post", id=1) == "/blog/post/1"
        assert urls("main.post", _external=True, id=1) == "http://two.example/blog/post/1"
    async with app.test_request_context("/", headers={"Host": "two.example"}):
        assert urls("main.post", id=1) == "/post/1"


async def test_memoized_urls_pass_the_rest_to_quart(app):
    urls: MemoizedUrls = app.extensions["urls"]
    async with app.test_request_context("/user/ann", headers={"Host": "one.example"}):
        assert urls("main.post", id=2, _anchor="comments") == "/post/2#comments"
        assert urls(".post", id=2) == "/post/2"  # blueprint-relative: not remembered
        assert urls("main.index", tag=["a", "b"]) == quart_url_for("main.index", tag=["a", "b"])
        assert not any(key[1] == ".post" for key in urls.urls)
        assert not any("_anchor" in key for key in urls.urls)
    async with app.app_context():  # outside a request: Quart's absolute default
        with pytest.raises(RuntimeError):
            urls("main.post", id=2)


async def test_memoized_urls_table_is_bounded(app):
    urls = MemoizedUrls(app, max_entries=3)
    async with app.test_request_context("/"):
        for number in range(10):
            assert urls("main.post", id=number) == f"/post/{number}"
            assert len(urls.urls) <= 3


async def test_memoized_urls_step_aside_for_url_defaults(app):
    urls = MemoizedUrls(app)
    app.url_default_functions[None] = [lambda endpoint, values: None]
    try:
        async with app.test_request_context("/"):
            assert urls("main.post", id=3) == "/post/3"
            assert urls.urls == {}
    finally:
        del app.url_default_functions[None]


def test_context_processors_run_on_the_loop(app):
    for processors in app.template_context_processors.values():
        assert FLASK_DEFAULT_CONTEXT_PROCESSOR not in processors
        for processor in processors:
            assert inspect.iscoroutinefunction(processor)


# -- rows rendered once and shared between readers (CachedFragments) --------------------------

# Each shared template, with the globals it may read besides its arguments.
SHARED_ROW_TEMPLATES = {
    "main/_comment.html": {"url_for", "avatar", "cached_fragment"},
    "main/_post.html": {"url_for", "avatar", "cached_fragment"},
    "main/_pagination.html": {"url_for", "page_numbers"},
}


@pytest.mark.parametrize("name", SHARED_ROW_TEMPLATES)
def test_shared_row_templates_read_only_their_arguments_and_two_globals(app, name):
    """A shared row is served to every reader: it must not read the request, the
    session, the current user or the CSRF token (they would leak between readers)."""
    from jinja2 import meta

    source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
    read = meta.find_undeclared_variables(app.jinja_env.parse(source))
    assert read <= SHARED_ROW_TEMPLATES[name]


async def test_shared_rows_render_once_per_arguments(app, session):
    from flasky.queries.comments import comment_by_id
    from tests.factories import make_comment, make_post, make_user

    ann = await make_user(session, username="ann")
    comment = await make_comment(session, ann, await make_post(session, ann), body="first")
    item = await comment_by_id(session, comment.id)
    await session.commit()
    fragments = app.jinja_env.globals["cached_fragment"]
    rendered = []
    render = fragments.render
    fragments.render = lambda *args: rendered.append(args) or render(*args)
    async with app.test_request_context("/"):
        as_reader = fragments("main/_comment.html", "comment_row", item, False, False)
        again = fragments("main/_comment.html", "comment_row", item, False, False)
        as_author = fragments("main/_comment.html", "comment_row", item, False, True)
    assert again is as_reader and len(rendered) == 2
    assert "first" in as_reader and "Delete" not in as_reader and "Delete" in as_author
    # A changed record is a new key: a disabled comment never shows its old row.
    async with app.test_request_context("/"):
        disabled = fragments(
            "main/_comment.html", "comment_row", item._replace(disabled=True), False, False
        )
    assert "disabled by a moderator" in disabled and "first" not in disabled
    # Under another mount point, its links follow it.
    async with app.test_request_context("/", root_path="/blog"):
        mounted = fragments("main/_comment.html", "comment_row", item, False, False)
    assert 'href="/blog/user/ann"' in mounted and 'href="/user/ann"' in as_reader


async def test_a_list_is_shared_whole_and_a_changed_list_renders_only_its_new_row(client, session):
    from tests.factories import make_post, make_user

    ann = await make_user(session, username="ann")
    for number in range(3):
        await make_post(session, ann, body=f"post {number}")
    fragments = client.app.jinja_env.globals["cached_fragment"]
    rendered: list[str] = []
    render = fragments.render
    fragments.render = lambda template, macro, args, kwargs=None: (
        rendered.append(macro) or render(template, macro, args, kwargs)
    )
    await client.get("/")
    assert sorted(rendered) == ["post_row"] * 3 + ["post_rows"]
    again = await (await client.get("/")).get_data(as_text=True)
    assert len(rendered) == 4 and "post 2" in again  # the whole list from the table
    await make_post(session, ann, body="the newest")
    page = await (await client.get("/")).get_data(as_text=True)
    assert rendered[4:] == ["post_rows", "post_row"]  # the list anew, one row rendered
    assert "the newest" in page and "post 0" in page


async def test_shared_rows_are_bounded_and_unhashable_arguments_render_uncached(app):
    from flasky.templating import CachedFragments

    fragments = CachedFragments(app, max_chars=3000)
    # Any macro will do for the table's bounds (this one is not fit to share: CSRF token).
    async with app.test_request_context("/"):
        for number in range(20):
            fragments("main/_macros.html", "post_button", f"/act/{number}", "Go")
            assert fragments.html.held <= 3000
        assert len(fragments.html) < 20
        fragments("main/_macros.html", "post_button", {"unhashable": 1}, "Go")
    assert all({"unhashable": 1} not in key for key in fragments.html)


async def test_page_links_are_shared_per_page_list_and_arguments(client, session):
    from tests.factories import make_post, make_user

    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    for _ in range(3):
        await make_post(session, ann)
        await make_post(session, bob)
    await session.commit()
    client.app.config["FLASKY_POSTS_PER_PAGE"] = 1
    fragments = client.app.jinja_env.globals["cached_fragment"]
    first = await (await client.get("/user/ann?page=2")).get_data(as_text=True)
    keys = [key for key in fragments.html if "page_links" in key]
    assert len(keys) == 1 and ("username", "ann") in keys[0]
    # The same page of the same list again: the stored links, not a second rendering.
    await client.get("/user/ann?page=2")
    assert [key for key in fragments.html if "page_links" in key] == keys
    # Another user's list and another page are their own entries, with their own links.
    as_bob = await (await client.get("/user/bob?page=3")).get_data(as_text=True)
    assert len([key for key in fragments.html if "page_links" in key]) == 2
    assert 'href="/user/ann?page=1"' in first and 'href="/user/ann?page=3"' in first
    assert 'aria-current="page"><a class="page-link" href="/user/ann?page=2"' in first
    assert 'href="/user/bob?page=2"' in as_bob and "/user/ann" not in as_bob.split("pagination")[1]


async def test_search_page_links_are_not_shared(client, session):
    from tests.factories import make_post, make_user

    ann = await make_user(session, username="ann")
    for _ in range(3):
        await make_post(session, ann, body="a searchable walrus")
    await session.commit()
    client.app.config["FLASKY_POSTS_PER_PAGE"] = 1
    fragments = client.app.jinja_env.globals["cached_fragment"]
    page = await (await client.get("/search?q=walrus")).get_data(as_text=True)
    assert "q=walrus&amp;page=2" in page or "page=2&amp;q=walrus" in page
    assert not any("walrus" in repr(key) for key in fragments.html)


async def test_the_post_page_shows_each_reader_their_own_delete_links(client, session):
    from tests.factories import login_as, make_comment, make_post, make_user

    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    post = await make_post(session, ann)
    await make_comment(session, bob, post, body="by bob")
    delete_link = re.compile(r'href="/comment/\d+/delete"')
    anonymous = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    login_as(client, bob)
    as_bob = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    login_as(client, ann)
    as_ann = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    assert "by bob" in anonymous and not delete_link.search(anonymous)
    assert delete_link.search(as_bob)
    assert not delete_link.search(as_ann)  # the post's author, but not the comment's


async def test_an_edited_row_template_is_a_new_key_where_templates_reload(app):
    from jinja2 import DictLoader

    from flasky.templating import CachedFragments

    sources = {"row.html": "{% macro row(n) %}old {{ n }}{% endmacro %}"}
    loader, reload = app.jinja_env.loader, app.jinja_env.auto_reload
    app.jinja_env.loader = DictLoader(sources)
    app.jinja_env.auto_reload = True
    try:
        fragments = CachedFragments(app)
        async with app.test_request_context("/"):
            assert fragments("row.html", "row", 1) == "old 1"
            sources["row.html"] = "{% macro row(n) %}new {{ n }}{% endmacro %}"
            assert fragments("row.html", "row", 1) == "new 1"
    finally:
        app.jinja_env.loader, app.jinja_env.auto_reload = loader, reload
