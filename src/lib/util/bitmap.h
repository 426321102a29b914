/* Fixed-size bit sets for CPUs, nodes and vCPUs.
 *
 * 4096 bits covers the largest hosts we target (256 nodes x 16 CPUs, or Linux's 1024 nodes)
 * with no allocation, so sets can be copied by value inside pure placement code. */
#ifndef VN_BITMAP_H
#define VN_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define VN_BITMAP_BITS  4096
#define VN_BITMAP_WORDS (VN_BITMAP_BITS / 64)

struct vn_bitmap {
    uint64_t w[VN_BITMAP_WORDS];
};

/* Clears every bit. */
void vn_bitmap_zero(struct vn_bitmap *b);
/* Sets bit i (ignored when i is out of range). */
void vn_bitmap_set(struct vn_bitmap *b, int i);
/* Sets bits lo..hi inclusive. */
void vn_bitmap_set_range(struct vn_bitmap *b, int lo, int hi);
/* Clears bit i. */
void vn_bitmap_clear(struct vn_bitmap *b, int i);
/* True when bit i is set (false when out of range). */
bool vn_bitmap_test(const struct vn_bitmap *b, int i);
/* Number of set bits. */
int vn_bitmap_count(const struct vn_bitmap *b);
/* True when no bit is set. */
bool vn_bitmap_empty(const struct vn_bitmap *b);
/* Lowest set bit > after (use -1 to start), or -1 when none. */
int vn_bitmap_next(const struct vn_bitmap *b, int after);
/* Highest set bit, or -1 when empty. */
int vn_bitmap_last(const struct vn_bitmap *b);
/* dst |= src. */
void vn_bitmap_or(struct vn_bitmap *dst, const struct vn_bitmap *src);
/* dst &= src. */
void vn_bitmap_and(struct vn_bitmap *dst, const struct vn_bitmap *src);
/* dst &= ~src. */
void vn_bitmap_andnot(struct vn_bitmap *dst, const struct vn_bitmap *src);
/* True when both hold the same bits. */
bool vn_bitmap_equal(const struct vn_bitmap *a, const struct vn_bitmap *b);
/* True when every bit of a is in b. */
bool vn_bitmap_subset(const struct vn_bitmap *a, const struct vn_bitmap *b);
/* True when a and b share a bit. */
bool vn_bitmap_intersects(const struct vn_bitmap *a, const struct vn_bitmap *b);

/* Parses a Linux cpulist ("0-3,8,10-11"; "^N" removes N; "all" is not accepted) into b.
 * Returns -1 with a message naming the offending part; max_bit bounds every element. */
int vn_bitmap_parse_list(struct vn_bitmap *b, const char *s, int max_bit, struct vn_error *err);
/* Writes the cpulist form ("0-3,8") into buf; returns the length that was needed. */
size_t vn_bitmap_format_list(const struct vn_bitmap *b, char *buf, size_t len);

#define VN_BITMAP_FOREACH(i, b)                                                                    \
    for (int i = vn_bitmap_next((b), -1); i >= 0; i = vn_bitmap_next((b), i))

#endif
