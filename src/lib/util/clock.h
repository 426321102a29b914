/* Time for timeouts and polls: the monotonic clock, so a changed wall clock moves no deadline. */
#ifndef VNUMA_UTIL_CLOCK_H
#define VNUMA_UTIL_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything). */
int64_t vn_clock_ms(void);

/* Sleep about ms milliseconds; a signal may end it early (callers poll against vn_clock_ms). */
void vn_sleep_ms(int ms);

#endif
