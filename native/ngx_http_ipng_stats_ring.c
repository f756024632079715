
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The worker's ring: the producer half of the protocol that
 * ch.ipng.stats.layout.RingDescriptor states.  At start a worker claims a
 * free ring (CAS of its owner pid from 0); the log phase appends a record
 * and publishes it with a store-release of HEAD, or counts it in DROPPED
 * when the stats process has not freed room yet; at a clean exit the
 * worker sets CLOSED.  No lock, no system call, no allocation per request:
 * only when the ring is a quarter full and the stats process's drain
 * thread sleeps does the worker wake it (a futex, about once per 4,096
 * records at most).  A worker that was killed leaves its ring to the stats
 * process, which drains and frees it.
 */


#include "ngx_http_ipng_stats_module.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>


static ngx_http_ipng_stats_ring_t *ngx_http_ipng_stats_ring_at(
    ngx_http_ipng_stats_rings_sh_t *rs, ngx_uint_t i);


ngx_http_ipng_stats_worker_t  ngx_http_ipng_stats_worker;


static ngx_http_ipng_stats_ring_t *
ngx_http_ipng_stats_ring_at(ngx_http_ipng_stats_rings_sh_t *rs, ngx_uint_t i)
{
    return (ngx_http_ipng_stats_ring_t *)
               ((u_char *) rs + rs->header_length
                + i * NGX_HTTP_IPNG_STATS_RING_LENGTH);
}


void
ngx_http_ipng_stats_ring_claim(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    uint64_t                         owner;
    ngx_uint_t                       i;
    ngx_http_ipng_stats_ring_t      *ring;
    ngx_http_ipng_stats_worker_t    *w;
    ngx_http_ipng_stats_rings_sh_t  *rs;

    w = &ngx_http_ipng_stats_worker;
    rs = smcf->rings;

    w->rings = rs;
    w->ring = NULL;

    for (i = 0; i < rs->ring_count; i++) {
        ring = ngx_http_ipng_stats_ring_at(rs, i);
        owner = 0;

        if (__atomic_compare_exchange_n(&ring->owner_pid, &owner,
                                        (uint64_t) ngx_pid, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        {
            /* the stats process reset it before it freed it */
            ring->worker = (uint32_t) ngx_worker;

            w->ring = ring;
            w->records = (ngx_http_ipng_stats_record_t *) (ring + 1);
            w->head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                           "ipng_stats: worker %ui has ring %ui",
                           ngx_worker, i);
            return;
        }
    }

    ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                  "ipng_stats: all %uD rings are taken (the stats process "
                  "frees a ring once its worker has exited and it has "
                  "drained it); this worker counts its requests as "
                  "dropped (nginx_ipng_dropped_records_total)",
                  rs->ring_count);
}


/*
 * The next record to fill, or NULL (the request is counted as dropped).
 * ngx_http_ipng_stats_ring_publish() makes it visible.
 */

ngx_http_ipng_stats_record_t *
ngx_http_ipng_stats_ring_next(void)
{
    uint64_t                       tail;
    ngx_http_ipng_stats_ring_t    *ring;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;
    ring = w->ring;

    if (ring == NULL) {
        if (w->rings) {
            (void) __atomic_fetch_add(&w->rings->no_ring_drops, 1,
                                      __ATOMIC_RELAXED);
        }

        return NULL;
    }

    tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    w->tail = tail;

    if (w->head - tail >= NGX_HTTP_IPNG_STATS_RING_CAPACITY) {
        /* one producer: a plain increment, made visible atomically */
        __atomic_store_n(&ring->dropped, ring->dropped + 1, __ATOMIC_RELAXED);
        return NULL;
    }

    return &w->records[w->head & (NGX_HTTP_IPNG_STATS_RING_CAPACITY - 1)];
}


void
ngx_http_ipng_stats_ring_publish(void)
{
    uint64_t                       pending;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;

    __atomic_store_n(&w->ring->head, ++w->head, __ATOMIC_RELEASE);

    pending = w->head - w->tail;

    if (pending >= NGX_HTTP_IPNG_STATS_WAKE_RECORDS
        && pending % NGX_HTTP_IPNG_STATS_WAKE_STEP == 0)
    {
        ngx_http_ipng_stats_rings_wake(w->rings);
    }
}


/*
 * Wakes the drain threads that sleep on SLEEPING (RingDescriptor): one
 * sets it to 1, reads every ring's HEAD and waits while it is 1; the
 * fence orders the HEAD this worker published before its read of
 * SLEEPING, so either the drain thread sees the records or this sees it
 * asleep.  A system call only then.
 */

void
ngx_http_ipng_stats_rings_wake(ngx_http_ipng_stats_rings_sh_t *rs)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    if (__atomic_load_n(&rs->sleeping, __ATOMIC_RELAXED) == 0
        || __atomic_exchange_n(&rs->sleeping, 0, __ATOMIC_SEQ_CST) == 0)
    {
        return;
    }

    (void) syscall(SYS_futex, &rs->sleeping, FUTEX_WAKE, INT_MAX,
                   NULL, NULL, 0);
}


/*
 * The other half, in the stats process's drain thread (RingWait in Java,
 * which set SLEEPING to 1 and read the HEADs): sleeps while SLEEPING is 1,
 * at most "nanos"; a wake, a signal or SLEEPING already 0 end it sooner.
 */

void
ngx_http_ipng_stats_rings_wait(ngx_http_ipng_stats_rings_sh_t *rs,
    int64_t nanos)
{
    struct timespec  ts;

    if (nanos <= 0) {
        return;
    }

    ts.tv_sec = nanos / 1000000000;
    ts.tv_nsec = nanos % 1000000000;

    (void) syscall(SYS_futex, &rs->sleeping, FUTEX_WAIT, 1, &ts, NULL, 0);
}


/* a clean exit: the stats process may free the ring once it is drained */

void
ngx_http_ipng_stats_ring_close(void)
{
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;

    if (w->ring) {
        __atomic_store_n(&w->ring->closed, 1, __ATOMIC_RELEASE);
        w->ring = NULL;

        /* so that the ring is free again at once, for a reload's workers */
        ngx_http_ipng_stats_rings_wake(w->rings);
    }
}
