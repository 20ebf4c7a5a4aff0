"""Live updates: the event log written beside what causes it, and its delivery to browsers.

record  -- functions a view calls inside its own transaction (a follow, a comment, a post,
           a message...) to write the event rows that notify and update others
bus     -- after commit, tells every worker which rows are new: PostgreSQL LISTEN/NOTIFY,
           Redis pub/sub, or the process itself (with polling for SQLite's other workers)
hub     -- this worker's open streams, by user and by post; routes new rows to them
stream  -- the Server-Sent Events response (replay after Last-Event-ID, heartbeats, close)
"""

from flasky.live.bus import STREAM_PATHS, init_app, start, stop

__all__ = ["STREAM_PATHS", "init_app", "start", "stop"]
