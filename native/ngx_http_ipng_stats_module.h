
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Shared declarations of ngx_http_ipng_stats_module.  The record and the
 * zone header are the C view of layouts documented once, as ASCII diagrams,
 * in the Javadoc of ch.ipng.stats.layout.RecordDescriptor and
 * ch.ipng.stats.layout.ZoneDescriptor; every offset is pinned below with
 * _Static_assert and compared with the jar at worker start.
 */


#ifndef _NGX_HTTP_IPNG_STATS_MODULE_H_INCLUDED_
#define _NGX_HTTP_IPNG_STATS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <stddef.h>
#include <jni.h>


#define NGX_HTTP_IPNG_STATS_VERSION       "0.1.0"

#define NGX_HTTP_IPNG_STATS_MAX_BUCKETS   32
#define NGX_HTTP_IPNG_STATS_MAX_TAG_LEN   64
/* a tag in an error message, bytes escaped as \xHH */
#define NGX_HTTP_IPNG_STATS_TAG_TEXT      (4 * NGX_HTTP_IPNG_STATS_MAX_TAG_LEN \
                                           + 8)
#define NGX_HTTP_IPNG_STATS_MAX_TAGS      255
/* ipng_stats_jvm_options: fits the worker's and nginx -t's option arrays */
#define NGX_HTTP_IPNG_STATS_MAX_JVM_OPTIONS  40
/*
 * records per JNI upcall (64 KB): each upcall finds Java's code and tables
 * cold after a thousand requests' worth of nginx and kernel work, some 10-20
 * us; 1024 instead of 256 records measured 0.4-0.8 % less worker CPU per
 * request, side by side (bench/ab.sh, docs/performance.md, 2026-12-02)
 */
#define NGX_HTTP_IPNG_STATS_BATCH         1024

#ifndef NGX_HTTP_IPNG_STATS_JAR
#define NGX_HTTP_IPNG_STATS_JAR           "/usr/share/java/ipng-stats.jar"
#endif


/* one request, as the log phase hands it to Java (RecordDescriptor) */

typedef struct {
    uint64_t                    bytes_in;
    uint64_t                    bytes_out;
    uint64_t                    request_time;     /* ms */
    uint64_t                    upstream_time;    /* ms, if FLAG_UPSTREAM */
    u_char                      addr[16];         /* network order */
    uint32_t                    source_id;
    uint16_t                    status;
    uint8_t                     family;           /* 4, 6 or 0 */
    uint8_t                     flags;
    uint64_t                    reserved;
} ngx_http_ipng_stats_record_t;

#define NGX_HTTP_IPNG_STATS_FLAG_UPSTREAM       0x01
#define NGX_HTTP_IPNG_STATS_FLAG_IFINDEX_MISS   0x02

_Static_assert(sizeof(ngx_http_ipng_stats_record_t) == 64, "record length");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, bytes_out) == 8, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, request_time) == 16,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, upstream_time) == 24,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, addr) == 32, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, source_id) == 48, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, status) == 52, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, family) == 54, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, flags) == 55, "");
_Static_assert(offsetof(ngx_http_ipng_stats_record_t, reserved) == 56, "");

/* RecordDescriptor.LAYOUT_SIGNATURE: the offsets packed, compared at start */
#define NGX_HTTP_IPNG_STATS_LAYOUT_SIGNATURE                                 \
    ((int64_t) sizeof(ngx_http_ipng_stats_record_t)                          \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, bytes_out) << 8      \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, request_time) << 16  \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, upstream_time) << 24 \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, addr) << 32          \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, source_id) << 40     \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, status) << 48        \
     | (int64_t) offsetof(ngx_http_ipng_stats_record_t, family) << 56)


/* the zone header, written by the master (ZoneDescriptor, first 512 bytes) */

#define NGX_HTTP_IPNG_STATS_MAGIC           0x54415453474E5049ULL
#define NGX_HTTP_IPNG_STATS_LAYOUT_VERSION  1
#define NGX_HTTP_IPNG_STATS_HEADER_LENGTH   512

typedef struct {
    uint64_t                    magic;
    uint32_t                    layout_version;
    uint32_t                    header_length;
    uint64_t                    zone_length;
    uint32_t                    bucket_count;
    uint32_t                    status_mode;
    uint64_t                    buckets[NGX_HTTP_IPNG_STATS_MAX_BUCKETS];
    uint64_t                    jvm_start_attempts;
    uint64_t                    jvm_start_ok;
    uint64_t                    shm_size;
    u_char                      reserved[200];
} ngx_http_ipng_stats_sh_t;

_Static_assert(sizeof(ngx_http_ipng_stats_sh_t)
               == NGX_HTTP_IPNG_STATS_HEADER_LENGTH, "header length");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, layout_version) == 8, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, header_length) == 12, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, zone_length) == 16, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, bucket_count) == 24, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, status_mode) == 28, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, buckets) == 32, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, jvm_start_attempts) == 288,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, jvm_start_ok) == 296, "");
_Static_assert(offsetof(ngx_http_ipng_stats_sh_t, shm_size) == 304, "");

/* the Java-owned area needs at least this much room after the header */
#define NGX_HTTP_IPNG_STATS_MIN_ZONE        (128 * 1024)


typedef struct {
    ngx_flag_t                  enable;
    ngx_flag_t                  scrape;
    ngx_http_core_loc_conf_t   *clcf;             /* of the scrape location */
    u_char                     *file;             /* where "ipng_stats;" is */
    ngx_uint_t                  line;
} ngx_http_ipng_stats_loc_conf_t;


/* ipng_stats_attribution */
#define NGX_HTTP_IPNG_STATS_BIND      0   /* a socket per device */
#define NGX_HTTP_IPNG_STATS_PKTINFO   1   /* each connection's ingress */


/* one address of one "listen" directive, with its device and tag */

typedef struct {
    ngx_sockaddr_t              sockaddr;
    socklen_t                   socklen;
    ngx_str_t                   device;           /* may be empty */
    ngx_str_t                   tag;              /* ipng_source_tag= */
    ngx_uint_t                  source;           /* index into tags */
    void                       *server;           /* its server{} conf */
    u_char                     *file;
    ngx_uint_t                  line;
} ngx_http_ipng_stats_binding_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    ngx_http_ipng_stats_sh_t   *sh;               /* our region of the zone */
    ngx_msec_t                  flush_interval;
    ngx_str_t                   default_source;
    ngx_array_t                *buckets;          /* of uint64_t, ms */
    ngx_uint_t                  status_mode;

    ngx_str_t                   jvm;              /* as configured */
    ngx_str_t                   libjvm;           /* resolved libjvm.so */
    ngx_str_t                   classpath;
    ngx_array_t                *jvm_options;      /* of ngx_str_t */
    ngx_str_t                   cds_archive;      /* as configured */
    ngx_str_t                   cds_option;       /* checked, for the workers */

    ngx_array_t                 tags;             /* of ngx_str_t; 0 = default */
    ngx_array_t                 bindings;   /* of ngx_http_ipng_stats_binding_t */
    ngx_uint_t                  attribution;      /* NGX_HTTP_IPNG_STATS_* */
    ngx_msec_t                  rescan_interval;

    void                       *logtail;          /* _logtail.c's own conf */

    ngx_uint_t                  used;             /* a directive was seen */
} ngx_http_ipng_stats_main_conf_t;


/* per-worker state */

typedef struct {
    ngx_http_ipng_stats_record_t  *records;
    ngx_uint_t                     nrecords;
    ngx_connection_t              *scrape_event;  /* eventfd, Java -> us */
    void                          *scrape_current; /* being rendered */
    ngx_queue_t                    scrape_waiting;
    ngx_event_t                    scrape_timer;  /* render time limit */
    ngx_uint_t                     scrape_stuck;  /* Java owes an answer */
    ngx_uint_t                     running;       /* JVM up, counting on */
    u_char                         reason[256];   /* why counting is off */
    ngx_event_t                    flush_event;
} ngx_http_ipng_stats_worker_t;


/* equal strings; either may be empty with a NULL data pointer */
#define ngx_http_ipng_stats_str_eq(a, b)                                      \
    ((a)->len == (b)->len                                                     \
     && ((a)->len == 0 || ngx_strncmp((a)->data, (b)->data, (a)->len) == 0))


extern ngx_module_t                  ngx_http_ipng_stats_module;
extern ngx_http_ipng_stats_worker_t  ngx_http_ipng_stats_worker;


/* source tags: ngx_http_ipng_stats_module.c */
const char *ngx_http_ipng_stats_tag_invalid(ngx_str_t *tag);
u_char *ngx_http_ipng_stats_tag_text(ngx_str_t *tag, u_char *text);


/* zone: ngx_http_ipng_stats_zone.c */
char *ngx_http_ipng_stats_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* JVM bridge: ngx_http_ipng_stats_jvm.c */
extern const char  *ngx_http_ipng_stats_baseline_options[];
char *ngx_http_ipng_stats_jvm_check(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_jvm_start(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_jvm_drain(ngx_log_t *log, ngx_uint_t tick);
ngx_int_t ngx_http_ipng_stats_jvm_scrape_begin(ngx_http_request_t *r,
    ngx_str_t *accept, ngx_str_t *accept_encoding);
ngx_int_t ngx_http_ipng_stats_jvm_scrape_end(ngx_http_request_t *r,
    ngx_int_t ticket, ngx_str_t *content_type, ngx_str_t *content_encoding,
    ngx_str_t *body);
void ngx_http_ipng_stats_jvm_exit(ngx_log_t *log);

/* log phase: ngx_http_ipng_stats_log.c */
ngx_int_t ngx_http_ipng_stats_log_handler(ngx_http_request_t *r);
void ngx_http_ipng_stats_disable(ngx_log_t *log, const char *fmt, ...);

/* scrape: ngx_http_ipng_stats_scrape.c */
ngx_int_t ngx_http_ipng_stats_scrape_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_ipng_stats_scrape_init_process(ngx_cycle_t *cycle);
void ngx_http_ipng_stats_scrape_exit_process(void);
void JNICALL ngx_http_ipng_stats_scrape_notify(JNIEnv *env, jclass cls,
    jint ticket);

/* the scrape's answer in memory of its own: ngx_http_ipng_stats_answer.c */
jint JNICALL ngx_http_ipng_stats_answer_append(JNIEnv *env, jclass cls,
    jbyteArray b, jint len);
ngx_int_t ngx_http_ipng_stats_answer_take(ngx_http_request_t *r, size_t len,
    ngx_str_t *answer);
void ngx_http_ipng_stats_answer_drop(void);

/* the JVM's footing in the worker process: ngx_http_ipng_stats_os.c */
size_t ngx_http_ipng_stats_rss_kb(void);
void ngx_http_ipng_stats_lower_jvm_threads(ngx_log_t *log);
void ngx_http_ipng_stats_cheap_syscalls(ngx_log_t *log);
void JNICALL ngx_http_ipng_stats_trim_native_heap(JNIEnv *env, jclass cls);

/* listen parameters: ngx_http_ipng_stats_listen.c */
ngx_int_t ngx_http_ipng_stats_listen_wrap(ngx_conf_t *cf);
void ngx_http_ipng_stats_listen_unwrap(void);
char *ngx_http_ipng_stats_listen_init(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
void ngx_http_ipng_stats_listen_init_module(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_listen_init_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_uint_t ngx_http_ipng_stats_source(ngx_http_request_t *r,
    ngx_uint_t *miss);
void ngx_http_ipng_stats_socket_device(ngx_socket_t s, char *dev);

/* UDP logtail: ngx_http_ipng_stats_logtail.c */
char *ngx_http_ipng_stats_logtail(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ipng_stats_logtail_wrap(ngx_conf_t *cf);
ngx_int_t ngx_http_ipng_stats_logtail_init(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_logtail_init_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
void ngx_http_ipng_stats_logtail_exit_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);


#endif /* _NGX_HTTP_IPNG_STATS_MODULE_H_INCLUDED_ */
