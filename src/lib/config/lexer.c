/* Lexer for xl.cfg: bytes to tokens.
 *
 * It follows libxlu's lexer (tools/libs/util/libxlu_cfg_l.l) so that files xl accepts lex the
 * same: identifiers [A-Za-z_][A-Za-z0-9_.]*, numbers written bare (decimal, 0x hex, 0 octal)
 * kept as text because xl stores every atom as a string, strings in single or double quotes
 * with C-like escapes, '#' comments to the end of the line, and newlines as tokens because
 * they end statements.  Where xl is broken we do what its manual says instead: libxlu reads
 * "\x41" and "\101" but drops the character, here they produce it.
 *
 * Errors are tokens, not diagnostics, because only the parser knows the key concerned. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

struct lexer {
    const char *buf;
    size_t len, pos;
    int line, col;
    struct vn_tokens *out;
};

static int push(struct lexer *lx, enum vn_tok_kind kind, struct vn_loc loc, char *text)
{
    struct vn_tokens *t = lx->out;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        struct vn_token *v = realloc(t->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(text);
            return -1;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (struct vn_token){.kind = kind, .loc = loc, .text = text};
    return 0;
}

static int push_error(struct lexer *lx, struct vn_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int push_error(struct lexer *lx, struct vn_loc loc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *text = strdup(msg);
    if (!text)
        return -1;
    return push(lx, VN_TOK_ERROR, loc, text);
}

static int peek(const struct lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? (unsigned char)lx->buf[lx->pos + ahead] : -1;
}

static void advance(struct lexer *lx)
{
    if (lx->buf[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

/* Shows a byte in a message: printable as itself, anything else as \xNN. */
static const char *show_char(int c, char *buf, size_t len)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, len, "%c", c);
    else
        snprintf(buf, len, "\\x%02x", (unsigned)c & 0xff);
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One escape after a backslash (the backslash is consumed); appends to out.  Returns 0, or -1
 * after pushing an error token. */
static int lex_escape(struct lexer *lx, char *out, size_t *n, struct vn_loc at, int *bad)
{
    int c = peek(lx, 0);
    char shown[8];
    int v;
    switch (c) {
    case '"':
    case '\'':
    case '\\':
        v = c;
        break;
    case 'a':
        v = '\a';
        break;
    case 'b':
        v = '\b';
        break;
    case 'f':
        v = '\f';
        break;
    case 'n':
        v = '\n';
        break;
    case 'r':
        v = '\r';
        break;
    case 't':
        v = '\t';
        break;
    case 'v':
        v = '\v';
        break;
    case 'x': {
        int h1 = hexval(peek(lx, 1)), h2 = hexval(peek(lx, 2));
        if (h1 < 0 || h2 < 0) {
            *bad = 1;
            return push_error(lx, at, "'\\x' must be followed by two hex digits in a string.");
        }
        advance(lx);
        advance(lx);
        v = h1 * 16 + h2;
        break;
    }
    default:
        if (c >= '0' && c <= '7') {
            v = 0;
            for (int k = 0; k < 3 && peek(lx, 0) >= '0' && peek(lx, 0) <= '7'; k++) {
                v = v * 8 + (peek(lx, 0) - '0');
                advance(lx);
            }
            if (v > 0xff) {
                *bad = 1;
                return push_error(lx, at, "Octal escape is above '\\377' in a string.");
            }
            goto store; /* digits already consumed */
        }
        *bad = 1;
        if (c < 0 || c == '\n')
            return push_error(lx, at, "A backslash ends the line inside a string.");
        return push_error(lx, at, "Invalid escape '\\%s' in a string.",
                          show_char(c, shown, sizeof shown));
    }
    advance(lx);
store:
    if (v == 0) {
        *bad = 1;
        return push_error(lx, at, "A string cannot contain a NUL character.");
    }
    out[(*n)++] = (char)v;
    return 0;
}

static int lex_string(struct lexer *lx)
{
    struct vn_loc loc = {lx->line, lx->col};
    int quote = peek(lx, 0);
    advance(lx);
    /* The dequoted text is never longer than the quoted one. */
    size_t start = lx->pos;
    size_t end = start;
    while (end < lx->len && lx->buf[end] != '\n' && lx->buf[end] != quote)
        end += lx->buf[end] == '\\' && end + 1 < lx->len && lx->buf[end + 1] != '\n' ? 2 : 1;
    char *out = malloc(end - start + 1);
    if (!out)
        return -1;
    size_t n = 0;
    int bad = 0;
    for (;;) {
        int c = peek(lx, 0);
        if (c < 0 || c == '\n') {
            free(out);
            return push_error(lx, loc, "String is not closed by %s before the end of the line.",
                              quote == '"' ? "'\"'" : "\"'\"");
        }
        if (c == quote) {
            advance(lx);
            break;
        }
        if (c == '\\') {
            struct vn_loc at = {lx->line, lx->col};
            advance(lx);
            if (lex_escape(lx, out, &n, at, &bad) < 0) {
                free(out);
                return -1;
            }
            continue;
        }
        if (c == 0) {
            bad = 1;
            if (push_error(lx, (struct vn_loc){lx->line, lx->col},
                           "A string cannot contain a NUL character.") < 0) {
                free(out);
                return -1;
            }
            advance(lx);
            continue;
        }
        out[n++] = (char)c;
        advance(lx);
    }
    out[n] = '\0';
    if (bad) {
        free(out);
        return 0; /* the error token stands for the string */
    }
    return push(lx, VN_TOK_STRING, loc, out);
}

/* Checks a bare number the way xl reads it (strtol base 0) and returns an error message or
 * NULL.  Signs are not part of xl's grammar. */
static const char *number_problem(const char *s)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (!s[2])
            return "is not a number: '0x' needs hex digits";
        for (const char *p = s + 2; *p; p++)
            if (hexval((unsigned char)*p) < 0)
                return "is not a hex number";
        return NULL;
    }
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return "is not a number";
    if (s[0] == '0')
        for (const char *p = s; *p; p++)
            if (*p > '7')
                return "is not a valid number: a leading 0 makes it octal, as in xl";
    return NULL;
}

static int lex_number(struct lexer *lx)
{
    struct vn_loc loc = {lx->line, lx->col};
    size_t start = lx->pos;
    while (peek(lx, 0) >= 0 && (isalnum(peek(lx, 0)) || peek(lx, 0) == '_' || peek(lx, 0) == '.'))
        advance(lx);
    size_t n = lx->pos - start;
    char *text = strndup(lx->buf + start, n);
    if (!text)
        return -1;
    const char *problem = number_problem(text);
    if (problem) {
        int rc = push_error(lx, loc, "'%.64s' %s.", text, problem);
        free(text);
        return rc;
    }
    return push(lx, VN_TOK_NUMBER, loc, text);
}

static int lex_ident(struct lexer *lx)
{
    struct vn_loc loc = {lx->line, lx->col};
    size_t start = lx->pos;
    while (peek(lx, 0) >= 0 && (isalnum(peek(lx, 0)) || peek(lx, 0) == '_' || peek(lx, 0) == '.'))
        advance(lx);
    char *text = strndup(lx->buf + start, lx->pos - start);
    if (!text)
        return -1;
    return push(lx, VN_TOK_IDENT, loc, text);
}

int vn_lex(const char *buf, size_t len, struct vn_tokens *out)
{
    struct lexer lx = {.buf = buf, .len = len, .line = 1, .col = 1, .out = out};
    *out = (struct vn_tokens){0};
    int rc = 0;
    while (rc == 0) {
        int c = peek(&lx, 0);
        struct vn_loc loc = {lx.line, lx.col};
        if (c < 0)
            break;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            advance(&lx);
        } else if (c == '#') {
            while (peek(&lx, 0) >= 0 && peek(&lx, 0) != '\n')
                advance(&lx);
        } else if (c == '\n') {
            advance(&lx);
            rc = push(&lx, VN_TOK_NEWLINE, loc, NULL);
        } else if (c == ';' || c == '=' || c == '[' || c == ']' || c == ',') {
            advance(&lx);
            enum vn_tok_kind k = c == ';'   ? VN_TOK_SEMI
                                 : c == '=' ? VN_TOK_EQUALS
                                 : c == '[' ? VN_TOK_LBRACKET
                                 : c == ']' ? VN_TOK_RBRACKET
                                            : VN_TOK_COMMA;
            rc = push(&lx, k, loc, NULL);
        } else if (c == '+' && peek(&lx, 1) == '=') {
            advance(&lx);
            advance(&lx);
            rc = push(&lx, VN_TOK_PLUS_EQUALS, loc, NULL);
        } else if (c == '"' || c == '\'') {
            rc = lex_string(&lx);
        } else if (isdigit(c)) {
            rc = lex_number(&lx);
        } else if (isalpha(c) || c == '_') {
            rc = lex_ident(&lx);
        } else {
            char shown[8];
            advance(&lx);
            if (c == '-' && peek(&lx, 0) >= 0 && isdigit(peek(&lx, 0)))
                rc = push_error(&lx, loc, "Negative numbers are not allowed.");
            else if (c == '(' || c == ')' || c == ':')
                rc = push_error(&lx, loc,
                                "Unexpected character '%c': this looks like Python, which xl "
                                "config files no longer support.",
                                c);
            else
                rc = push_error(&lx, loc, "Unexpected character '%s'.",
                                show_char(c, shown, sizeof shown));
        }
    }
    if (rc == 0)
        rc = push(&lx, VN_TOK_EOF, (struct vn_loc){lx.line, lx.col}, NULL);
    return rc;
}

void vn_tokens_free(struct vn_tokens *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    *t = (struct vn_tokens){0};
}

const char *vn_tok_describe(const struct vn_token *t, char *buf, size_t len)
{
    switch (t->kind) {
    case VN_TOK_EOF:
        return "the end of the file";
    case VN_TOK_NEWLINE:
        return "the end of the line";
    case VN_TOK_SEMI:
        return "';'";
    case VN_TOK_EQUALS:
        return "'='";
    case VN_TOK_PLUS_EQUALS:
        return "'+='";
    case VN_TOK_LBRACKET:
        return "'['";
    case VN_TOK_RBRACKET:
        return "']'";
    case VN_TOK_COMMA:
        return "','";
    case VN_TOK_IDENT:
        snprintf(buf, len, "'%.64s'", t->text);
        return buf;
    case VN_TOK_NUMBER:
        snprintf(buf, len, "the number '%.64s'", t->text);
        return buf;
    case VN_TOK_STRING:
        snprintf(buf, len, "the string '%.64s'", t->text);
        return buf;
    case VN_TOK_ERROR:
        return "an invalid token";
    }
    return "?";
}
