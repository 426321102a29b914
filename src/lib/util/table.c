#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct vn_table {
    int ncols;
    int ncells, cap;
    char **cells; /* row-major; the header row first when present */
    bool has_header;
    bool *right;
};

struct vn_table *vn_table_new(int ncols, const char *const *headers)
{
    struct vn_table *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->ncols = ncols;
    t->right = calloc((size_t)ncols, sizeof *t->right);
    if (!t->right)
        abort();
    if (headers) {
        t->has_header = true;
        for (int i = 0; i < ncols; i++)
            vn_table_add(t, "%s", headers[i]);
    }
    return t;
}

void vn_table_align_right(struct vn_table *t, int col)
{
    if (col >= 0 && col < t->ncols)
        t->right[col] = true;
}

void vn_table_add(struct vn_table *t, const char *fmt, ...)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = realloc(t->cells, (size_t)t->cap * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->cells[t->ncells], fmt, ap) < 0)
        abort();
    va_end(ap);
    t->ncells++;
}

void vn_table_print(const struct vn_table *t, FILE *out, int indent)
{
    int *width = calloc((size_t)t->ncols, sizeof *width);
    if (!width)
        abort();
    for (int i = 0; i < t->ncells; i++) {
        int w = (int)strlen(t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (int i = 0; i < t->ncells; i++) {
        int col = i % t->ncols;
        bool last = col == t->ncols - 1 || i == t->ncells - 1;
        if (col == 0)
            fprintf(out, "%*s", indent, "");
        if (t->right[col])
            fprintf(out, "%*s", width[col], t->cells[i]);
        else if (last)
            fputs(t->cells[i], out);
        else
            fprintf(out, "%-*s", width[col], t->cells[i]);
        fputs(last ? "\n" : "  ", out);
    }
    free(width);
}

void vn_table_free(struct vn_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}

void vn_table_freep(struct vn_table **t)
{
    vn_table_free(*t);
}
