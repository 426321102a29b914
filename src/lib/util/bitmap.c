#include "bitmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vn_bitmap_zero(struct vn_bitmap *b)
{
    memset(b, 0, sizeof *b);
}

void vn_bitmap_set(struct vn_bitmap *b, int i)
{
    if (i >= 0 && i < VN_BITMAP_BITS)
        b->w[i / 64] |= UINT64_C(1) << (i % 64);
}

void vn_bitmap_set_range(struct vn_bitmap *b, int lo, int hi)
{
    for (int i = lo; i <= hi; i++)
        vn_bitmap_set(b, i);
}

void vn_bitmap_clear(struct vn_bitmap *b, int i)
{
    if (i >= 0 && i < VN_BITMAP_BITS)
        b->w[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

bool vn_bitmap_test(const struct vn_bitmap *b, int i)
{
    if (i < 0 || i >= VN_BITMAP_BITS)
        return false;
    return (b->w[i / 64] >> (i % 64)) & 1;
}

int vn_bitmap_count(const struct vn_bitmap *b)
{
    int n = 0;
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        n += __builtin_popcountll(b->w[k]);
    return n;
}

bool vn_bitmap_empty(const struct vn_bitmap *b)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        if (b->w[k])
            return false;
    return true;
}

int vn_bitmap_next(const struct vn_bitmap *b, int after)
{
    int i = after + 1;
    if (i < 0)
        i = 0;
    while (i < VN_BITMAP_BITS) {
        uint64_t word = b->w[i / 64] >> (i % 64);
        if (word)
            return i + __builtin_ctzll(word);
        i = (i / 64 + 1) * 64;
    }
    return -1;
}

int vn_bitmap_last(const struct vn_bitmap *b)
{
    for (int k = VN_BITMAP_WORDS - 1; k >= 0; k--)
        if (b->w[k])
            return k * 64 + 63 - __builtin_clzll(b->w[k]);
    return -1;
}

void vn_bitmap_or(struct vn_bitmap *dst, const struct vn_bitmap *src)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        dst->w[k] |= src->w[k];
}

void vn_bitmap_and(struct vn_bitmap *dst, const struct vn_bitmap *src)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        dst->w[k] &= src->w[k];
}

void vn_bitmap_andnot(struct vn_bitmap *dst, const struct vn_bitmap *src)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        dst->w[k] &= ~src->w[k];
}

bool vn_bitmap_equal(const struct vn_bitmap *a, const struct vn_bitmap *b)
{
    return memcmp(a->w, b->w, sizeof a->w) == 0;
}

bool vn_bitmap_subset(const struct vn_bitmap *a, const struct vn_bitmap *b)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        if (a->w[k] & ~b->w[k])
            return false;
    return true;
}

bool vn_bitmap_intersects(const struct vn_bitmap *a, const struct vn_bitmap *b)
{
    for (int k = 0; k < VN_BITMAP_WORDS; k++)
        if (a->w[k] & b->w[k])
            return true;
    return false;
}

/* Reads a non-negative decimal at *p; -1 when there is none or it exceeds max_bit. */
static long read_number(const char **p, int max_bit)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    errno = 0;
    char *end;
    long v = strtol(*p, &end, 10);
    if (errno || v > max_bit)
        return -2;
    *p = end;
    return v;
}

int vn_bitmap_parse_list(struct vn_bitmap *b, const char *s, int max_bit, struct vn_error *err)
{
    if (max_bit >= VN_BITMAP_BITS)
        max_bit = VN_BITMAP_BITS - 1;
    vn_bitmap_zero(b);
    struct vn_bitmap removed;
    vn_bitmap_zero(&removed);
    const char *p = s;
    if (*p == '\0')
        return vn_error_set(err, "empty list");
    for (;;) {
        const char *start = p;
        bool negate = false;
        if (*p == '^') {
            negate = true;
            p++;
        }
        long lo = read_number(&p, max_bit);
        long hi = lo;
        if (lo >= 0 && *p == '-') {
            p++;
            hi = read_number(&p, max_bit);
        }
        if (lo == -2 || hi == -2)
            return vn_error_set(err, "'%.*s' is above the largest allowed value %d",
                                (int)strcspn(start, ","), start, max_bit);
        if (lo < 0 || hi < 0 || (*p != ',' && *p != '\0'))
            return vn_error_set(err, "'%.*s' is not a number or a range N-M",
                                (int)strcspn(start, ","), start);
        if (hi < lo)
            return vn_error_set(err, "range '%ld-%ld' is reversed", lo, hi);
        vn_bitmap_set_range(negate ? &removed : b, (int)lo, (int)hi);
        if (*p == '\0')
            break;
        p++;
    }
    vn_bitmap_andnot(b, &removed);
    return 0;
}

size_t vn_bitmap_format_list(const struct vn_bitmap *b, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    int i = vn_bitmap_next(b, -1);
    while (i >= 0) {
        int j = i;
        while (vn_bitmap_test(b, j + 1))
            j++;
        char part[32];
        int n = j == i ? snprintf(part, sizeof part, "%s%d", used ? "," : "", i)
                       : snprintf(part, sizeof part, "%s%d-%d", used ? "," : "", i, j);
        if (used + (size_t)n < len)
            memcpy(buf + used, part, (size_t)n + 1);
        used += (size_t)n;
        i = vn_bitmap_next(b, j);
    }
    if (len && used >= len)
        buf[len - 1] = '\0';
    return used;
}
