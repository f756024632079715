
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The scrape location ("ipng_stats;"): flushes this worker's batch, asks
 * Java to render the zone in the format the client accepts, filtered by
 * the query string, and sends it.  When counting is off in this worker it
 * answers 503 with the one-line reason.
 */


#include "ngx_http_ipng_stats_module.h"


static ngx_int_t ngx_http_ipng_stats_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *data, size_t len);
static void ngx_http_ipng_stats_find_accept(ngx_http_request_t *r,
    ngx_str_t *accept);


ngx_int_t
ngx_http_ipng_stats_scrape_handler(ngx_http_request_t *r)
{
    u_char                        *p;
    ngx_int_t                      rc;
    ngx_str_t                      type, body, accept;
    ngx_http_ipng_stats_worker_t  *w;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    w = &ngx_http_ipng_stats_worker;

    ngx_str_set(&type, "text/plain");

    if (!w->running) {
        p = ngx_pnalloc(r->pool, sizeof("ipng_stats: counting is off: \n")
                                 + sizeof(w->reason));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body.data = p;
        body.len = ngx_sprintf(p, "ipng_stats: counting is off: %s\n",
                               w->reason[0] ? (char *) w->reason
                                            : "the JVM is not running")
                   - p;

        return ngx_http_ipng_stats_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        &type, body.data, body.len);
    }

    ngx_http_ipng_stats_find_accept(r, &accept);

    if (ngx_http_ipng_stats_jvm_scrape(r, &accept, &type, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_ipng_stats_send(r, NGX_HTTP_OK, &type, body.data,
                                    body.len);
}


static ngx_int_t
ngx_http_ipng_stats_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *data, size_t len)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    /* a scrape is a moment: no proxy or browser may keep it */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_ipng_stats_find_accept(ngx_http_request_t *r, ngx_str_t *accept)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    accept->len = 0;
    accept->data = NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               sizeof("Accept") - 1) == 0)
        {
            /* the first Accept header counts */
            *accept = h[i].value;
            return;
        }
    }
}
