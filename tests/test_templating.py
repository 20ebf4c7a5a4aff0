"""The memoized url_for and the context processors run on the event loop."""

from __future__ import annotations

import inspect

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
