
/*
 * ngx_http_ipng_stats_module: what the worker asks of the operating system
 * for its JVM: the RSS figure of the start-up notice, the priority of the
 * JVM's background threads, and the periodic malloc_trim.
 */


#include "ngx_http_ipng_stats_module.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#endif


/* how much nicer than the event loop the JVM's background threads run */
#define NGX_HTTP_IPNG_STATS_BACKGROUND_NICE  10


static ngx_uint_t ngx_http_ipng_stats_foreground_thread(const char *name);


size_t
ngx_http_ipng_stats_rss_kb(void)
{
    FILE    *f;
    char     line[128];
    size_t   kb;

    kb = 0;

    f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return 0;
    }

    while (fgets(line, sizeof(line), f)) {
        if (ngx_strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoul(line + 6, NULL, 10);
            break;
        }
    }

    fclose(f);

    return kb;
}


/*
 * After the JVM started: every thread of the worker but the event loop and
 * the JVM's "VM Thread" (garbage collections run there, and the event loop
 * waits for them at its next upcall) gets nice +10 relative to the event
 * loop: the JIT compilers, the scrape's render thread, the JVM's service
 * threads. They use idle CPU as before, but when the worker's core is busy
 * with requests they yield to it; a scrape then takes longer, requests do
 * not. Threads the JVM starts later from one of them (more JIT compilers)
 * inherit the value. Linux only; unprivileged workers may only raise nice.
 */

void
ngx_http_ipng_stats_lower_jvm_threads(ngx_log_t *log)
{
#if (NGX_LINUX)
    int             self, nice, n;
    DIR            *dir;
    long            tid;
    FILE           *f;
    char            path[64], name[32];
    size_t          len;
    ngx_uint_t      lowered;
    struct dirent  *de;

    self = (int) syscall(SYS_gettid);

    errno = 0;
    nice = getpriority(PRIO_PROCESS, self);
    if (nice == -1 && errno != 0) {
        return;
    }

    nice += NGX_HTTP_IPNG_STATS_BACKGROUND_NICE;
    if (nice > 19) {
        nice = 19;
    }

    dir = opendir("/proc/self/task");
    if (dir == NULL) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "ipng_stats: opendir(\"/proc/self/task\") failed; "
                      "the JVM's threads keep the worker's priority");
        return;
    }

    lowered = 0;

    while ((de = readdir(dir)) != NULL) {
        tid = strtol(de->d_name, NULL, 10);
        if (tid <= 0 || tid == self) {
            continue;
        }

        n = snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", tid);
        if (n <= 0 || (size_t) n >= sizeof(path)) {
            continue;
        }

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        len = fread(name, 1, sizeof(name) - 1, f);
        fclose(f);
        name[len] = '\0';

        if (ngx_http_ipng_stats_foreground_thread(name)) {
            continue;
        }

        if (setpriority(PRIO_PROCESS, (id_t) tid, nice) == 0) {
            lowered++;
        }
    }

    closedir(dir);

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "ipng_stats: %ui JVM threads at nice %d", lowered, nice);
#endif
}


static ngx_uint_t
ngx_http_ipng_stats_foreground_thread(const char *name)
{
    /* comm is the thread name cut to 15 characters, then a newline */
    return ngx_strncmp(name, "VM Thread", sizeof("VM Thread") - 1) == 0;
}


/*
 * After the JVM started, on the event loop's thread: cancellation disabled,
 * type asynchronous. Once a process has a second thread, glibc wraps every
 * cancellable system call (recv, writev, epoll_wait: about seven per
 * request) in two atomic updates of the calling thread's cancellation word,
 * unless the thread's type is already asynchronous; then both are a load
 * and a compare (glibc 2.36 __pthread_enable_asynccancel and
 * __pthread_disable_asynccancel). Measured with bench/thread-cost.sh: a
 * stock worker with one idle pthread used 2.5 % more CPU per request than
 * stock, 1.3 % with this set. nginx never cancels its threads, and with
 * cancellation disabled the asynchronous type can never act; threads
 * created later (the JVM's, nginx's thread pools) start deferred and
 * enabled as always, the setting is the calling thread's alone.
 */

void
ngx_http_ipng_stats_cheap_syscalls(ngx_log_t *log)
{
    int  err;

    err = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);

    if (err == 0) {
        err = pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    }

    if (err != 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_CORE, log, err,
                       "ipng_stats: cancellation type not set");
    }
}


/*
 * On the render thread, every few seconds (NativeBridge): hand the free
 * memory of every malloc arena back to the kernel. The JIT compiler's
 * arenas and a scrape's copy of a large answer are freed but kept by glibc
 * (measured: a worker at 85 MB after 20 s of load and 12,000-key scrapes,
 * 72 MB with this); -XX:TrimNativeHeapInterval does the same in JDKs that
 * have it, but an unknown option would stop the JVM on the others.
 */

void JNICALL
ngx_http_ipng_stats_trim_native_heap(JNIEnv *env, jclass cls)
{
#if (NGX_LINUX) && defined(__GLIBC__)
    (void) malloc_trim(0);
#endif
}
