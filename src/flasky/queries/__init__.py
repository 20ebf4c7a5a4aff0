"""The read layer: every list and figure the pages and the API show, one module per thing
read (posts, comments, users and profiles, follows, messages, notifications, the signed-in
user with the navbar's counts) plus one pagination module.

Reads return small frozen records built from labelled columns, by name; writes go through
the models (flasky/models) in the views. Each read is a fixed number of statements
whatever the page size, built once per process and run with bound values.
"""
