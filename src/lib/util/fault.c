#include "fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vn_fault_point(const char *step)
{
    const char *want = getenv("VNUMA_FAULT");
    if (want && strcmp(want, step) == 0)
        kill(getpid(), SIGKILL);
}
