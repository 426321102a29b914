/* Ownership by scope: a variable declared with one of these is released on every return
 * path, so error paths need no goto ladders (the crun habit). */
#ifndef VN_CLEANUP_H
#define VN_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

static inline void vn_cleanup_free_(void *p)
{
    free(*(void **)p);
}

static inline void vn_cleanup_close_(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void vn_cleanup_fclose_(FILE **f)
{
    if (*f) {
        int saved = errno;
        fclose(*f);
        errno = saved;
    }
}

#define VN_CLEANUP_FREE  __attribute__((cleanup(vn_cleanup_free_)))
#define VN_CLEANUP_CLOSE __attribute__((cleanup(vn_cleanup_close_)))
#define VN_CLEANUP_FILE  __attribute__((cleanup(vn_cleanup_fclose_)))
/* VN_CLEANUP(fn): fn takes a pointer to the variable, e.g. vn_topo_freep(struct vn_host_topo **).
 */
#define VN_CLEANUP(fn) __attribute__((cleanup(fn)))

/* Hands ownership out of a cleanup-guarded variable. */
#define VN_STEAL(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) vn_steal_tmp_ = (p);                                                         \
        (p) = NULL;                                                                                \
        vn_steal_tmp_;                                                                             \
    })

/* Hands ownership of a descriptor out of a VN_CLEANUP_CLOSE variable. */
#define VN_STEAL_FD(fd)                                                                            \
    ({                                                                                             \
        int vn_steal_fd_ = (fd);                                                                   \
        (fd) = -1;                                                                                 \
        vn_steal_fd_;                                                                              \
    })

#define VN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
