/* Parser for xl.cfg: tokens to settings.
 *
 * Grammar (libxlu's, tools/libs/util/libxlu_cfg_y.y, plus nothing):
 *     file      := statement*
 *     statement := KEY ('=' | '+=') value (';' | NEWLINE | EOF) | ';' | NEWLINE
 *     value     := STRING | NUMBER | '[' [value (',' value)* [',']] ']'
 * Newlines inside brackets are white space, which is how a list continues over lines.
 *
 * A key written twice keeps the last value as xl does (xl's lookup finds the newest setting);
 * since that is usually a mistake we warn.  '+=' appends to a string or a list as in xl 4.6+.
 * After a syntax error the parser skips to the next statement so that one file reports all its
 * mistakes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

struct stmt {
    char *key;
    struct vn_loc loc;
    bool append;
    struct vn_cv *value;
};

struct parser {
    const struct vn_tokens *t;
    int pos;
    struct vn_diags *diags;
    int nerrors;
    bool gave_up;
};

const char *vn_cv_kind_name(enum vn_cv_kind k)
{
    return k == VN_CV_STRING ? "a string" : k == VN_CV_NUMBER ? "a number" : "a list";
}

void vn_cv_free(struct vn_cv *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++)
        vn_cv_free(v->items[i]);
    free(v->items);
    free(v->text);
    free(v);
}

static const struct vn_token *tok(const struct parser *p)
{
    return &p->t->v[p->pos];
}

static const struct vn_token *tok_at(const struct parser *p, int ahead)
{
    int i = p->pos + ahead;
    return &p->t->v[i < p->t->n ? i : p->t->n - 1];
}

static void next(struct parser *p)
{
    if (p->pos < p->t->n - 1)
        p->pos++;
}

static void error(struct parser *p, struct vn_loc loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void error(struct parser *p, struct vn_loc loc, const char *key, const char *fmt, ...)
{
    if (p->gave_up)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vn_diags_add(p->diags, VN_DIAG_ERROR, loc, key, "%s", msg);
    p->nerrors++;
    /* vn_diags_add has written "Too many errors": nothing more would be shown. */
    if (p->diags->nerrors > VN_CONFIG_MAX_ERRORS)
        p->gave_up = true;
}

/* True at "KEY =" or "KEY +=" that begins a line: a new statement even inside an unclosed
 * list, since a list element cannot be a bare word. */
static bool at_statement_start(const struct parser *p)
{
    if (tok(p)->kind != VN_TOK_IDENT)
        return false;
    if (tok_at(p, 1)->kind != VN_TOK_EQUALS && tok_at(p, 1)->kind != VN_TOK_PLUS_EQUALS)
        return false;
    if (p->pos == 0)
        return true;
    enum vn_tok_kind prev = p->t->v[p->pos - 1].kind;
    return prev == VN_TOK_NEWLINE || prev == VN_TOK_SEMI;
}

/* Skips to the start of the next statement: past a ';' or newline outside brackets, or to a
 * "KEY =" at the start of a line (after a list that was never closed). */
static void recover(struct parser *p, int depth)
{
    for (;;) {
        if (at_statement_start(p))
            return;
        enum vn_tok_kind k = tok(p)->kind;
        if (k == VN_TOK_EOF)
            return;
        next(p);
        if (k == VN_TOK_LBRACKET)
            depth++;
        else if (k == VN_TOK_RBRACKET)
            depth--;
        else if ((k == VN_TOK_NEWLINE || k == VN_TOK_SEMI) && depth <= 0)
            return;
    }
}

static struct vn_cv *new_cv(enum vn_cv_kind kind, struct vn_loc loc)
{
    struct vn_cv *v = calloc(1, sizeof *v);
    if (v) {
        v->kind = kind;
        v->loc = loc;
    }
    return v;
}

static int list_append(struct vn_cv *list, struct vn_cv *item, int *cap)
{
    if (list->n == *cap) {
        int ncap = *cap ? *cap * 2 : 4;
        struct vn_cv **items = realloc(list->items, (size_t)ncap * sizeof *items);
        if (!items)
            return -1;
        list->items = items;
        *cap = ncap;
    }
    list->items[list->n++] = item;
    return 0;
}

static void skip_newlines(struct parser *p)
{
    while (tok(p)->kind == VN_TOK_NEWLINE)
        next(p);
}

/* Parses one value; NULL after reporting an error (the position is then inside the value and
 * the caller recovers with depth). */
static struct vn_cv *parse_value(struct parser *p, const char *key, int depth, int *err_depth)
{
    const struct vn_token *t = tok(p);
    char shown[96];
    *err_depth = depth;
    switch (t->kind) {
    case VN_TOK_STRING:
    case VN_TOK_NUMBER: {
        struct vn_cv *v = new_cv(t->kind == VN_TOK_STRING ? VN_CV_STRING : VN_CV_NUMBER, t->loc);
        if (!v || !(v->text = strdup(t->text))) {
            vn_cv_free(v);
            error(p, t->loc, key, "Out of memory.");
            return NULL;
        }
        next(p);
        return v;
    }
    case VN_TOK_ERROR:
        error(p, t->loc, key, "%s", t->text);
        return NULL;
    case VN_TOK_LBRACKET:
        break;
    case VN_TOK_IDENT:
        error(p, t->loc, key, "Expected a value for '%s' but found %s; strings need quotes.", key,
              vn_tok_describe(t, shown, sizeof shown));
        return NULL;
    default:
        error(p, t->loc, key, "Expected a value for '%s' but found %s.", key,
              vn_tok_describe(t, shown, sizeof shown));
        return NULL;
    }

    struct vn_loc open = t->loc;
    if (depth + 1 > VN_CONFIG_MAX_DEPTH) {
        error(p, open, key, "Lists in '%s' are nested deeper than %d levels.", key,
              VN_CONFIG_MAX_DEPTH);
        return NULL;
    }
    next(p);
    struct vn_cv *list = new_cv(VN_CV_LIST, open);
    int cap = 0;
    if (!list) {
        error(p, open, key, "Out of memory.");
        return NULL;
    }
    *err_depth = depth + 1;
    skip_newlines(p);
    if (tok(p)->kind == VN_TOK_RBRACKET) {
        next(p);
        return list;
    }
    for (;;) {
        int inner_depth;
        if (tok(p)->kind == VN_TOK_EOF || at_statement_start(p)) {
            error(p, open, key, "The list of '%s' opened here is not closed by ']'.", key);
            vn_cv_free(list);
            return NULL;
        }
        struct vn_cv *item = parse_value(p, key, depth + 1, &inner_depth);
        if (!item) {
            *err_depth = inner_depth;
            vn_cv_free(list);
            return NULL;
        }
        if (list_append(list, item, &cap) < 0) {
            vn_cv_free(item);
            vn_cv_free(list);
            error(p, open, key, "Out of memory.");
            return NULL;
        }
        skip_newlines(p);
        t = tok(p);
        if (t->kind == VN_TOK_COMMA) {
            next(p);
            skip_newlines(p);
            if (tok(p)->kind == VN_TOK_RBRACKET) { /* trailing comma */
                next(p);
                return list;
            }
            continue;
        }
        if (t->kind == VN_TOK_RBRACKET) {
            next(p);
            return list;
        }
        if (t->kind == VN_TOK_EOF || at_statement_start(p))
            error(p, open, key, "The list of '%s' opened here is not closed by ']'.", key);
        else if (t->kind == VN_TOK_ERROR)
            error(p, t->loc, key, "%s", t->text);
        else
            error(p, t->loc, key, "Expected ',' or ']' in the list of '%s' but found %s.", key,
                  vn_tok_describe(t, shown, sizeof shown));
        vn_cv_free(list);
        return NULL;
    }
}

static void stmt_free(struct stmt *s)
{
    free(s->key);
    vn_cv_free(s->value);
}

/* Parses one statement into s; returns 1 for a statement, 0 for an empty one or an error. */
static int parse_statement(struct parser *p, struct stmt *s)
{
    const struct vn_token *t = tok(p);
    char shown[96];
    if (t->kind == VN_TOK_NEWLINE || t->kind == VN_TOK_SEMI) {
        next(p);
        return 0;
    }
    if (t->kind != VN_TOK_IDENT) {
        if (t->kind == VN_TOK_ERROR)
            error(p, t->loc, "", "%s", t->text);
        else
            error(p, t->loc, "", "Expected a key at the start of a statement but found %s.",
                  vn_tok_describe(t, shown, sizeof shown));
        recover(p, 0);
        return 0;
    }
    const char *key = t->text;
    struct vn_loc loc = t->loc;
    next(p);
    t = tok(p);
    if (t->kind != VN_TOK_EQUALS && t->kind != VN_TOK_PLUS_EQUALS) {
        error(p, t->kind == VN_TOK_ERROR ? t->loc : loc, key,
              "Expected '=' after the key '%s' but found %s.", key,
              t->kind == VN_TOK_ERROR ? t->text : vn_tok_describe(t, shown, sizeof shown));
        recover(p, 0);
        return 0;
    }
    bool append = t->kind == VN_TOK_PLUS_EQUALS;
    next(p);
    int depth;
    struct vn_cv *v = parse_value(p, key, 0, &depth);
    if (!v) {
        recover(p, depth);
        return 0;
    }
    t = tok(p);
    if (t->kind != VN_TOK_NEWLINE && t->kind != VN_TOK_SEMI && t->kind != VN_TOK_EOF) {
        if (t->kind == VN_TOK_ERROR)
            error(p, t->loc, key, "%s", t->text);
        else
            error(p, t->loc, key,
                  "Expected ';' or the end of the line after the value of '%s' but found %s.", key,
                  vn_tok_describe(t, shown, sizeof shown));
        vn_cv_free(v);
        recover(p, 0);
        return 0;
    }
    s->key = strdup(key);
    if (!s->key) {
        vn_cv_free(v);
        error(p, loc, key, "Out of memory.");
        return 0;
    }
    s->loc = loc;
    s->append = append;
    s->value = v;
    return 1;
}

static struct vn_setting *find_setting(struct vn_settings *out, const char *key)
{
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->v[i].key, key) == 0)
            return &out->v[i];
    return NULL;
}

/* Applies xl's '+=': strings concatenate, lists append.  Consumes add. */
static int concat(struct parser *p, struct vn_setting *prev, struct stmt *s)
{
    struct vn_cv *old = prev->value, *add = s->value;
    if (old->kind == VN_CV_NUMBER || add->kind == VN_CV_NUMBER) {
        error(p, s->loc, s->key, "'+=' cannot be used with numbers ('%s').", s->key);
        return -1;
    }
    if (old->kind != add->kind) {
        error(p, s->loc, s->key, "'+=' cannot add %s to %s ('%s' at line %d).",
              vn_cv_kind_name(add->kind), vn_cv_kind_name(old->kind), s->key, prev->loc.line);
        return -1;
    }
    if (add->kind == VN_CV_STRING) {
        size_t a = strlen(old->text), b = strlen(add->text);
        char *text = realloc(old->text, a + b + 1);
        if (!text) {
            error(p, s->loc, s->key, "Out of memory.");
            return -1;
        }
        memcpy(text + a, add->text, b + 1);
        old->text = text;
    } else {
        if (add->n > 0) {
            struct vn_cv **items = realloc(old->items, (size_t)(old->n + add->n) * sizeof *items);
            if (!items) {
                error(p, s->loc, s->key, "Out of memory.");
                return -1;
            }
            memcpy(items + old->n, add->items, (size_t)add->n * sizeof *items);
            old->items = items;
            old->n += add->n;
            add->n = 0;
        }
    }
    vn_cv_free(add);
    s->value = NULL;
    prev->loc = s->loc;
    return 0;
}

/* Folds one statement into the settings with xl's rules. */
static void store(struct parser *p, struct vn_settings *out, struct stmt *s)
{
    struct vn_setting *prev = find_setting(out, s->key);
    if (prev && s->append) {
        concat(p, prev, s);
        stmt_free(s);
        return;
    }
    if (!prev && s->append && s->value->kind == VN_CV_NUMBER) {
        error(p, s->loc, s->key, "'+=' cannot be used with numbers ('%s').", s->key);
        stmt_free(s);
        return;
    }
    if (prev) {
        vn_diags_add(p->diags, VN_DIAG_WARNING, s->loc, s->key,
                     "'%s' is set again; this value replaces the one at line %d (xl keeps "
                     "the last).",
                     s->key, prev->loc.line);
        vn_cv_free(prev->value);
        prev->value = s->value;
        prev->loc = s->loc;
        free(s->key);
        return;
    }
    if (out->n == VN_CONFIG_MAX_KEYS) {
        /* Bounds the key lookups above and the unknown-key checks after parsing; the file
         * has dozens of unknown keys by now, which spec_build reports first. */
        if (out->overflow.line == 0)
            out->overflow = s->loc;
        stmt_free(s);
        return;
    }
    if (out->n == out->cap) {
        int cap = out->cap ? out->cap * 2 : 16;
        struct vn_setting *v = realloc(out->v, (size_t)cap * sizeof *v);
        if (!v) {
            error(p, s->loc, s->key, "Out of memory.");
            stmt_free(s);
            return;
        }
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] =
        (struct vn_setting){.key = s->key, .loc = s->loc, .value = s->value, .first = s->loc};
}

int vn_parse_settings(const struct vn_tokens *toks, struct vn_settings *out, struct vn_diags *diags)
{
    struct parser p = {.t = toks, .diags = diags};
    *out = (struct vn_settings){0};
    while (tok(&p)->kind != VN_TOK_EOF && !p.gave_up) {
        struct stmt s = {0};
        if (parse_statement(&p, &s))
            store(&p, out, &s);
    }
    return p.nerrors;
}

void vn_settings_free(struct vn_settings *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].key);
        vn_cv_free(s->v[i].value);
    }
    free(s->v);
    *s = (struct vn_settings){0};
}
