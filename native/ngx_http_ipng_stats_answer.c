
/*
 * Copyright (C) IPng Networks GmbH
 *
 * A scrape's answer, in memory of its own.  Java's render thread hands it
 * over in 64 KB chunks (answerAppend) and they are appended to pages mapped
 * for this one answer; the event loop sends the answer from there without
 * copying it and unmaps it when the request is freed.  So the answer holds
 * RSS only while it is being sent, the render thread (not the event loop)
 * takes its page faults, and the JVM's heap keeps no answer-sized buffer.
 *
 * Ownership: the render thread appends between scrape begin and its
 * completion notice; the event loop touches the answer only when no
 * rendering is under way (before it begins one, after the notice).
 */


#include "ngx_http_ipng_stats_module.h"

#include <sys/mman.h>


/*
 * The first mapping: the last answer's length and an eighth more (at least
 * 64 KB, one of the render's chunks), populated at once (MAP_POPULATE); past
 * it, the mapping doubles (mremap, no copy) and the rest faults in page by
 * page.  A 12,000-key answer is ~800 pages (~35 gzipped); faulted in one by
 * one they cost the render thread about 3 ms of system time per scrape on
 * the machine of README's figures.  The floor was 256 KB: 64 pages zeroed
 * and mapped for every one-key answer of 6.5 KB (1.2 KB gzipped).
 */
#define NGX_HTTP_IPNG_STATS_ANSWER_FIRST  (64 * 1024)


typedef struct {
    u_char                     *data;
    size_t                      len;
    size_t                      size;          /* mapped */
} ngx_http_ipng_stats_answer_t;


static void ngx_http_ipng_stats_answer_unmap(void *data);


static ngx_http_ipng_stats_answer_t  ngx_http_ipng_stats_answer;

/* the length of the last answer taken (set by the event loop between renders) */
static size_t  ngx_http_ipng_stats_answer_last;


/* the render thread's call (a JVM thread: no nginx calls here); 0 or -1 */

jint JNICALL
ngx_http_ipng_stats_answer_append(JNIEnv *env, jclass cls, jbyteArray b,
    jint len)
{
    void                          *p;
    size_t                         size;
    ngx_http_ipng_stats_answer_t  *a;

    a = &ngx_http_ipng_stats_answer;

    if (b == NULL || len < 0 || len > (*env)->GetArrayLength(env, b)) {
        return -1;
    }

    if ((size_t) len > a->size - a->len) {
        if (a->size) {
            size = a->size;

        } else {
            size = ngx_http_ipng_stats_answer_last;
            size = ngx_align(ngx_max(size + size / 8,
                                     NGX_HTTP_IPNG_STATS_ANSWER_FIRST),
                             (size_t) ngx_pagesize);
        }

        while ((size_t) len > size - a->len) {
            if (size > NGX_MAX_SIZE_T_VALUE / 2) {
                return -1;
            }

            size *= 2;
        }

        p = (a->data == NULL)
            ? mmap(NULL, size, PROT_READ|PROT_WRITE,
                   MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0)
            : mremap(a->data, a->size, size, MREMAP_MAYMOVE);

        if (p == MAP_FAILED) {
            return -1;
        }

        a->data = p;
        a->size = size;
    }

    (*env)->GetByteArrayRegion(env, b, 0, len, (jbyte *) a->data + a->len);

    if ((*env)->ExceptionCheck(env)) {
        return -1;
    }

    a->len += len;

    return 0;
}


/*
 * The event loop takes the answer for r: it stays mapped until r's pool is
 * destroyed.  len is the length Java says it handed over.
 */

ngx_int_t
ngx_http_ipng_stats_answer_take(ngx_http_request_t *r, size_t len,
    ngx_str_t *answer)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_ipng_stats_answer_t  *a;

    a = &ngx_http_ipng_stats_answer;

    if (a->data == NULL || a->len != len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "ipng_stats: the render handed over %uz bytes, "
                      "not the %uz it reports", a->len, len);
        ngx_http_ipng_stats_answer_drop();
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_ipng_stats_answer_t));
    if (cln == NULL) {
        ngx_http_ipng_stats_answer_drop();
        return NGX_ERROR;
    }

    ngx_memcpy(cln->data, a, sizeof(ngx_http_ipng_stats_answer_t));
    cln->handler = ngx_http_ipng_stats_answer_unmap;

    ngx_http_ipng_stats_answer_last = a->len;

    answer->data = a->data;
    answer->len = a->len;

    ngx_memzero(a, sizeof(ngx_http_ipng_stats_answer_t));

    return NGX_OK;
}


/* an answer nobody will send (a failed or late rendering), before the next */

void
ngx_http_ipng_stats_answer_drop(void)
{
    ngx_http_ipng_stats_answer_unmap(&ngx_http_ipng_stats_answer);
    ngx_memzero(&ngx_http_ipng_stats_answer,
                sizeof(ngx_http_ipng_stats_answer_t));
}


static void
ngx_http_ipng_stats_answer_unmap(void *data)
{
    ngx_http_ipng_stats_answer_t  *a = data;

    if (a->data) {
        (void) munmap(a->data, a->size);
    }
}
