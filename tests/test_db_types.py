"""Column types: timestamps go in as naive UTC and come back as aware UTC datetimes, on
every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from flasky.models import Post
from tests.factories import make_post, make_user


async def test_timestamps_come_back_aware_in_utc(session):
    ann = await make_user(session, username="ann")
    written = datetime(2026, 12, 7, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    post = await make_post(session, ann, timestamp=written)
    await session.commit()
    session.expunge_all()
    read = await session.scalar(select(Post.timestamp).where(Post.id == post.id))
    assert read == written and read.tzinfo is UTC
    assert read == datetime(2026, 12, 7, 1, 4, 5, 123456, tzinfo=UTC)


def test_sqlites_quick_datetime_reader_reads_what_the_generic_one_reads():
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from flasky.db import UTCDateTime

    dialect = sqlite.dialect()
    column_type = UTCDateTime().dialect_impl(dialect)  # as a result reads it
    quick = column_type.result_processor(dialect, None)
    generic = TypeDecorator.result_processor(column_type, dialect, None)
    assert quick is not generic
    for text in [
        "2026-12-07 03:04:05.123456",
        "2026-12-07 03:04:05.000000",
        "2026-12-07 03:04:05",
        "2026-12-07T03:04:05.5",
        "2026-12-07 03:04:05+02:00",  # an offset: not the quick shape, read as before
        None,
    ]:
        assert quick(text) == generic(text), text
    assert quick("2026-12-07 03:04:05").tzinfo is UTC
