"""GitHub's C CommonMark parser (cmark-gfm), called through the library cmarkgfm ships,
without the memory leak of cmarkgfm's own wrappers.

cmark-gfm parses in time linear in its input, so no body, however crafted, holds a worker
for long; the calls run in C with the GIL released.

What this touches: cmarkgfm's Python functions (checked with cmarkgfm 2025.10.22, which
bundles cmark 0.29.0.gfm.13) return the rendered HTML but never free it, nor the parsed
document: about 2 MB stay allocated for each 40 KB body, for the life of the process. Here
the same parse/render calls go through cmarkgfm's compiled module (`cmarkgfm._cmark`), and
the two buffers are released with the library's own `cmark_node_free` and its default
allocator's `free`, looked up in that compiled module. tests/test_compat.py fails if the
compiled module stops exporting any of these, and tests/test_markdown.py's
test_rendering_does_not_leak if the buffers stop being the ones to free.
"""

from __future__ import annotations

import threading

import cffi
from cmarkgfm import _cmark

EXTENSIONS = ("table", "strikethrough", "autolink")
# Without it, raw HTML in the text is left out (replaced by OMITTED; the text between
# tags stays): the output is then well-formed HTML with every `<` outside a tag escaped.
RAW_HTML = _cmark.lib.CMARK_OPT_UNSAFE
OMITTED = "<!-- raw HTML omitted -->"

_ffi = cffi.FFI()
_ffi.cdef(
    """
    typedef struct cmark_node cmark_node;
    typedef struct cmark_mem {
        void *(*calloc)(size_t, size_t);
        void *(*realloc)(void *, size_t);
        void (*free)(void *);
    } cmark_mem;
    void cmark_node_free(cmark_node *node);
    cmark_mem *cmark_get_default_mem_allocator(void);
    """
)
_release = _ffi.dlopen(_cmark.__file__)
_allocator = _release.cmark_get_default_mem_allocator()

_lib = _cmark.lib
_extensions_lock = threading.Lock()
_extension_handles: list = []


def _extensions() -> list:
    # Registering the core extensions mutates a global list in C: once, under a lock.
    with _extensions_lock:
        if not _extension_handles:
            _lib.cmark_gfm_core_extensions_ensure_registered()
            for name in EXTENSIONS:
                handle = _lib.cmark_find_syntax_extension(name.encode())
                if handle == _cmark.ffi.NULL:
                    raise RuntimeError(f"cmark-gfm has no {name!r} extension")
                _extension_handles.append(handle)
        return _extension_handles


def _address(pointer: object) -> int:
    return int(_cmark.ffi.cast("uintptr_t", pointer))


def to_html(text: str, *, raw_html: bool) -> str:
    """CommonMark with GitHub's tables, strikethrough and bare-URL links, as HTML;
    raw HTML in the text passes through as it is only with `raw_html`."""
    options = RAW_HTML if raw_html else _cmark.lib.CMARK_OPT_DEFAULT
    extensions = _extensions()
    # A lone surrogate (which JSON can carry) has no UTF-8 form: it becomes "?".
    source = text.encode("utf-8", "replace")
    parser = _lib.cmark_parser_new(options)
    document = _cmark.ffi.NULL
    try:
        for extension in extensions:
            _lib.cmark_parser_attach_syntax_extension(parser, extension)
        _lib.cmark_parser_feed(parser, source, len(source))
        document = _lib.cmark_parser_finish(parser)
        output = _lib.cmark_render_html(
            document, options, _lib.cmark_parser_get_syntax_extensions(parser)
        )
        try:
            return _cmark.ffi.string(output).decode("utf-8")
        finally:
            _allocator.free(_ffi.cast("void *", _address(output)))
    finally:
        if document != _cmark.ffi.NULL:
            _release.cmark_node_free(_ffi.cast("cmark_node *", _address(document)))
        _lib.cmark_parser_free(parser)
