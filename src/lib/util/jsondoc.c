/* Strict JSON documents (jsondoc.h).
 *
 * json-c merges a repeated key into one member, so duplicates are found from the text: one
 * pass counts the members of every object in document order; walking the parsed tree in the
 * same order, the first object with fewer members than the text gave is the first one with a
 * repeated key (every object before it matched, so the two orders agree up to it), and only
 * that object's keys are then decoded and compared. */
#include "jsondoc.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* NAME:LINE:COLUMN of byte offset off (columns count bytes from 1). */
static void where(const char *buf, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Offset just past the string whose opening quote is at buf[i]. */
static size_t skip_string(const char *buf, size_t len, size_t i)
{
    for (i++; i < len && buf[i] != '"'; i++)
        if (buf[i] == '\\')
            i++;
    return i + 1;
}

struct objects {
    size_t n, cap;
    size_t *start;   /* offset of each object's '{', in document order */
    size_t *members; /* its members as written */
};

/* Counts the members of every object: one ':' directly inside it per member. */
static int count_members(const char *buf, size_t len, struct objects *o)
{
    enum { MAX_STACK = 64 };
    size_t stack[MAX_STACK]; /* index into o, or SIZE_MAX for an array */
    int top = -1;
    for (size_t i = 0; i < len;) {
        char c = buf[i];
        if (c == '"') {
            i = skip_string(buf, len, i);
            continue;
        }
        if (c == '{' || c == '[') {
            if (++top == MAX_STACK)
                return -1; /* deeper than any parse this runs after */
            stack[top] = SIZE_MAX;
            if (c == '{') {
                if (o->n == o->cap) {
                    size_t cap = o->cap ? o->cap * 2 : 64;
                    size_t *s = realloc(o->start, cap * sizeof *s);
                    if (s)
                        o->start = s;
                    size_t *m = realloc(o->members, cap * sizeof *m);
                    if (m)
                        o->members = m;
                    if (!s || !m)
                        return -1;
                    o->cap = cap;
                }
                o->start[o->n] = i;
                o->members[o->n] = 0;
                stack[top] = o->n++;
            }
        } else if ((c == '}' || c == ']') && top >= 0) {
            top--;
        } else if (c == ':' && top >= 0 && stack[top] != SIZE_MAX) {
            o->members[stack[top]]++;
        }
        i++;
    }
    return 0;
}

/* Pre-order walk of the tree against the text's counts; returns the index of the first object
 * whose member count differs, or SIZE_MAX. */
static size_t first_mismatch(struct json_object *v, const struct objects *o, size_t *next)
{
    if (json_object_is_type(v, json_type_object)) {
        size_t me = (*next)++;
        if (me >= o->n || (size_t)json_object_object_length(v) != o->members[me])
            return me;
        json_object_object_foreach(v, key, child)
        {
            (void)key;
            size_t bad = first_mismatch(child, o, next);
            if (bad != SIZE_MAX)
                return bad;
        }
    } else if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t k = 0; k < n; k++) {
            size_t bad = first_mismatch(json_object_array_get_idx(v, k), o, next);
            if (bad != SIZE_MAX)
                return bad;
        }
    }
    return SIZE_MAX;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* The decoded text of the (valid) string at buf[i], as json-c stores a key. */
static char *decode_key(const char *buf, size_t len, size_t i, size_t *outlen)
{
    size_t end = skip_string(buf, len, i);
    char *out = malloc(end - i + 1); /* decoding never grows the text */
    if (!out)
        abort();
    size_t n = 0;
    for (size_t k = i + 1; k + 1 < end; k++) {
        if (buf[k] != '\\') {
            out[n++] = buf[k];
            continue;
        }
        char e = buf[++k];
        if (e == 'u' && k + 4 < end) {
            uint32_t cp = hex4(buf + k + 1);
            k += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && k + 6 < end && buf[k + 1] == '\\' &&
                buf[k + 2] == 'u') {
                uint32_t lo = hex4(buf + k + 3);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    k += 6;
                }
            }
            put_utf8(out, &n, cp);
        } else {
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *f = strchr(from, e);
            out[n++] = f && e ? to[f - from] : e;
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

struct key {
    char *text;
    size_t len, off;
};

static int by_text_then_offset(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c || x->len != y->len)
        return c ? c : x->len < y->len ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static bool same_text(const struct key *x, const struct key *y)
{
    return x->len == y->len && memcmp(x->text, y->text, x->len) == 0;
}

/* Finds the repeated key of the object at buf[start] (its second appearance that comes first
 * in the text) and reports it. */
static int report_duplicate(const char *buf, size_t len, size_t start, const char *name,
                            struct vn_error *err)
{
    size_t n = 0, cap = 16;
    struct key *keys = malloc(cap * sizeof *keys);
    if (!keys)
        abort();
    int depth = 0;
    bool expect_key = true;
    for (size_t i = start + 1; i < len && depth >= 0;) {
        char c = buf[i];
        if (c == '"') {
            if (depth == 0 && expect_key) {
                if (n == cap) {
                    cap *= 2;
                    struct key *k = realloc(keys, cap * sizeof *keys);
                    if (!k)
                        abort();
                    keys = k;
                }
                keys[n].off = i;
                keys[n].text = decode_key(buf, len, i, &keys[n].len);
                n++;
                expect_key = false;
            }
            i = skip_string(buf, len, i);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        else if (c == ',' && depth == 0)
            expect_key = true;
        i++;
    }
    qsort(keys, n, sizeof *keys, by_text_then_offset);
    size_t best = SIZE_MAX, best_k = 0;
    for (size_t k = 1; k < n; k++) {
        /* keys[k] is the second of its group when it equals the one before and that one
         * does not equal its own predecessor. */
        bool second =
            same_text(&keys[k], &keys[k - 1]) && (k == 1 || !same_text(&keys[k - 1], &keys[k - 2]));
        if (second && keys[k].off < best) {
            best = keys[k].off;
            best_k = k;
        }
    }
    int line, col;
    if (best == SIZE_MAX) {
        where(buf, start, &line, &col);
        vn_error_set(err, "%s:%d:%d: an object has a key twice", name, line, col);
    } else {
        where(buf, best, &line, &col);
        vn_error_set(err, "%s:%d:%d: duplicate key '%.64s' in an object", name, line, col,
                     keys[best_k].text);
    }
    for (size_t k = 0; k < n; k++)
        free(keys[k].text);
    free(keys);
    return -1;
}

static int check_duplicates(const char *buf, size_t len, struct json_object *doc, const char *name,
                            struct vn_error *err)
{
    struct objects o = {0};
    int rc = 0;
    if (count_members(buf, len, &o) < 0) {
        rc = vn_error_set(err, "%s: out of memory checking the JSON document", name);
    } else {
        size_t next = 0;
        size_t bad = first_mismatch(doc, &o, &next);
        if (bad != SIZE_MAX)
            rc = report_duplicate(buf, len, bad < o.n ? o.start[bad] : 0, name, err);
    }
    free(o.start);
    free(o.members);
    return rc;
}

static void tokener_freep(struct json_tokener **tok)
{
    if (*tok)
        json_tokener_free(*tok);
}

struct json_object *vn_json_parse_doc(const char *buf, size_t len, size_t max, int depth,
                                      const char *name, struct vn_error *err)
{
    int line, col;
    if (len > max)
        return vn_error_set(err, "%s: the document is larger than %zu bytes", name, max), NULL;
    /* Refusing deep nesting stops pathological input early. */
    VN_CLEANUP(tokener_freep) struct json_tokener *tok = json_tokener_new_ex(depth);
    if (!tok)
        abort();
    /* No comments, single quotes or trailing commas: files must be plain JSON. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *doc = json_tokener_parse_ex(tok, buf, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!doc) {
        where(buf, end, &line, &col);
        if (e == json_tokener_continue || e == json_tokener_success)
            return vn_error_set(err, "%s:%d:%d: the JSON document ends early", name, line, col),
                   NULL;
        return vn_error_set(err, "%s:%d:%d: invalid JSON: %s", name, line, col,
                            json_tokener_error_desc(e)),
               NULL;
    }
    for (size_t i = end; i < len; i++) {
        if (!strchr(" \t\r\n", buf[i]) || !buf[i]) {
            where(buf, i, &line, &col);
            json_object_put(doc);
            return vn_error_set(err, "%s:%d:%d: unexpected text after the JSON document", name,
                                line, col),
                   NULL;
        }
    }
    if (check_duplicates(buf, end, doc, name, err) < 0) {
        json_object_put(doc);
        return NULL;
    }
    return doc;
}

struct json_object *vn_json_int_list(const struct vn_bitmap *b)
{
    struct json_object *a = json_object_new_array();
    VN_BITMAP_FOREACH(n, b)
    json_object_array_add(a, json_object_new_int(n));
    return a;
}

const char *vn_json_unknown_key(struct json_object *o, const char *const *keys)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        bool known = false;
        for (int i = 0; keys[i] && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known)
            return key;
    }
    return NULL;
}
