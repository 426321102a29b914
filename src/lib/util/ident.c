/* vn_ident_check: the name rule, in one place for config/ and state/ (ident.h). */
#include "ident.h"

#include <stdio.h>
#include <string.h>

static int bad_char(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return ch;
    }
    return 0;
}

int vn_ident_check(const char *what, const char *s, size_t max, bool sentence, struct vn_error *err)
{
    /* The two styles differ only in how the sentence starts and ends. */
    const char *the = sentence ? "The " : "", *end = sentence ? "." : "";
    size_t n = strlen(s);
    int ch = bad_char(s);
    if (n == 0)
        return vn_error_set(err, "%s%s is empty%s", sentence ? "The " : "the ", what, end);
    if (n > max)
        return vn_error_set(err,
                            "%s%s '%.20s...' is %zu characters long; at most %zu are allowed%s",
                            the, what, s, n, max, end);
    if (s[0] == '-')
        return vn_error_set(err,
                            "%s%s '%s' starts with '-', which commands would read as an "
                            "option%s",
                            the, what, s, end);
    if (s[0] == '.')
        return vn_error_set(err,
                            "%s%s '%s' starts with '.', which would hide it or make it a "
                            "parent directory%s",
                            the, what, s, end);
    if (ch > 0x20 && ch < 0x7f)
        return vn_error_set(err,
                            "%s%s '%s' contains '%c'; only letters, digits, '-', '_' and "
                            "'.' are allowed%s",
                            the, what, s, ch, end);
    if (ch)
        return vn_error_set(err,
                            "%s%s '%s' contains the byte 0x%02x; only letters, digits, '-', "
                            "'_' and '.' are allowed%s",
                            the, what, s, ch & 0xff, end);
    return 0;
}
