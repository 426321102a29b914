/* Diagnostics: the list of problems found in one config file.
 *
 * A config can have many problems and the user wants all of them at once, so they are
 * collected here rather than returned one at a time through struct vn_error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

void vn_diags_init(struct vn_diags *d, const char *file)
{
    *d = (struct vn_diags){0};
    d->file = strdup(file ? file : "<config>");
}

/* Appends one diagnostic; ap may be NULL for a message without arguments. */
static void store(struct vn_diags *d, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                  const char *fmt, va_list *ap)
{
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        struct vn_diag *v = realloc(d->v, (size_t)cap * sizeof *v);
        if (!v)
            return;
        d->v = v;
        d->cap = cap;
    }
    struct vn_diag *g = &d->v[d->n++];
    g->severity = sev;
    g->line = loc.line;
    g->col = loc.col;
    snprintf(g->key, sizeof g->key, "%s", key ? key : "");
    if (ap)
        vsnprintf(g->msg, sizeof g->msg, fmt, *ap);
    else
        snprintf(g->msg, sizeof g->msg, "%s", fmt);
}

void vn_diags_add(struct vn_diags *d, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                  const char *fmt, ...)
{
    /* Counted even when not stored, so that callers still see the file is invalid. */
    bool error = sev == VN_DIAG_ERROR;
    int count = error ? ++d->nerrors : ++d->nwarnings;
    int max = error ? VN_CONFIG_MAX_ERRORS : VN_CONFIG_MAX_WARNINGS;
    bool *capped = error ? &d->errors_capped : &d->warnings_capped;
    if (count > max) {
        /* One line where the first one past the limit was found, then silence: a hostile
         * file must not cost memory and output in proportion to its mistakes. */
        if (!*capped) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     error ? "Too many errors (%d); the rest of the file is not checked."
                           : "Too many warnings (%d); the rest are not shown.",
                     max);
            store(d, sev, loc, "", msg, NULL);
            *capped = true;
        }
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    store(d, sev, loc, key, fmt, &ap);
    va_end(ap);
}

void vn_diag_format(const struct vn_diags *d, int i, char *buf, size_t len)
{
    const struct vn_diag *g = &d->v[i];
    char where[64] = "";
    if (g->line > 0 && g->col > 0)
        snprintf(where, sizeof where, ":%d:%d", g->line, g->col);
    else if (g->line > 0)
        snprintf(where, sizeof where, ":%d", g->line);
    snprintf(buf, len, "%s%s: %s: %s%s%s", d->file ? d->file : "<config>", where,
             g->severity == VN_DIAG_ERROR ? "error" : "warning", g->key, g->key[0] ? ": " : "",
             g->msg);
}

/* Orders by position, then by the order of discovery so that problems found at one place keep
 * the order of the rules that found them. */
static int by_position(const void *a, const void *b)
{
    const struct vn_diag *const *x = a, *const *y = b;
    if ((*x)->line != (*y)->line)
        return (*x)->line < (*y)->line ? -1 : 1;
    if ((*x)->col != (*y)->col)
        return (*x)->col < (*y)->col ? -1 : 1;
    return *x < *y ? -1 : *x > *y;
}

void vn_diags_sort(struct vn_diags *d)
{
    if (d->n < 2)
        return;
    const struct vn_diag **order = malloc((size_t)d->n * sizeof *order);
    struct vn_diag *sorted = malloc((size_t)d->n * sizeof *sorted);
    if (order && sorted) {
        for (int i = 0; i < d->n; i++)
            order[i] = &d->v[i];
        qsort(order, (size_t)d->n, sizeof *order, by_position);
        for (int i = 0; i < d->n; i++)
            sorted[i] = *order[i];
        memcpy(d->v, sorted, (size_t)d->n * sizeof *sorted);
    }
    free(order);
    free(sorted);
}

void vn_diags_free(struct vn_diags *d)
{
    free(d->file);
    free(d->v);
    *d = (struct vn_diags){0};
}
