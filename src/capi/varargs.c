/* varargs.c: the C-variadic and va_list part of libstackless's C API.
 *
 * Stable Rust can neither define a C-variadic function nor read a va_list, so these
 * functions are written in C on top of the non-variadic API (include/stackless.h). Each
 * public name (Py_BuildValue, ...) is a Rust naked-function trampoline (varargs.rs) that
 * jumps to slp_impl_<Name> here, which has exactly the public signature.
 *
 * The semantics and messages follow CPython 3.12 (Objects/unicodeobject.c,
 * Python/modsupport.c, Python/getargs.c, Objects/call.c). Differences, all documented in
 * the header: there is no float, complex, list or buffer type, so the units that need one are
 * SystemErrors; ints are 64-bit; strs hold valid UTF-8 only (no lone surrogates); every
 * required pointer argument is checked (a SystemError naming the function instead of a
 * crash); format strings are validated before any argument is converted.
 *
 * Memory: variable-size text is built in a growable buffer (strbuf); nothing is written
 * into a fixed-size buffer except bounded snprintf calls. Nesting depth is limited (a
 * SystemError beyond the limit), so recursion is bounded.
 */

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "stackless.h"

#define SLP_SSIZE_MAX PTRDIFF_MAX
#define MAX_UNICODE 0x10FFFF

/* The value a PyArg converter (O&) returns to ask for a cleanup call on later failure. */
#ifndef Py_CLEANUP_SUPPORTED
#define Py_CLEANUP_SUPPORTED 0x20000
#endif

/* Public signatures (the trampolines in varargs.rs jump here). */
PyObject *slp_impl_PyUnicode_FromFormat(const char *format, ...);
PyObject *slp_impl_PyUnicode_FromFormatV(const char *format, va_list vargs);
PyObject *slp_impl_PyErr_Format(PyObject *exception, const char *format, ...);
PyObject *slp_impl_PyErr_FormatV(PyObject *exception, const char *format, va_list vargs);
PyObject *slp_impl_Py_BuildValue(const char *format, ...);
PyObject *slp_impl_Py_VaBuildValue(const char *format, va_list vargs);
int slp_impl_PyArg_ParseTuple(PyObject *args, const char *format, ...);
int slp_impl_PyArg_VaParse(PyObject *args, const char *format, va_list vargs);
int slp_impl_PyArg_ParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                         char **keywords, ...);
int slp_impl_PyArg_VaParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                           char **keywords, va_list vargs);
int slp_impl_PyArg_UnpackTuple(PyObject *args, const char *name, Py_ssize_t min,
                               Py_ssize_t max, ...);
PyObject *slp_impl_PyObject_CallFunction(PyObject *callable, const char *format, ...);
PyObject *slp_impl_PyObject_CallMethod(PyObject *obj, const char *name, const char *format,
                                       ...);
PyObject *slp_impl_PyObject_CallFunctionObjArgs(PyObject *callable, ...);
PyObject *slp_impl_PyObject_CallMethodObjArgs(PyObject *obj, PyObject *name, ...);
PyObject *slp_impl_PyTuple_Pack(Py_ssize_t n, ...);

/* ===================================================================================== */
/* Growable byte buffer                                                                    */
/* ===================================================================================== */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} strbuf;

/* Makes room for `extra` more bytes. Returns 0, or -1 with MemoryError set. */
static int sb_reserve(strbuf *b, size_t extra) {
    if (extra <= b->cap - b->len) {
        return 0;
    }
    /* Keep every length representable as a Py_ssize_t. */
    if (extra > (size_t)SLP_SSIZE_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > (size_t)SLP_SSIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static int sb_put(strbuf *b, const char *s, size_t n) {
    if (n == 0) {
        return 0;
    }
    if (sb_reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int sb_putc(strbuf *b, char c) { return sb_put(b, &c, 1); }

static int sb_puts(strbuf *b, const char *s) { return sb_put(b, s, strlen(s)); }

static int sb_fill(strbuf *b, char c, size_t n) {
    if (n == 0) {
        return 0;
    }
    if (sb_reserve(b, n) < 0) {
        return -1;
    }
    memset(b->data + b->len, c, n);
    b->len += n;
    return 0;
}

static void sb_free(strbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* A str made from the buffer's contents (which are valid UTF-8). */
static PyObject *sb_to_str(const strbuf *b) {
    return PyUnicode_FromStringAndSize(b->len ? b->data : NULL, (Py_ssize_t)b->len);
}

/* ===================================================================================== */
/* UTF-8 helpers                                                                           */
/* ===================================================================================== */

/* Encodes a code point (not a surrogate, at most 0x10FFFF) into out; returns the length. */
static size_t utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int is_surrogate(long cp) { return cp >= 0xD800 && cp <= 0xDFFF; }

/* Decodes the code point starting at s (valid UTF-8); stores its length in *len. */
static uint32_t utf8_decode_valid(const unsigned char *s, size_t *len) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0) {
        *len = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Number of code points in n bytes of valid UTF-8. */
static size_t utf8_count(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            count++;
        }
    }
    return count;
}

/* Byte length of the first k code points of n bytes of valid UTF-8 (all of it if fewer). */
static size_t utf8_prefix(const char *s, size_t n, size_t k) {
    size_t i = 0;
    while (i < n && k > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) {
            i++;
        }
        k--;
    }
    return i;
}

/* Appends n bytes of possibly invalid UTF-8, replacing each invalid sequence (its maximal
 * valid prefix, or one bad byte) by U+FFFD, as CPython's "replace" error handler does.
 * With `stateful`, an incomplete sequence at the very end is dropped instead. Adds the
 * number of characters appended to *nchars. Returns 0, or -1 with MemoryError set. */
static int sb_put_utf8_replace(strbuf *b, const unsigned char *s, size_t n, int stateful,
                               size_t *nchars) {
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0;
    size_t count = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            size_t j = i + 1;
            while (j < n && s[j] < 0x80) {
                j++;
            }
            if (sb_put(b, (const char *)s + i, j - i) < 0) {
                return -1;
            }
            count += j - i;
            i = j;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c >= 0xE1 && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else {
            if (sb_put(b, replacement, 3) < 0) {
                return -1;
            }
            count++;
            i++;
            continue;
        }
        size_t k = 1; /* bytes of the sequence found valid so far */
        while (k <= need && i + k < n) {
            unsigned char cc = s[i + k];
            unsigned char l = (k == 1) ? lo : 0x80;
            unsigned char h = (k == 1) ? hi : 0xBF;
            if (cc < l || cc > h) {
                break;
            }
            k++;
        }
        if (k == need + 1) {
            if (sb_put(b, (const char *)s + i, k) < 0) {
                return -1;
            }
        } else if (stateful && i + k == n) {
            break; /* incomplete sequence at the end: drop it */
        } else if (sb_put(b, replacement, 3) < 0) {
            return -1;
        }
        count++;
        i += k;
    }
    *nchars += count;
    return 0;
}

/* ===================================================================================== */
/* Small helpers                                                                           */
/* ===================================================================================== */

static PyObject *err_format(PyObject *exception, const char *format, ...);

/* SystemError("<func>: argument '<arg>' must not be NULL") (the Rust side's wording). */
static void null_arg(const char *func, const char *arg) {
    err_format(PyExc_SystemError, "%s: argument '%s' must not be NULL", func, arg);
}

/* The type name used in messages: "None" for None, as CPython's getargs does. */
static const char *type_name_of(PyObject *o) {
    if (o == NULL) {
        return "NULL";
    }
    if (o == Py_None) {
        return "None";
    }
    const char *name = PyType_GetTpName(Py_TYPE(o));
    if (name == NULL) {
        PyErr_Clear();
        return "?";
    }
    return name;
}

/* The real type name (CPython's tp_name), used where CPython does not special-case None. */
static const char *real_type_name(PyObject *o) {
    if (o == NULL) {
        return "NULL";
    }
    const char *name = PyType_GetTpName(Py_TYPE(o));
    if (name == NULL) {
        PyErr_Clear();
        return "?";
    }
    return name;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* ===================================================================================== */
/* PyUnicode_FromFormat                                                                    */
/* ===================================================================================== */

enum { SZ_NONE, SZ_LONG, SZ_LONGLONG, SZ_SIZE, SZ_PTRDIFF, SZ_INTMAX };

/* Appends s (n bytes of valid UTF-8, nchars characters), cut to `precision` characters
 * (-1: no limit) and padded with spaces to `width` characters (-1: none). */
static int fmt_write_text(strbuf *b, const char *s, size_t n, size_t nchars, Py_ssize_t width,
                          Py_ssize_t precision, int ljust) {
    if (precision >= 0 && (size_t)precision < nchars) {
        n = utf8_prefix(s, n, (size_t)precision);
        nchars = (size_t)precision;
    }
    size_t fill = (width > 0 && (size_t)width > nchars) ? (size_t)width - nchars : 0;
    if (!ljust && sb_fill(b, ' ', fill) < 0) {
        return -1;
    }
    if (sb_put(b, s, n) < 0) {
        return -1;
    }
    if (ljust && sb_fill(b, ' ', fill) < 0) {
        return -1;
    }
    return 0;
}

/* Appends the str `obj` with width/precision. */
static int fmt_write_str(strbuf *b, PyObject *obj, Py_ssize_t width, Py_ssize_t precision,
                         int ljust) {
    Py_ssize_t size;
    const char *s = PyUnicode_AsUTF8AndSize(obj, &size);
    if (s == NULL) {
        return -1;
    }
    return fmt_write_text(b, s, (size_t)size, utf8_count(s, (size_t)size), width, precision,
                          ljust);
}

/* Appends a UTF-8 C string (invalid bytes replaced by U+FFFD). With a precision, at most
 * that many bytes are read, and an incomplete sequence at the cut is dropped (CPython). */
static int fmt_write_cstr(strbuf *b, const char *s, Py_ssize_t width, Py_ssize_t precision,
                          int ljust) {
    if (s == NULL) {
        s = "(null)";
    }
    size_t length;
    int stateful = 0;
    if (precision < 0) {
        length = strlen(s);
    } else {
        length = 0;
        while (length < (size_t)precision && s[length]) {
            length++;
        }
        stateful = (length == (size_t)precision);
    }
    strbuf tmp = {0};
    size_t nchars = 0;
    int r = sb_put_utf8_replace(&tmp, (const unsigned char *)s, length, stateful, &nchars);
    if (r == 0) {
        r = fmt_write_text(b, tmp.data, tmp.len, nchars, width, -1, ljust);
    }
    sb_free(&tmp);
    return r;
}

/* Appends a wchar_t string (code points; invalid ones replaced by U+FFFD). */
static int fmt_write_wcstr(strbuf *b, const wchar_t *s, Py_ssize_t width, Py_ssize_t precision,
                           int ljust) {
    if (s == NULL) {
        s = L"(null)";
    }
    strbuf tmp = {0};
    size_t nchars = 0;
    int r = 0;
    for (size_t i = 0; s[i] != 0 && (precision < 0 || i < (size_t)precision); i++) {
        long cp = (long)s[i];
        char enc[4];
        size_t n;
        if (cp < 0 || cp > MAX_UNICODE || is_surrogate(cp)) {
            n = utf8_encode(0xFFFD, enc);
        } else {
            n = utf8_encode((uint32_t)cp, enc);
        }
        if ((r = sb_put(&tmp, enc, n)) < 0) {
            break;
        }
        nchars++;
    }
    if (r == 0) {
        r = fmt_write_text(b, tmp.data, tmp.len, nchars, width, -1, ljust);
    }
    sb_free(&tmp);
    return r;
}

/* ascii(): repr() with the non-ASCII characters escaped (\xhh, \uhhhh, \Uhhhhhhhh). */
static PyObject *object_ascii(PyObject *obj) {
    PyObject *repr = PyObject_Repr(obj);
    if (repr == NULL) {
        return NULL;
    }
    Py_ssize_t size;
    const char *s = PyUnicode_AsUTF8AndSize(repr, &size);
    if (s == NULL) {
        Py_DECREF(repr);
        return NULL;
    }
    strbuf b = {0};
    PyObject *result = NULL;
    size_t i = 0;
    while (i < (size_t)size) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (sb_putc(&b, (char)c) < 0) {
                goto done;
            }
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = utf8_decode_valid((const unsigned char *)s + i, &len);
        char esc[16];
        if (cp < 0x100) {
            snprintf(esc, sizeof esc, "\\x%02" PRIx32, cp);
        } else if (cp < 0x10000) {
            snprintf(esc, sizeof esc, "\\u%04" PRIx32, cp);
        } else {
            snprintf(esc, sizeof esc, "\\U%08" PRIx32, cp);
        }
        if (sb_puts(&b, esc) < 0) {
            goto done;
        }
        i += len;
    }
    result = sb_to_str(&b);
done:
    sb_free(&b);
    Py_DECREF(repr);
    return result;
}

/* Handles one conversion; f points at its '%'. Returns the position after it, or NULL with
 * an exception set. */
static const char *fmt_one(strbuf *b, const char *f, va_list *va) {
    const char *start = f;
    f++;
    if (*f == '%') {
        return sb_putc(b, '%') < 0 ? NULL : f + 1;
    }

    int ljust = 0, zero = 0;
    for (;; f++) {
        if (*f == '-') {
            ljust = 1;
        } else if (*f == '0') {
            zero = 1;
        } else {
            break;
        }
    }

    Py_ssize_t width = -1;
    if (*f == '*') {
        int w = va_arg(*va, int);
        width = w;
        if (width < 0) {
            ljust = 1;
            width = -width;
        }
        f++;
    } else if (is_digit(*f)) {
        width = 0;
        while (is_digit(*f)) {
            if (width > (SLP_SSIZE_MAX - (*f - '0')) / 10) {
                PyErr_SetString(PyExc_ValueError, "width too big");
                return NULL;
            }
            width = width * 10 + (*f - '0');
            f++;
        }
    }
    Py_ssize_t precision = -1;
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int p = va_arg(*va, int);
            precision = p < 0 ? -1 : p;
            f++;
        } else if (is_digit(*f)) {
            precision = 0;
            while (is_digit(*f)) {
                if (precision > (SLP_SSIZE_MAX - (*f - '0')) / 10) {
                    PyErr_SetString(PyExc_ValueError, "precision too big");
                    return NULL;
                }
                precision = precision * 10 + (*f - '0');
                f++;
            }
        }
    }

    int sizemod = SZ_NONE;
    if (*f == 'l') {
        if (f[1] == 'l') {
            sizemod = SZ_LONGLONG;
            f += 2;
        } else {
            sizemod = SZ_LONG;
            f++;
        }
    } else if (*f == 'z') {
        sizemod = SZ_SIZE;
        f++;
    } else if (*f == 't') {
        sizemod = SZ_PTRDIFF;
        f++;
    } else if (*f == 'j') {
        sizemod = SZ_INTMAX;
        f++;
    }

    switch (*f) {
    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
        break;
    case 'c': case 'p':
        if (sizemod != SZ_NONE || width >= 0 || precision >= 0) {
            goto invalid;
        }
        break;
    case 's': case 'V':
        if (sizemod != SZ_NONE && sizemod != SZ_LONG) {
            goto invalid;
        }
        break;
    case 'U': case 'S': case 'R': case 'A':
        if (sizemod != SZ_NONE) {
            goto invalid;
        }
        break;
    default:
        goto invalid;
    }

    switch (*f) {
    case 'c': {
        int ordinal = va_arg(*va, int);
        if (ordinal < 0 || ordinal > MAX_UNICODE) {
            PyErr_SetString(PyExc_OverflowError, "character argument not in range(0x110000)");
            return NULL;
        }
        if (is_surrogate(ordinal)) {
            err_format(PyExc_ValueError,
                       "character argument U+%X is a surrogate, which a libstackless str "
                       "cannot hold",
                       (unsigned)ordinal);
            return NULL;
        }
        char enc[4];
        if (sb_put(b, enc, utf8_encode((uint32_t)ordinal, enc)) < 0) {
            return NULL;
        }
        break;
    }

    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': {
        char num[80];
        int len;
        if (*f == 'd' || *f == 'i') {
            intmax_t v;
            switch (sizemod) {
            case SZ_LONG: v = va_arg(*va, long); break;
            case SZ_LONGLONG: v = va_arg(*va, long long); break;
            case SZ_SIZE: v = va_arg(*va, Py_ssize_t); break;
            case SZ_PTRDIFF: v = va_arg(*va, ptrdiff_t); break;
            case SZ_INTMAX: v = va_arg(*va, intmax_t); break;
            default: v = va_arg(*va, int); break;
            }
            len = snprintf(num, sizeof num, "%jd", v);
        } else {
            uintmax_t v;
            switch (sizemod) {
            case SZ_LONG: v = va_arg(*va, unsigned long); break;
            case SZ_LONGLONG: v = va_arg(*va, unsigned long long); break;
            case SZ_SIZE: v = va_arg(*va, size_t); break;
            case SZ_PTRDIFF: v = (size_t)va_arg(*va, ptrdiff_t); break;
            case SZ_INTMAX: v = va_arg(*va, uintmax_t); break;
            default: v = va_arg(*va, unsigned int); break;
            }
            switch (*f) {
            case 'o': len = snprintf(num, sizeof num, "%jo", v); break;
            case 'x': len = snprintf(num, sizeof num, "%jx", v); break;
            case 'X': len = snprintf(num, sizeof num, "%jX", v); break;
            default: len = snprintf(num, sizeof num, "%ju", v); break;
            }
        }
        if (len < 0 || (size_t)len >= sizeof num) {
            PyErr_SetString(PyExc_SystemError, "PyUnicode_FromFormat: integer formatting failed");
            return NULL;
        }
        /* Padding as CPython: precision = minimum digits, width = minimum total. */
        Py_ssize_t sign = (num[0] == '-');
        Py_ssize_t digits = len - sign;
        Py_ssize_t prec = precision > digits ? precision : digits;
        Py_ssize_t wid = width > prec + sign ? width : prec + sign;
        if (zero && !ljust) {
            prec = wid - sign;
        }
        Py_ssize_t spacepad = wid - prec - sign;
        Py_ssize_t zeropad = prec - digits;
        if (spacepad < 0) spacepad = 0;
        if (zeropad < 0) zeropad = 0;
        if ((!ljust && sb_fill(b, ' ', (size_t)spacepad) < 0) ||
            (sign && sb_putc(b, '-') < 0) || sb_fill(b, '0', (size_t)zeropad) < 0 ||
            sb_put(b, num + sign, (size_t)digits) < 0 ||
            (ljust && sb_fill(b, ' ', (size_t)spacepad) < 0)) {
            return NULL;
        }
        break;
    }

    case 'p': {
        char num[40];
        uintptr_t v = (uintptr_t)va_arg(*va, void *);
        snprintf(num, sizeof num, "0x%" PRIxPTR, v);
        if (sb_puts(b, num) < 0) {
            return NULL;
        }
        break;
    }

    case 's': {
        int r;
        if (sizemod == SZ_LONG) {
            r = fmt_write_wcstr(b, va_arg(*va, const wchar_t *), width, precision, ljust);
        } else {
            r = fmt_write_cstr(b, va_arg(*va, const char *), width, precision, ljust);
        }
        if (r < 0) {
            return NULL;
        }
        break;
    }

    case 'U':
    case 'V': {
        PyObject *obj = va_arg(*va, PyObject *);
        const char *str = NULL;
        const wchar_t *wstr = NULL;
        if (*f == 'V') {
            if (sizemod == SZ_LONG) {
                wstr = va_arg(*va, const wchar_t *);
            } else {
                str = va_arg(*va, const char *);
            }
        }
        int r;
        if (obj != NULL) {
            if (!PyUnicode_Check(obj)) {
                err_format(PyExc_SystemError, "%%%c argument must be a str, not %.200s", *f,
                           type_name_of(obj));
                return NULL;
            }
            r = fmt_write_str(b, obj, width, precision, ljust);
        } else if (*f == 'U') {
            r = fmt_write_text(b, "<NULL>", 6, 6, width, precision, ljust);
        } else if (sizemod == SZ_LONG) {
            r = fmt_write_wcstr(b, wstr, width, precision, ljust);
        } else {
            r = fmt_write_cstr(b, str, width, precision, ljust);
        }
        if (r < 0) {
            return NULL;
        }
        break;
    }

    case 'S': case 'R': case 'A': {
        PyObject *obj = va_arg(*va, PyObject *);
        int r;
        if (obj == NULL) {
            /* CPython's PyObject_Str(NULL) and PyObject_Repr(NULL) give "<NULL>". */
            r = fmt_write_text(b, "<NULL>", 6, 6, width, precision, ljust);
        } else {
            PyObject *s = *f == 'S' ? PyObject_Str(obj)
                        : *f == 'R' ? PyObject_Repr(obj)
                                    : object_ascii(obj);
            if (s == NULL) {
                return NULL;
            }
            r = fmt_write_str(b, s, width, precision, ljust);
            Py_DECREF(s);
        }
        if (r < 0) {
            return NULL;
        }
        break;
    }

    default:
    invalid:
        err_format(PyExc_SystemError, "invalid format string: %s", start);
        return NULL;
    }
    return f + 1;
}

/* Formats into b. Returns 0, or -1 with an exception set. */
static int fmt_into(strbuf *b, const char *format, va_list *va) {
    for (const char *p = format; *p; p++) {
        if ((unsigned char)*p > 127) {
            err_format(PyExc_ValueError,
                       "PyUnicode_FromFormatV() expects an ASCII-encoded format string, got a "
                       "non-ASCII byte: 0x%02x",
                       (unsigned)(unsigned char)*p);
            return -1;
        }
    }
    const char *f = format;
    while (*f) {
        if (*f == '%') {
            f = fmt_one(b, f, va);
            if (f == NULL) {
                return -1;
            }
        } else {
            const char *p = strchr(f, '%');
            size_t len = p ? (size_t)(p - f) : strlen(f);
            if (sb_put(b, f, len) < 0) {
                return -1;
            }
            f += len;
        }
    }
    return 0;
}

/* Appends formatted text to b (internal messages). Returns 0, or -1 with an exception set. */
static int sb_format(strbuf *b, const char *format, ...) {
    va_list va;
    va_start(va, format);
    int r = fmt_into(b, format, &va);
    va_end(va);
    return r;
}

static PyObject *unicode_from_format(const char *func, const char *format, va_list vargs) {
    if (format == NULL) {
        null_arg(func, "format");
        return NULL;
    }
    va_list va;
    va_copy(va, vargs);
    strbuf b = {0};
    PyObject *result = NULL;
    if (fmt_into(&b, format, &va) == 0) {
        result = sb_to_str(&b);
    }
    va_end(va);
    sb_free(&b);
    return result;
}

PyObject *slp_impl_PyUnicode_FromFormatV(const char *format, va_list vargs) {
    return unicode_from_format("PyUnicode_FromFormatV", format, vargs);
}

PyObject *slp_impl_PyUnicode_FromFormat(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *r = unicode_from_format("PyUnicode_FromFormat", format, va);
    va_end(va);
    return r;
}

/* ===================================================================================== */
/* PyErr_Format                                                                            */
/* ===================================================================================== */

static PyObject *err_format_v(const char *func, PyObject *exception, const char *format,
                              va_list vargs) {
    /* As CPython: the formatting may run arbitrary code (str(), repr()), so it must not
     * start with an exception set. */
    PyErr_Clear();
    PyObject *msg = unicode_from_format(func, format, vargs);
    if (msg != NULL) {
        /* A bad `exception` makes PyErr_SetObject set a SystemError instead. */
        PyErr_SetObject(exception, msg);
        Py_DECREF(msg);
    }
    return NULL;
}

PyObject *slp_impl_PyErr_FormatV(PyObject *exception, const char *format, va_list vargs) {
    return err_format_v("PyErr_FormatV", exception, format, vargs);
}

PyObject *slp_impl_PyErr_Format(PyObject *exception, const char *format, ...) {
    va_list va;
    va_start(va, format);
    err_format_v("PyErr_Format", exception, format, va);
    va_end(va);
    return NULL;
}

/* Internal PyErr_Format. */
static PyObject *err_format(PyObject *exception, const char *format, ...) {
    va_list va;
    va_start(va, format);
    err_format_v("PyErr_Format", exception, format, va);
    va_end(va);
    return NULL;
}

/* ===================================================================================== */
/* Py_BuildValue                                                                           */
/* ===================================================================================== */

/* Nesting limit of ( ) { } [ ] in a Py_BuildValue format. */
#define BV_MAX_DEPTH 100

/* The builder's state. Values are built left to right onto one stack; a closing ) or }
 * turns the values above its mark into a tuple or dict. After the first error (`failed`,
 * an exception is set) the rest of the format is still walked, reading every argument
 * without building anything, so that the references passed with N are released. Only an
 * unknown format unit (whose argument types are unknown) stops the walk (`aborted`). */
typedef struct {
    const char *f;
    va_list va;
    int failed;
    int aborted;
    PyObject **items;
    Py_ssize_t n;
    Py_ssize_t cap;
} bv_state;

static void bv_error(bv_state *st, PyObject *exc, const char *msg) {
    if (!st->failed) {
        PyErr_SetString(exc, msg);
        st->failed = 1;
    }
}

/* Pushes a new reference (stolen); NULL means its construction failed. */
static void bv_push(bv_state *st, PyObject *o) {
    if (o == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "Py_BuildValue: a value could not be built");
        }
        st->failed = 1;
        return;
    }
    if (st->failed) {
        Py_DECREF(o);
        return;
    }
    if (st->n == st->cap) {
        Py_ssize_t cap = st->cap ? st->cap * 2 : 8;
        PyObject **p = NULL;
        if ((size_t)cap <= SIZE_MAX / sizeof(PyObject *)) {
            p = realloc(st->items, (size_t)cap * sizeof(PyObject *));
        }
        if (p == NULL) {
            Py_DECREF(o);
            PyErr_NoMemory();
            st->failed = 1;
            return;
        }
        st->items = p;
        st->cap = cap;
    }
    st->items[st->n++] = o;
}

static void bv_unsupported(bv_state *st, char c) {
    if (!st->failed) {
        if (c > 32 && c < 127) {
            err_format(PyExc_SystemError, "Py_BuildValue: unsupported format unit '%c'", c);
        } else {
            err_format(PyExc_SystemError, "Py_BuildValue: unsupported format unit '\\x%02x'",
                       (unsigned)(unsigned char)c);
        }
        st->failed = 1;
    }
}

static void bv_sequence(bv_state *st, char end, int depth);

/* Replaces the values above `mark` by a tuple (or a dict of key, value pairs). */
static void bv_collect(bv_state *st, Py_ssize_t mark, int dict) {
    Py_ssize_t count = st->n - mark;
    if (!dict) {
        PyObject *t = PyTuple_New(count);
        if (t == NULL) {
            st->failed = 1; /* the items stay on the stack and are released at the end */
            return;
        }
        int bad = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            if (PyTuple_SetItem(t, i, st->items[mark + i]) < 0) { /* steals, even on error */
                bad = 1;
            }
        }
        st->n = mark;
        if (bad) {
            Py_DECREF(t);
            st->failed = 1;
            return;
        }
        bv_push(st, t);
        return;
    }
    if (count % 2) {
        bv_error(st, PyExc_SystemError, "Bad dict format");
        return;
    }
    PyObject *d = PyDict_New();
    if (d == NULL) {
        st->failed = 1;
        return;
    }
    int bad = 0;
    for (Py_ssize_t i = 0; i < count; i += 2) {
        if (!bad && PyDict_SetItem(d, st->items[mark + i], st->items[mark + i + 1]) < 0) {
            bad = 1;
        }
        Py_DECREF(st->items[mark + i]);
        Py_DECREF(st->items[mark + i + 1]);
    }
    st->n = mark;
    if (bad) {
        Py_DECREF(d);
        st->failed = 1;
        return;
    }
    bv_push(st, d);
}

/* Builds (or, after an error, skips) the unit at st->f. */
static void bv_unit(bv_state *st, int depth) {
    char c = *st->f++;
    switch (c) {
    case '(': case '{': case '[': {
        char end = c == '(' ? ')' : c == '{' ? '}' : ']';
        if (depth >= BV_MAX_DEPTH) {
            bv_error(st, PyExc_SystemError,
                     "Py_BuildValue: format nested too deeply (more than 100 levels)");
            st->aborted = 1;
            return;
        }
        if (c == '[') {
            bv_unsupported(st, c); /* no list type; its contents are still walked */
        }
        Py_ssize_t mark = st->n;
        bv_sequence(st, end, depth + 1);
        if (!st->failed && !st->aborted) {
            bv_collect(st, mark, c == '{');
        }
        return;
    }
    case 'b': case 'B': case 'h': case 'i': {
        int v = va_arg(st->va, int);
        if (!st->failed) bv_push(st, PyLong_FromLong(v));
        return;
    }
    case 'H': {
        unsigned int v = va_arg(st->va, unsigned int);
        if (!st->failed) bv_push(st, PyLong_FromLongLong((long long)v));
        return;
    }
    case 'I': {
        unsigned int v = va_arg(st->va, unsigned int);
        if (!st->failed) bv_push(st, PyLong_FromLongLong((long long)v));
        return;
    }
    case 'n': {
        Py_ssize_t v = va_arg(st->va, Py_ssize_t);
        if (!st->failed) bv_push(st, PyLong_FromSsize_t(v));
        return;
    }
    case 'l': {
        long v = va_arg(st->va, long);
        if (!st->failed) bv_push(st, PyLong_FromLong(v));
        return;
    }
    case 'k': {
        unsigned long v = va_arg(st->va, unsigned long);
        if (!st->failed) bv_push(st, PyLong_FromUnsignedLong(v));
        return;
    }
    case 'L': {
        long long v = va_arg(st->va, long long);
        if (!st->failed) bv_push(st, PyLong_FromLongLong(v));
        return;
    }
    case 'K': {
        unsigned long long v = va_arg(st->va, unsigned long long);
        if (st->failed) return;
        if (v > (unsigned long long)LLONG_MAX) {
            bv_error(st, PyExc_OverflowError, "int too large for libstackless's 64-bit ints");
            return;
        }
        bv_push(st, PyLong_FromLongLong((long long)v));
        return;
    }
    case 'c': {
        char ch = (char)va_arg(st->va, int);
        if (!st->failed) bv_push(st, PyBytes_FromStringAndSize(&ch, 1));
        return;
    }
    case 'C': {
        int cp = va_arg(st->va, int);
        if (st->failed) return;
        if (cp < 0 || cp > MAX_UNICODE) {
            bv_error(st, PyExc_ValueError, "chr() arg not in range(0x110000)");
            return;
        }
        if (is_surrogate(cp)) {
            err_format(PyExc_ValueError,
                       "Py_BuildValue: 'C' code point U+%X is a surrogate, which a "
                       "libstackless str cannot hold",
                       (unsigned)cp);
            st->failed = 1;
            return;
        }
        char enc[4];
        size_t n = utf8_encode((uint32_t)cp, enc);
        bv_push(st, PyUnicode_FromStringAndSize(enc, (Py_ssize_t)n));
        return;
    }
    case 's': case 'z': case 'U': case 'y': {
        const char *s = va_arg(st->va, const char *);
        Py_ssize_t n = -1;
        if (*st->f == '#') {
            st->f++;
            n = va_arg(st->va, Py_ssize_t);
        }
        if (st->failed) return;
        if (s == NULL) {
            bv_push(st, Py_NewRef(Py_None));
            return;
        }
        if (n < 0) {
            size_t m = strlen(s);
            if (m > (size_t)SLP_SSIZE_MAX) {
                bv_error(st, PyExc_OverflowError, "string too long for Python string");
                return;
            }
            n = (Py_ssize_t)m;
        }
        bv_push(st, c == 'y' ? PyBytes_FromStringAndSize(s, n)
                             : PyUnicode_FromStringAndSize(s, n));
        return;
    }
    case 'N': case 'S': case 'O': {
        if (*st->f == '&') {
            typedef PyObject *(*converter)(void *);
            st->f++;
            converter func = va_arg(st->va, converter);
            void *arg = va_arg(st->va, void *);
            if (st->failed) return;
            if (func == NULL) {
                bv_error(st, PyExc_SystemError, "Py_BuildValue: NULL converter for 'O&'");
                return;
            }
            PyObject *v = func(arg);
            if (v == NULL && !PyErr_Occurred()) {
                bv_error(st, PyExc_SystemError,
                         "Py_BuildValue: 'O&' converter returned NULL without setting an "
                         "exception");
                return;
            }
            bv_push(st, v);
            return;
        }
        PyObject *v = va_arg(st->va, PyObject *);
        if (st->failed) {
            if (c == 'N') {
                Py_XDECREF(v); /* N steals its reference even when building fails */
            }
            return;
        }
        if (v == NULL) {
            /* A NULL from a failed call is passed on with its exception. */
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_SystemError, "NULL object passed to Py_BuildValue");
            }
            st->failed = 1;
            return;
        }
        if (c != 'N') {
            Py_INCREF(v);
        }
        bv_push(st, v);
        return;
    }
    /* Units of CPython whose types libstackless lacks: the argument is read (so the walk
     * can go on and release N references), then it is an error. */
    case 'f': case 'd':
        (void)va_arg(st->va, double);
        bv_unsupported(st, c);
        return;
    case 'D':
        (void)va_arg(st->va, void *);
        bv_unsupported(st, c);
        return;
    case 'u':
        (void)va_arg(st->va, void *);
        if (*st->f == '#') {
            st->f++;
            (void)va_arg(st->va, Py_ssize_t);
        }
        bv_unsupported(st, c);
        return;
    default:
        /* Unknown unit: the types of the remaining arguments are unknown, so stop. */
        bv_unsupported(st, c);
        st->aborted = 1;
        return;
    }
}

/* Walks units up to `end` ('\0', ')', '}' or ']'), consuming it. */
static void bv_sequence(bv_state *st, char end, int depth) {
    for (;;) {
        if (st->aborted) {
            return;
        }
        char c = *st->f;
        if (c == ' ' || c == '\t' || c == ',' || c == ':' || c == ';') {
            st->f++;
            continue;
        }
        if (c == end) {
            if (c != '\0') {
                st->f++;
            }
            return;
        }
        if (c == '\0') {
            bv_error(st, PyExc_SystemError, "unmatched paren in format");
            return;
        }
        if (c == ')' || c == '}' || c == ']') {
            bv_error(st, PyExc_SystemError, "unmatched paren in format");
            st->f++;
            continue;
        }
        bv_unit(st, depth);
    }
}

static void bv_release(bv_state *st) {
    for (Py_ssize_t i = 0; i < st->n; i++) {
        Py_DECREF(st->items[i]);
    }
    free(st->items);
    st->items = NULL;
    st->n = st->cap = 0;
}

/* Builds the top-level values of `format`: on success *pitems holds *pn new references (a
 * malloc'ed array to free()). Returns 0, or -1 with an exception set. With `skip_only`
 * (an exception is already set), only reads the arguments, releasing the N references. */
static int bv_build_stack(const char *format, va_list vargs, int skip_only, PyObject ***pitems,
                          Py_ssize_t *pn) {
    bv_state st;
    memset(&st, 0, sizeof st);
    st.f = format;
    st.failed = skip_only;
    va_copy(st.va, vargs);
    bv_sequence(&st, '\0', 0);
    va_end(st.va);
    if (st.failed || st.aborted) {
        bv_release(&st);
        return -1;
    }
    *pitems = st.items;
    *pn = st.n;
    return 0;
}

/* Reads the arguments of `format` only, releasing the references passed with N (for the
 * callers that fail before building; an exception is set). */
static void bv_consume(const char *format, va_list vargs) {
    if (format != NULL) {
        PyObject **items = NULL;
        Py_ssize_t n = 0;
        (void)bv_build_stack(format, vargs, 1, &items, &n);
    }
}

static PyObject *build_value(const char *func, const char *format, va_list vargs) {
    if (format == NULL) {
        null_arg(func, "format");
        return NULL;
    }
    PyObject **items;
    Py_ssize_t n;
    if (bv_build_stack(format, vargs, 0, &items, &n) < 0) {
        return NULL;
    }
    PyObject *result;
    if (n == 0) {
        result = Py_NewRef(Py_None);
    } else if (n == 1) {
        result = items[0];
    } else {
        result = PyTuple_New(n);
        if (result == NULL) {
            for (Py_ssize_t i = 0; i < n; i++) {
                Py_DECREF(items[i]);
            }
        } else {
            for (Py_ssize_t i = 0; i < n; i++) {
                if (PyTuple_SetItem(result, i, items[i]) < 0) {
                    Py_CLEAR(result);
                    for (Py_ssize_t j = i + 1; j < n; j++) {
                        Py_DECREF(items[j]);
                    }
                    break;
                }
            }
        }
    }
    free(items);
    return result;
}

PyObject *slp_impl_Py_VaBuildValue(const char *format, va_list vargs) {
    return build_value("Py_VaBuildValue", format, vargs);
}

PyObject *slp_impl_Py_BuildValue(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *r = build_value("Py_BuildValue", format, va);
    va_end(va);
    return r;
}

/* ===================================================================================== */
/* PyArg_ParseTuple and friends                                                            */
/* ===================================================================================== */

/* CPython's limit on ( ) nesting in a getargs format. */
#define PA_MAX_LEVELS 30
#define PA_MSGBUF 512

typedef int (*pa_converter)(PyObject *, void *);

typedef struct {
    pa_converter conv;
    void *addr;
} pa_cleanup;

typedef struct {
    const char *func; /* the API function, for SystemErrors */
    va_list va;
    pa_cleanup *cleanups;
    size_t ncleanups;
    size_t capcleanups;
} pa_state;

#define IS_END_OF_FORMAT(c) ((c) == '\0' || (c) == ';' || (c) == ':')

/* Ends a parse: on failure, calls the O& converters that asked for cleanup (with NULL, as
 * CPython does), keeping the pending exception. */
static int pa_return(pa_state *pa, int ok) {
    if (!ok && pa->ncleanups) {
        PyObject *exc = PyErr_GetRaisedException();
        for (size_t i = 0; i < pa->ncleanups; i++) {
            pa->cleanups[i].conv(NULL, pa->cleanups[i].addr);
        }
        PyErr_Clear();
        PyErr_SetRaisedException(exc);
    }
    free(pa->cleanups);
    pa->cleanups = NULL;
    pa->ncleanups = pa->capcleanups = 0;
    return ok;
}

static int pa_add_cleanup(pa_state *pa, pa_converter conv, void *addr) {
    if (pa->ncleanups == pa->capcleanups) {
        size_t cap = pa->capcleanups ? pa->capcleanups * 2 : 4;
        pa_cleanup *p = NULL;
        if (cap <= SIZE_MAX / sizeof(pa_cleanup)) {
            p = realloc(pa->cleanups, cap * sizeof(pa_cleanup));
        }
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        pa->cleanups = p;
        pa->capcleanups = cap;
    }
    pa->cleanups[pa->ncleanups].conv = conv;
    pa->cleanups[pa->ncleanups].addr = addr;
    pa->ncleanups++;
    return 0;
}

/* Steps over one format unit at *pf (validating it), and with pa also reads its arguments
 * from pa->va. Returns NULL, or a reason (in buf) when the unit is bad. */
static const char *pa_skip_unit(pa_state *pa, const char **pf, int depth, char *buf,
                                size_t bufsize) {
    const char *f = *pf;
    char c = *f++;
    switch (c) {
    case 'b': case 'B': case 'h': case 'H': case 'i': case 'I': case 'l': case 'k':
    case 'L': case 'K': case 'n': case 'c': case 'C': case 'p': case 'S': case 'U':
        if (pa) (void)va_arg(pa->va, void *);
        break;
    case 's': case 'z': case 'y':
        if (*f == '*') {
            snprintf(buf, bufsize, "unsupported format unit '%c*' (no buffer protocol)", c);
            return buf;
        }
        if (pa) (void)va_arg(pa->va, void *);
        if (*f == '#') {
            if (pa) (void)va_arg(pa->va, void *);
            f++;
        }
        break;
    case 'O':
        if (*f == '!') {
            if (pa) {
                (void)va_arg(pa->va, void *);
                (void)va_arg(pa->va, void *);
            }
            f++;
        } else if (*f == '&') {
            if (pa) {
                (void)va_arg(pa->va, pa_converter);
                (void)va_arg(pa->va, void *);
            }
            f++;
        } else {
            if (pa) (void)va_arg(pa->va, void *);
        }
        break;
    case '(':
        if (depth + 1 >= PA_MAX_LEVELS) {
            snprintf(buf, bufsize, "too many tuple nesting levels in argument format string");
            return buf;
        }
        for (;;) {
            if (*f == ')') {
                f++;
                break;
            }
            if (IS_END_OF_FORMAT(*f)) {
                snprintf(buf, bufsize, "missing ')'");
                return buf;
            }
            if (*f == '|' || *f == '$') {
                snprintf(buf, bufsize, "'%c' inside a nested tuple", *f);
                return buf;
            }
            const char *msg = pa_skip_unit(pa, &f, depth + 1, buf, bufsize);
            if (msg) {
                *pf = f;
                return msg;
            }
        }
        break;
    case ')':
        snprintf(buf, bufsize, "unmatched ')'");
        return buf;
    case 'f': case 'd': case 'D': case 'e': case 'w': case 'Y':
        snprintf(buf, bufsize, "unsupported format unit '%c'", c);
        return buf;
    default:
        if (c > 32 && c < 127) {
            snprintf(buf, bufsize, "bad format unit '%c'", c);
        } else {
            snprintf(buf, bufsize, "bad format unit '\\x%02x'", (unsigned)(unsigned char)c);
        }
        return buf;
    }
    *pf = f;
    return NULL;
}

static void pa_bad_format(const char *func, const char *format, const char *reason) {
    err_format(PyExc_SystemError, "%s: bad format string '%.200s': %s", func, format, reason);
}

/* Message "must be <expected>, not <type>" (or expected itself when it is "(...)"). */
static const char *pa_converterr(const char *expected, PyObject *arg, char *msgbuf,
                                 size_t bufsize) {
    if (expected[0] == '(') {
        snprintf(msgbuf, bufsize, "%.100s", expected);
    } else {
        snprintf(msgbuf, bufsize, "must be %.50s, not %.50s", expected, type_name_of(arg));
    }
    return msgbuf;
}

/* For an exception already set: any message will do, seterror keeps the exception. */
#define RETURN_ERR_OCCURRED return msgbuf

static const char *pa_null_output(pa_state *pa, char unit, char *msgbuf) {
    err_format(PyExc_SystemError, "%s: NULL output pointer for format unit '%c'", pa->func,
               unit);
    RETURN_ERR_OCCURRED;
}

#define PA_OUT(type, var, unit) \
    type var = va_arg(pa->va, type); \
    if (var == NULL) return pa_null_output(pa, (unit), msgbuf)

/* Converts a non-tuple unit. Returns NULL, or a message (an exception may be set). */
static const char *pa_convert_simple(pa_state *pa, PyObject *arg, const char **pf,
                                     char *msgbuf, size_t bufsize) {
    const char *f = *pf;
    char c = *f++;
    switch (c) {
    case 'b': { /* unsigned char, range-checked */
        PA_OUT(char *, p, c);
        long v = PyLong_AsLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        if (v < 0) {
            PyErr_SetString(PyExc_OverflowError, "unsigned byte integer is less than minimum");
            RETURN_ERR_OCCURRED;
        }
        if (v > UCHAR_MAX) {
            PyErr_SetString(PyExc_OverflowError,
                            "unsigned byte integer is greater than maximum");
            RETURN_ERR_OCCURRED;
        }
        *p = (char)(unsigned char)v;
        break;
    }
    case 'B': { /* unsigned char bitfield, no overflow check */
        PA_OUT(unsigned char *, p, c);
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = (unsigned char)(unsigned long long)v;
        break;
    }
    case 'h': {
        PA_OUT(short *, p, c);
        long v = PyLong_AsLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        if (v < SHRT_MIN) {
            PyErr_SetString(PyExc_OverflowError, "signed short integer is less than minimum");
            RETURN_ERR_OCCURRED;
        }
        if (v > SHRT_MAX) {
            PyErr_SetString(PyExc_OverflowError,
                            "signed short integer is greater than maximum");
            RETURN_ERR_OCCURRED;
        }
        *p = (short)v;
        break;
    }
    case 'H': {
        PA_OUT(unsigned short *, p, c);
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = (unsigned short)(unsigned long long)v;
        break;
    }
    case 'i': {
        PA_OUT(int *, p, c);
        long v = PyLong_AsLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        if (v > INT_MAX) {
            PyErr_SetString(PyExc_OverflowError, "signed integer is greater than maximum");
            RETURN_ERR_OCCURRED;
        }
        if (v < INT_MIN) {
            PyErr_SetString(PyExc_OverflowError, "signed integer is less than minimum");
            RETURN_ERR_OCCURRED;
        }
        *p = (int)v;
        break;
    }
    case 'I': {
        PA_OUT(unsigned int *, p, c);
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = (unsigned int)(unsigned long long)v;
        break;
    }
    case 'n': {
        PA_OUT(Py_ssize_t *, p, c);
        Py_ssize_t v = PyLong_AsSsize_t(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = v;
        break;
    }
    case 'l': {
        PA_OUT(long *, p, c);
        long v = PyLong_AsLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = v;
        break;
    }
    case 'k': {
        PA_OUT(unsigned long *, p, c);
        if (!PyLong_Check(arg)) {
            return pa_converterr("int", arg, msgbuf, bufsize);
        }
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = (unsigned long)(unsigned long long)v;
        break;
    }
    case 'L': {
        PA_OUT(long long *, p, c);
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = v;
        break;
    }
    case 'K': {
        PA_OUT(unsigned long long *, p, c);
        if (!PyLong_Check(arg)) {
            return pa_converterr("int", arg, msgbuf, bufsize);
        }
        long long v = PyLong_AsLongLong(arg);
        if (v == -1 && PyErr_Occurred()) RETURN_ERR_OCCURRED;
        *p = (unsigned long long)v;
        break;
    }
    case 'c': { /* bytes of length 1 -> char */
        PA_OUT(char *, p, c);
        if (PyBytes_Check(arg) && PyBytes_Size(arg) == 1) {
            *p = PyBytes_AsString(arg)[0];
        } else {
            return pa_converterr("a byte string of length 1", arg, msgbuf, bufsize);
        }
        break;
    }
    case 'C': { /* str of length 1 -> int code point */
        PA_OUT(int *, p, c);
        if (!PyUnicode_Check(arg) || PyUnicode_GetLength(arg) != 1) {
            return pa_converterr("a unicode character", arg, msgbuf, bufsize);
        }
        const char *s = PyUnicode_AsUTF8(arg);
        if (s == NULL) RETURN_ERR_OCCURRED;
        size_t len;
        *p = (int)utf8_decode_valid((const unsigned char *)s, &len);
        break;
    }
    case 'p': {
        PA_OUT(int *, p, c);
        int v = PyObject_IsTrue(arg);
        if (v < 0) RETURN_ERR_OCCURRED;
        *p = v;
        break;
    }
    case 'y': { /* bytes -> const char * [+ length] */
        PA_OUT(const char **, p, c);
        Py_ssize_t *psize = NULL;
        if (*f == '#') {
            psize = va_arg(pa->va, Py_ssize_t *);
            if (psize == NULL) return pa_null_output(pa, c, msgbuf);
            f++;
        }
        if (!PyBytes_Check(arg)) {
            err_format(PyExc_TypeError, "a bytes-like object is required, not '%.100s'",
                       real_type_name(arg));
            RETURN_ERR_OCCURRED;
        }
        const char *s = PyBytes_AsString(arg);
        Py_ssize_t size = PyBytes_Size(arg);
        if (s == NULL || size < 0) RETURN_ERR_OCCURRED;
        if (psize == NULL && strlen(s) != (size_t)size) {
            PyErr_SetString(PyExc_ValueError, "embedded null byte");
            RETURN_ERR_OCCURRED;
        }
        *p = s;
        if (psize) *psize = size;
        break;
    }
    case 's': case 'z': {
        PA_OUT(const char **, p, c);
        if (*f == '#') { /* str or bytes -> pointer + length */
            Py_ssize_t *psize = va_arg(pa->va, Py_ssize_t *);
            if (psize == NULL) return pa_null_output(pa, c, msgbuf);
            f++;
            if (c == 'z' && arg == Py_None) {
                *p = NULL;
                *psize = 0;
            } else if (PyUnicode_Check(arg)) {
                Py_ssize_t len;
                const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
                if (s == NULL) return pa_converterr("(unicode conversion error)", arg, msgbuf,
                                                   bufsize);
                *p = s;
                *psize = len;
            } else if (PyBytes_Check(arg)) {
                const char *s = PyBytes_AsString(arg);
                Py_ssize_t size = PyBytes_Size(arg);
                if (s == NULL || size < 0) RETURN_ERR_OCCURRED;
                *p = s;
                *psize = size;
            } else {
                err_format(PyExc_TypeError, "a bytes-like object is required, not '%.100s'",
                           real_type_name(arg));
                RETURN_ERR_OCCURRED;
            }
        } else { /* str -> NUL-terminated UTF-8 */
            if (c == 'z' && arg == Py_None) {
                *p = NULL;
            } else if (PyUnicode_Check(arg)) {
                Py_ssize_t len;
                const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
                if (s == NULL) return pa_converterr("(unicode conversion error)", arg, msgbuf,
                                                   bufsize);
                if (strlen(s) != (size_t)len) {
                    PyErr_SetString(PyExc_ValueError, "embedded null character");
                    RETURN_ERR_OCCURRED;
                }
                *p = s;
            } else {
                return pa_converterr(c == 'z' ? "str or None" : "str", arg, msgbuf, bufsize);
            }
        }
        break;
    }
    case 'S': {
        PA_OUT(PyObject **, p, c);
        if (!PyBytes_Check(arg)) return pa_converterr("bytes", arg, msgbuf, bufsize);
        *p = arg;
        break;
    }
    case 'U': {
        PA_OUT(PyObject **, p, c);
        if (!PyUnicode_Check(arg)) return pa_converterr("str", arg, msgbuf, bufsize);
        *p = arg;
        break;
    }
    case 'O': {
        if (*f == '!') {
            PyTypeObject *type = va_arg(pa->va, PyTypeObject *);
            PyObject **p = va_arg(pa->va, PyObject **);
            f++;
            if (type == NULL || !PyType_Check((PyObject *)type)) {
                err_format(PyExc_SystemError, "%s: 'O!' needs a type object, got %.100s",
                           pa->func, type == NULL ? "NULL" : type_name_of((PyObject *)type));
                RETURN_ERR_OCCURRED;
            }
            if (p == NULL) return pa_null_output(pa, c, msgbuf);
            if (!PyObject_TypeCheck(arg, type)) {
                const char *tn = PyType_GetTpName(type);
                if (tn == NULL) RETURN_ERR_OCCURRED;
                return pa_converterr(tn, arg, msgbuf, bufsize);
            }
            *p = arg;
        } else if (*f == '&') {
            pa_converter conv = va_arg(pa->va, pa_converter);
            void *addr = va_arg(pa->va, void *);
            f++;
            if (conv == NULL) {
                err_format(PyExc_SystemError, "%s: NULL converter for 'O&'", pa->func);
                RETURN_ERR_OCCURRED;
            }
            int res = conv(arg, addr);
            if (res == 0) {
                return pa_converterr("(unspecified)", arg, msgbuf, bufsize);
            }
            if (res == Py_CLEANUP_SUPPORTED && pa_add_cleanup(pa, conv, addr) < 0) {
                RETURN_ERR_OCCURRED;
            }
        } else {
            PA_OUT(PyObject **, p, c);
            *p = arg;
        }
        break;
    }
    default:
        /* Unreachable: the format was validated. */
        return pa_converterr("(impossible<bad format char>)", arg, msgbuf, bufsize);
    }
    *pf = f;
    return NULL;
}

static const char *pa_convert_item(pa_state *pa, PyObject *arg, const char **pf, int *levels,
                                   char *msgbuf, size_t bufsize);

/* Converts a nested tuple; *pf is just after its '('. On failure, levels holds the item
 * path (0-terminated). */
static const char *pa_convert_tuple(pa_state *pa, PyObject *arg, const char **pf, int *levels,
                                    char *msgbuf, size_t bufsize) {
    int level = 0;
    Py_ssize_t n = 0;
    const char *format = *pf;
    for (;;) {
        char c = *format++;
        if (c == '(') {
            if (level == 0) n++;
            level++;
        } else if (c == ')') {
            if (level == 0) break;
            level--;
        } else if (IS_END_OF_FORMAT(c)) {
            break;
        } else if (level == 0 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            n++;
        }
    }
    if (!PyTuple_Check(arg)) {
        levels[0] = 0;
        snprintf(msgbuf, bufsize, "must be %zd-item sequence, not %.50s", n,
                 type_name_of(arg));
        return msgbuf;
    }
    Py_ssize_t len = PyTuple_Size(arg);
    if (len != n) {
        levels[0] = 0;
        snprintf(msgbuf, bufsize, "must be sequence of length %zd, not %zd", n, len);
        return msgbuf;
    }
    format = *pf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GetItem(arg, i);
        if (item == NULL) {
            PyErr_Clear();
            levels[0] = (int)(i + 1);
            levels[1] = 0;
            snprintf(msgbuf, bufsize, "is not retrievable");
            return msgbuf;
        }
        const char *msg = pa_convert_item(pa, item, &format, levels + 1, msgbuf, bufsize);
        if (msg != NULL) {
            levels[0] = (int)(i + 1);
            return msg;
        }
    }
    *pf = format;
    return NULL;
}

static const char *pa_convert_item(pa_state *pa, PyObject *arg, const char **pf, int *levels,
                                   char *msgbuf, size_t bufsize) {
    const char *msg;
    const char *format = *pf;
    if (*format == '(') {
        format++;
        msg = pa_convert_tuple(pa, arg, &format, levels, msgbuf, bufsize);
        if (msg == NULL) format++; /* the ')' */
    } else {
        msg = pa_convert_simple(pa, arg, &format, msgbuf, bufsize);
        if (msg != NULL) levels[0] = 0;
    }
    if (msg == NULL) *pf = format;
    return msg;
}

/* Sets the error for a failed conversion of argument iarg (1-based), unless the conversion
 * already set one (CPython's seterror). */
static void pa_seterror(Py_ssize_t iarg, const char *msg, const int *levels, const char *fname,
                        const char *message) {
    if (PyErr_Occurred()) {
        return;
    }
    PyObject *exc = msg[0] == '(' ? PyExc_SystemError : PyExc_TypeError;
    if (message != NULL) {
        PyErr_SetString(exc, message);
        return;
    }
    strbuf b = {0};
    int r = 0;
    if (fname != NULL) r = sb_format(&b, "%.200s() ", fname);
    if (r == 0) {
        if (iarg != 0) {
            r = sb_format(&b, "argument %zd", iarg);
            for (int i = 0; r == 0 && i < PA_MAX_LEVELS + 1 && levels[i] > 0; i++) {
                r = sb_format(&b, ", item %d", levels[i] - 1);
            }
        } else {
            r = sb_puts(&b, "argument");
        }
    }
    if (r == 0) r = sb_format(&b, " %.256s", msg);
    if (r == 0) {
        PyObject *s = sb_to_str(&b);
        if (s != NULL) {
            PyErr_SetObject(exc, s);
            Py_DECREF(s);
        }
    }
    sb_free(&b);
}

/* PyArg_ParseTuple / PyArg_VaParse. */
static int vgetargs(const char *func, PyObject *args, const char *format, va_list vargs) {
    if (args == NULL) {
        null_arg(func, "args");
        return 0;
    }
    if (format == NULL) {
        null_arg(func, "format");
        return 0;
    }
    if (!PyTuple_Check(args)) {
        PyErr_SetString(PyExc_SystemError,
                        "new style getargs format but argument is not a tuple");
        return 0;
    }

    /* Validate the whole format and count its units first. */
    char reason[160];
    const char *fname = NULL, *message = NULL;
    Py_ssize_t max = 0, min = -1;
    const char *f = format;
    for (;;) {
        char c = *f;
        if (c == '\0') break;
        if (c == ':') {
            fname = f + 1;
            break;
        }
        if (c == ';') {
            message = f + 1;
            break;
        }
        if (c == '|') {
            if (min >= 0) {
                pa_bad_format(func, format, "'|' specified twice");
                return 0;
            }
            min = max;
            f++;
            continue;
        }
        if (c == '$') {
            pa_bad_format(func, format,
                          "'$' (keyword-only) needs PyArg_ParseTupleAndKeywords");
            return 0;
        }
        const char *msg = pa_skip_unit(NULL, &f, 0, reason, sizeof reason);
        if (msg != NULL) {
            pa_bad_format(func, format, msg);
            return 0;
        }
        max++;
    }
    if (min < 0) min = max;

    Py_ssize_t nargs = PyTuple_Size(args);
    if (nargs < min || max < nargs) {
        if (message == NULL) {
            Py_ssize_t n = nargs < min ? min : max;
            err_format(PyExc_TypeError, "%.150s%s takes %s %zd argument%s (%zd given)",
                       fname == NULL ? "function" : fname, fname == NULL ? "" : "()",
                       min == max ? "exactly" : nargs < min ? "at least" : "at most", n,
                       n == 1 ? "" : "s", nargs);
        } else {
            PyErr_SetString(PyExc_TypeError, message);
        }
        return 0;
    }

    pa_state pa;
    memset(&pa, 0, sizeof pa);
    pa.func = func;
    va_copy(pa.va, vargs);
    char msgbuf[PA_MSGBUF] = "(unknown error)";
    int levels[PA_MAX_LEVELS + 2];
    int ok = 1;
    f = format;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (*f == '|') f++;
        const char *msg = pa_convert_item(&pa, PyTuple_GetItem(args, i), &f, levels, msgbuf,
                                          sizeof msgbuf);
        if (msg != NULL) {
            pa_seterror(i + 1, msg, levels, fname, message);
            ok = 0;
            break;
        }
    }
    va_end(pa.va);
    return pa_return(&pa, ok);
}

int slp_impl_PyArg_VaParse(PyObject *args, const char *format, va_list vargs) {
    return vgetargs("PyArg_VaParse", args, format, vargs);
}

int slp_impl_PyArg_ParseTuple(PyObject *args, const char *format, ...) {
    va_list va;
    va_start(va, format);
    int r = vgetargs("PyArg_ParseTuple", args, format, va);
    va_end(va);
    return r;
}

/* kwargs[name] as a borrowed reference; NULL with or without an exception. */
static PyObject *pa_kwarg(PyObject *kwargs, const char *name) {
    PyObject *key = PyUnicode_FromString(name);
    if (key == NULL) return NULL;
    PyObject *v = PyDict_GetItemWithError(kwargs, key);
    Py_DECREF(key);
    return v;
}

/* Whether the str `key` equals the C string `name`. */
static int pa_key_is(PyObject *key, const char *name) {
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(key, &len);
    if (s == NULL) {
        PyErr_Clear();
        return 0;
    }
    return strlen(name) == (size_t)len && memcmp(s, name, (size_t)len) == 0;
}

/* PyArg_ParseTupleAndKeywords / PyArg_VaParseTupleAndKeywords (CPython's
 * vgetargskeywords, with the format validated up front). */
static int vgetargskeywords(const char *func, PyObject *args, PyObject *kwargs,
                            const char *format, char **kwlist, va_list vargs) {
    if (args == NULL) {
        null_arg(func, "args");
        return 0;
    }
    if (format == NULL) {
        null_arg(func, "format");
        return 0;
    }
    if (kwlist == NULL) {
        null_arg(func, "keywords");
        return 0;
    }
    if (!PyTuple_Check(args)) {
        err_format(PyExc_SystemError, "%s: argument 'args' must be a tuple, not %.100s", func,
                   type_name_of(args));
        return 0;
    }
    if (kwargs != NULL && !PyDict_Check(kwargs)) {
        err_format(PyExc_SystemError, "%s: argument 'kw' must be a dict or NULL, not %.100s",
                   func, type_name_of(kwargs));
        return 0;
    }

    /* The function name or the custom error message (mutually exclusive). */
    const char *fname = strchr(format, ':');
    const char *custom_msg = NULL;
    if (fname) {
        fname++;
    } else {
        custom_msg = strchr(format, ';');
        if (custom_msg) custom_msg++;
    }
    const char *fn = fname == NULL ? "function" : fname;
    const char *fn_paren = fname == NULL ? "" : "()";

    /* Positional-only parameters (empty names) come first. */
    int pos, len;
    for (pos = 0; pos < INT_MAX - 1 && kwlist[pos] && !*kwlist[pos]; pos++) {
    }
    for (len = pos; kwlist[len]; len++) {
        if (!*kwlist[len]) {
            PyErr_SetString(PyExc_SystemError, "Empty keyword parameter name");
            return 0;
        }
        if (len == INT_MAX - 1) {
            err_format(PyExc_SystemError, "%s: keyword list too long", func);
            return 0;
        }
    }

    /* Validate the format against the keyword list. */
    int min = INT_MAX, max = INT_MAX;
    {
        char reason[160];
        const char *f = format;
        for (int i = 0; i < len; i++) {
            if (*f == '|') {
                if (min != INT_MAX) {
                    PyErr_SetString(PyExc_SystemError,
                                    "Invalid format string (| specified twice)");
                    return 0;
                }
                if (max != INT_MAX) {
                    PyErr_SetString(PyExc_SystemError, "Invalid format string ($ before |)");
                    return 0;
                }
                min = i;
                f++;
            }
            if (*f == '$') {
                if (max != INT_MAX) {
                    PyErr_SetString(PyExc_SystemError,
                                    "Invalid format string ($ specified twice)");
                    return 0;
                }
                if (i < pos) {
                    PyErr_SetString(PyExc_SystemError, "Empty parameter name after $");
                    return 0;
                }
                max = i;
                f++;
            }
            if (IS_END_OF_FORMAT(*f)) {
                err_format(PyExc_SystemError,
                           "More keyword list entries (%d) than format specifiers (%d)", len,
                           i);
                return 0;
            }
            if (*f == '|' || *f == '$') {
                pa_bad_format(func, format, "misplaced '|' or '$'");
                return 0;
            }
            const char *msg = pa_skip_unit(NULL, &f, 0, reason, sizeof reason);
            if (msg != NULL) {
                pa_bad_format(func, format, msg);
                return 0;
            }
        }
        if (!IS_END_OF_FORMAT(*f) && *f != '|' && *f != '$') {
            err_format(PyExc_SystemError,
                       "more argument specifiers than keyword list entries "
                       "(remaining format:'%s')",
                       f);
            return 0;
        }
    }

    Py_ssize_t nargs = PyTuple_Size(args);
    Py_ssize_t nkwargs = kwargs == NULL ? 0 : PyDict_Size(kwargs);
    if (nargs + nkwargs > len) {
        /* "keyword" when nargs == 0 avoids misleading messages (bpo-31229). */
        err_format(PyExc_TypeError, "%.200s%s takes at most %d %sargument%s (%zd given)", fn,
                   fn_paren, len, nargs == 0 ? "keyword " : "", len == 1 ? "" : "s",
                   nargs + nkwargs);
        return 0;
    }

    pa_state pa;
    memset(&pa, 0, sizeof pa);
    pa.func = func;
    va_copy(pa.va, vargs);
    char msgbuf[PA_MSGBUF] = "(unknown error)";
    int levels[PA_MAX_LEVELS + 2];
    int ok = 0;
    int skip = 0;
    int i;
    const char *f = format;
    char reason[160];

    for (i = 0; i < len; i++) {
        if (*f == '|') f++;
        if (*f == '$') {
            f++;
            if (skip) {
                /* Now min and max of the positional arguments are known (below). */
                break;
            }
            if (max < nargs) {
                if (max == 0) {
                    err_format(PyExc_TypeError, "%.200s%s takes no positional arguments", fn,
                               fn_paren);
                } else {
                    err_format(PyExc_TypeError,
                               "%.200s%s takes %s %d positional argument%s (%zd given)", fn,
                               fn_paren, min != INT_MAX ? "at most" : "exactly", max,
                               max == 1 ? "" : "s", nargs);
                }
                goto done;
            }
        }
        if (!skip) {
            PyObject *current;
            if (i < nargs) {
                current = PyTuple_GetItem(args, i);
            } else if (nkwargs && i >= pos) {
                current = pa_kwarg(kwargs, kwlist[i]);
                if (current) {
                    --nkwargs;
                } else if (PyErr_Occurred()) {
                    goto done;
                }
            } else {
                current = NULL;
            }

            if (current) {
                const char *msg =
                    pa_convert_item(&pa, current, &f, levels, msgbuf, sizeof msgbuf);
                if (msg) {
                    pa_seterror(i + 1, msg, levels, fname, custom_msg);
                    goto done;
                }
                continue;
            }

            if (i < min) {
                if (i < pos) {
                    /* A missing positional-only argument: the message needs the minimal
                     * and maximal counts, known at '$' or at the end. */
                    skip = 1;
                } else {
                    err_format(PyExc_TypeError,
                               "%.200s%s missing required argument '%s' (pos %d)", fn,
                               fn_paren, kwlist[i], i + 1);
                    goto done;
                }
            }
            /* All required arguments are there and no keyword is left: done. */
            if (!nkwargs && !skip) {
                ok = 1;
                goto done;
            }
        }
        /* Optional (or skipped) unit: step over its output arguments. */
        const char *msg = pa_skip_unit(&pa, &f, 0, reason, sizeof reason);
        if (msg) { /* unreachable: validated */
            pa_bad_format(func, format, msg);
            goto done;
        }
    }

    if (skip) {
        int m = pos < min ? pos : min;
        err_format(PyExc_TypeError, "%.200s%s takes %s %d positional argument%s (%zd given)",
                   fn, fn_paren, m < i ? "at least" : "exactly", m, m == 1 ? "" : "s", nargs);
        goto done;
    }

    if (nkwargs > 0) {
        /* An argument given by name and position? */
        for (i = pos; i < nargs; i++) {
            PyObject *current = pa_kwarg(kwargs, kwlist[i]);
            if (current) {
                err_format(PyExc_TypeError,
                           "argument for %.200s%s given by name ('%s') and position (%d)", fn,
                           fn_paren, kwlist[i], i + 1);
                goto done;
            } else if (PyErr_Occurred()) {
                goto done;
            }
        }
        /* An unknown keyword? */
        Py_ssize_t j = 0;
        PyObject *key;
        while (PyDict_Next(kwargs, &j, &key, NULL)) {
            int match = 0;
            if (!PyUnicode_Check(key)) {
                PyErr_SetString(PyExc_TypeError, "keywords must be strings");
                goto done;
            }
            for (i = pos; i < len; i++) {
                if (pa_key_is(key, kwlist[i])) {
                    match = 1;
                    break;
                }
            }
            if (!match) {
                err_format(PyExc_TypeError, "'%U' is an invalid keyword argument for %.200s%s",
                           key, fname == NULL ? "this function" : fname, fn_paren);
                goto done;
            }
        }
        err_format(PyExc_TypeError, "invalid keyword argument for %.200s%s",
                   fname == NULL ? "this function" : fname, fn_paren);
        goto done;
    }
    ok = 1;

done:
    va_end(pa.va);
    return pa_return(&pa, ok);
}

int slp_impl_PyArg_VaParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                           char **keywords, va_list vargs) {
    return vgetargskeywords("PyArg_VaParseTupleAndKeywords", args, kw, format, keywords,
                            vargs);
}

int slp_impl_PyArg_ParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                         char **keywords, ...) {
    va_list va;
    va_start(va, keywords);
    int r = vgetargskeywords("PyArg_ParseTupleAndKeywords", args, kw, format, keywords, va);
    va_end(va);
    return r;
}

int slp_impl_PyArg_UnpackTuple(PyObject *args, const char *name, Py_ssize_t min,
                               Py_ssize_t max, ...) {
    if (args == NULL) {
        null_arg("PyArg_UnpackTuple", "args");
        return 0;
    }
    if (!PyTuple_Check(args)) {
        PyErr_SetString(PyExc_SystemError, "PyArg_UnpackTuple() argument list is not a tuple");
        return 0;
    }
    if (min < 0 || max < min) {
        err_format(PyExc_SystemError, "PyArg_UnpackTuple: bad bounds min=%zd, max=%zd", min,
                   max);
        return 0;
    }
    Py_ssize_t nargs = PyTuple_Size(args);
    if (nargs < min) {
        if (name != NULL) {
            err_format(PyExc_TypeError, "%.200s expected %s%zd argument%s, got %zd", name,
                       min == max ? "" : "at least ", min, min == 1 ? "" : "s", nargs);
        } else {
            err_format(PyExc_TypeError, "unpacked tuple should have %s%zd element%s, but has %zd",
                       min == max ? "" : "at least ", min, min == 1 ? "" : "s", nargs);
        }
        return 0;
    }
    if (nargs > max) {
        if (name != NULL) {
            err_format(PyExc_TypeError, "%.200s expected %s%zd argument%s, got %zd", name,
                       min == max ? "" : "at most ", max, max == 1 ? "" : "s", nargs);
        } else {
            err_format(PyExc_TypeError, "unpacked tuple should have %s%zd element%s, but has %zd",
                       min == max ? "" : "at most ", max, max == 1 ? "" : "s", nargs);
        }
        return 0;
    }
    va_list va;
    va_start(va, max);
    int ok = 1;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject **o = va_arg(va, PyObject **);
        if (o == NULL) {
            err_format(PyExc_SystemError, "PyArg_UnpackTuple: output pointer %zd is NULL",
                       i + 1);
            ok = 0;
            break;
        }
        *o = PyTuple_GetItem(args, i);
    }
    va_end(va);
    return ok;
}

/* ===================================================================================== */
/* Calls                                                                                   */
/* ===================================================================================== */

/* Calls callable with the arguments built from format (CPython's _PyObject_CallFunctionVa):
 * a single tuple value gives the arguments, any other values are the arguments. */
static PyObject *call_function_va(PyObject *callable, const char *format, va_list vargs) {
    if (format == NULL || *format == '\0') {
        return PyObject_CallNoArgs(callable);
    }
    PyObject **items;
    Py_ssize_t n;
    if (bv_build_stack(format, vargs, 0, &items, &n) < 0) {
        return NULL;
    }
    PyObject *args;
    if (n == 1 && PyTuple_Check(items[0])) {
        args = items[0];
    } else {
        args = PyTuple_New(n);
        if (args == NULL) {
            for (Py_ssize_t i = 0; i < n; i++) Py_DECREF(items[i]);
        } else {
            for (Py_ssize_t i = 0; i < n; i++) {
                if (PyTuple_SetItem(args, i, items[i]) < 0) {
                    Py_CLEAR(args);
                    for (Py_ssize_t j = i + 1; j < n; j++) Py_DECREF(items[j]);
                    break;
                }
            }
        }
    }
    free(items);
    if (args == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_Call(callable, args, NULL);
    Py_DECREF(args);
    return result;
}

PyObject *slp_impl_PyObject_CallFunction(PyObject *callable, const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *result;
    if (callable == NULL) {
        null_arg("PyObject_CallFunction", "callable");
        bv_consume(format, va);
        result = NULL;
    } else {
        result = call_function_va(callable, format, va);
    }
    va_end(va);
    return result;
}

PyObject *slp_impl_PyObject_CallMethod(PyObject *obj, const char *name, const char *format,
                                       ...) {
    va_list va;
    va_start(va, format);
    PyObject *result = NULL;
    PyObject *method = NULL;
    if (obj == NULL) {
        null_arg("PyObject_CallMethod", "obj");
    } else if (name == NULL) {
        null_arg("PyObject_CallMethod", "name");
    } else if ((method = PyObject_GetAttrString(obj, name)) != NULL &&
               !PyCallable_Check(method)) {
        err_format(PyExc_TypeError, "attribute of type '%.200s' is not callable",
                   type_name_of(method));
        Py_CLEAR(method);
    }
    if (method == NULL) {
        bv_consume(format, va); /* release the N references */
    } else {
        result = call_function_va(method, format, va);
        Py_DECREF(method);
    }
    va_end(va);
    return result;
}

/* Calls callable with the NULL-terminated PyObject * arguments in va (borrowed). */
static PyObject *call_obj_args(PyObject *callable, va_list va) {
    PyObject **items = NULL;
    size_t n = 0, cap = 0;
    PyObject *result = NULL;
    for (;;) {
        PyObject *o = va_arg(va, PyObject *);
        if (o == NULL) break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            PyObject **p = NULL;
            if (ncap <= SIZE_MAX / sizeof(PyObject *)) {
                p = realloc(items, ncap * sizeof(PyObject *));
            }
            if (p == NULL) {
                PyErr_NoMemory();
                free(items);
                return NULL;
            }
            items = p;
            cap = ncap;
        }
        items[n++] = o;
    }
    PyObject *args = PyTuple_New((Py_ssize_t)n);
    if (args != NULL) {
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (PyTuple_SetItem(args, (Py_ssize_t)i, Py_NewRef(items[i])) < 0) bad = 1;
        }
        if (!bad) result = PyObject_Call(callable, args, NULL);
        Py_DECREF(args);
    }
    free(items);
    return result;
}

PyObject *slp_impl_PyObject_CallFunctionObjArgs(PyObject *callable, ...) {
    if (callable == NULL) {
        null_arg("PyObject_CallFunctionObjArgs", "callable");
        return NULL;
    }
    va_list va;
    va_start(va, callable);
    PyObject *result = call_obj_args(callable, va);
    va_end(va);
    return result;
}

PyObject *slp_impl_PyObject_CallMethodObjArgs(PyObject *obj, PyObject *name, ...) {
    if (obj == NULL) {
        null_arg("PyObject_CallMethodObjArgs", "obj");
        return NULL;
    }
    if (name == NULL) {
        null_arg("PyObject_CallMethodObjArgs", "name");
        return NULL;
    }
    PyObject *method = PyObject_GetAttr(obj, name);
    if (method == NULL) {
        return NULL;
    }
    va_list va;
    va_start(va, name);
    PyObject *result = call_obj_args(method, va);
    va_end(va);
    Py_DECREF(method);
    return result;
}

/* ===================================================================================== */
/* PyTuple_Pack                                                                            */
/* ===================================================================================== */

PyObject *slp_impl_PyTuple_Pack(Py_ssize_t n, ...) {
    if (n < 0) {
        PyErr_SetString(PyExc_SystemError, "PyTuple_Pack: negative size");
        return NULL;
    }
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    va_list va;
    va_start(va, n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = va_arg(va, PyObject *);
        if (o == NULL) {
            err_format(PyExc_SystemError, "PyTuple_Pack: item %zd is NULL", i);
            Py_CLEAR(t);
            break;
        }
        if (PyTuple_SetItem(t, i, Py_NewRef(o)) < 0) {
            Py_CLEAR(t);
            break;
        }
    }
    va_end(va);
    return t;
}
