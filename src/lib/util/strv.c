#include "strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void vn_strv_addf(struct vn_strv *s, const char *fmt, ...)
{
    if (s->oom)
        return;
    if (s->n + 2 > s->cap) {
        int cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, sizeof *v * cap);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s->v[s->n], fmt, ap);
    va_end(ap);
    if (r < 0) {
        s->oom = true;
        return;
    }
    s->v[++s->n] = NULL;
}

char **vn_strv_take(struct vn_strv *s)
{
    char **v = s->v;
    bool oom = s->oom;
    int n = s->n;
    *s = (struct vn_strv){0};
    if (oom) {
        /* Not vn_strv_free: after a failed vasprintf, v[n] is not a NULL terminator. */
        for (int i = 0; v && i < n; i++)
            free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

void vn_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}
