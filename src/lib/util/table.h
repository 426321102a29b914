/* Aligned text tables for human output (`vnuma list`, `info`, `topology`...).
 *
 * Cells are copied in, widths are computed at print time, numbers are right-aligned when
 * the column is marked so.  Machines use --json instead. */
#ifndef VN_TABLE_H
#define VN_TABLE_H

#include <stdbool.h>
#include <stdio.h>

struct vn_table;

/* New table with ncols columns and the given headers (NULL for no header row). */
struct vn_table *vn_table_new(int ncols, const char *const *headers);
/* Right-aligns column col (numbers). */
void vn_table_align_right(struct vn_table *t, int col);
/* Appends one cell to the current row, starting a new row after ncols cells. */
void vn_table_add(struct vn_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the table with indent spaces before every line and two spaces between columns. */
void vn_table_print(const struct vn_table *t, FILE *out, int indent);
/* Frees the table (NULL is fine). */
void vn_table_free(struct vn_table *t);
/* Cleanup helper for VN_CLEANUP(vn_table_freep). */
void vn_table_freep(struct vn_table **t);

#endif
