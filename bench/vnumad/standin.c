/* A stand-in for a QEMU domain in the vnumad benchmark: maps a tmpfs file of MiB (the vnode
 * memory file vnumad samples), touches it, and runs NTHREADS threads named "CPU i/KVM" (how
 * vnumad finds vCPU threads without QMP) that each use about 1% of a CPU.
 *   standin FILE MIB NTHREADS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void *vcpu(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "CPU %d/KVM", (int)(long)arg);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do
            clock_gettime(CLOCK_MONOTONIC, &t);
        while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 1000000L);
        usleep(99000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: standin FILE MIB NTHREADS\n");
        return 2;
    }
    size_t len = (size_t)atol(argv[2]) << 20;
    int fd = open(argv[1], O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
        perror(argv[1]);
        return 1;
    }
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    for (long i = 0; i < atol(argv[3]); i++) {
        pthread_t t;
        pthread_create(&t, NULL, vcpu, (void *)i);
    }
    for (;;)
        pause();
}
