/*
 * For bench/thread-cost.sh: preloaded into stock nginx, it gives every
 * process nginx forks (its workers) one idle thread, to measure what a
 * second thread costs a worker's requests by itself, as the JVM's threads
 * do in the module's workers.
 *
 *   IPNG_IDLE_THREAD=pthread  a thread made with pthread_create: glibc then
 *                             runs its multi-threaded paths (locked malloc,
 *                             cancellable system calls), and the kernel its
 *                             shared-files-table paths;
 *   IPNG_IDLE_THREAD=clone    a thread made with a bare clone(): the kernel
 *                             sees two threads, glibc still thinks it is alone;
 *   IPNG_IDLE_THREAD=pthread-async
 *                             a pthread, and the worker's own thread set to
 *                             cancellation disabled, type asynchronous, as
 *                             the module's workers are (ngx_http_ipng_stats_os.c):
 *                             glibc's cancellable system calls then skip
 *                             their two atomic updates.
 *
 * The thread only waits in pause(); it never runs.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>


static char  idle_stack[65536] __attribute__((aligned(16)));


static void *
idle_pthread(void *arg)
{
    for ( ;; ) {
        pause();
    }

    return arg;
}


static int
idle_clone(void *arg)
{
    (void) arg;

    for ( ;; ) {
        syscall(SYS_pause);
    }

    return 0;
}


static void
idle_start(void)
{
    pthread_t    t;
    const char  *how;

    how = getenv("IPNG_IDLE_THREAD");

    if (how == NULL) {
        return;
    }

    if (strcmp(how, "pthread") == 0 || strcmp(how, "pthread-async") == 0) {
        (void) pthread_create(&t, NULL, idle_pthread, NULL);

        if (strcmp(how, "pthread-async") == 0) {
            (void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
            (void) pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
        }

    } else if (strcmp(how, "clone") == 0) {
        (void) clone(idle_clone, idle_stack + sizeof(idle_stack),
                     CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD
                     |CLONE_SYSVSEM, NULL);
    }
}


__attribute__((constructor)) static void
idle_init(void)
{
    (void) pthread_atfork(NULL, NULL, idle_start);
}
