
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Shared declarations of ngx_http_ipng_stats_module.  The record, the
 * counters zone header and the rings zone are the C view of layouts
 * documented once, as ASCII diagrams, in the Javadoc of
 * ch.ipng.stats.layout.RecordDescriptor, ZoneDescriptor and RingDescriptor;
 * every offset is pinned below with _Static_assert, and the stats process
 * compares them with the jar's when it starts the JVM.
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
/* ipng_stats_jvm_options: fits the stats process's and nginx -t's arrays */
#define NGX_HTTP_IPNG_STATS_MAX_JVM_OPTIONS  40

/*
 * A worker's ring holds this many records (1 MB).  The stats process
 * drains every ring at least every ipng_stats_flush_interval (at most 1 s),
 * and at once when a worker finds its ring WAKE_RECORDS full and the drain
 * thread asleep (then again every WAKE_STEP records).  A new stats process
 * (after a crash, or when a reload's JVM is slow to start) needs some 0.1
 * to 0.7 s first, and a worker logging 12,000 requests a second fills a
 * ring in 1.4 s; a full ring counts its drops.
 */
#define NGX_HTTP_IPNG_STATS_RING_CAPACITY  16384
#define NGX_HTTP_IPNG_STATS_WAKE_RECORDS   4096       /* a quarter */
#define NGX_HTTP_IPNG_STATS_WAKE_STEP      1024

_Static_assert(NGX_HTTP_IPNG_STATS_WAKE_RECORDS
               <= NGX_HTTP_IPNG_STATS_RING_CAPACITY, "wake threshold");
/* the stats process's undo journal (ch.ipng.stats.drain.Journal) */
#define NGX_HTTP_IPNG_STATS_JOURNAL        (1024 * 1024)

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
#define NGX_HTTP_IPNG_STATS_LAYOUT_VERSION  2
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

/*
 * The tag table of the counters zone (ZoneDescriptor TAG_TABLE), which the
 * master fills: a record's source id is its tag's index there, the same
 * for every generation of workers.  An entry is a state word (0 empty,
 * 2 | length << 8 ready) and the tag's UTF-8 text; a tag's place is its
 * FNV-1a 64 hash modulo the capacity, then the next free one (ZoneHash).
 */
#define NGX_HTTP_IPNG_STATS_TAGS_USED       544
#define NGX_HTTP_IPNG_STATS_TAG_TABLE       1024
#define NGX_HTTP_IPNG_STATS_TAG_CAPACITY    256
#define NGX_HTTP_IPNG_STATS_TAG_ENTRY       80
#define NGX_HTTP_IPNG_STATS_TAG_TEXT_AT     8
#define NGX_HTTP_IPNG_STATS_TAG_READY       2


/*
 * The rings zone (RingDescriptor): a header written by the master, one
 * ring per live worker (single producer: that worker; single consumer at a
 * time: the stats process holding LOCK), then Java's undo journal.
 */

#define NGX_HTTP_IPNG_STATS_RINGS_MAGIC     0x474E4952474E5049ULL
#define NGX_HTTP_IPNG_STATS_RINGS_VERSION   1

typedef struct {
    uint64_t                    magic;
    uint32_t                    layout_version;
    uint32_t                    header_length;
    uint32_t                    ring_count;
    uint32_t                    ring_capacity;    /* records, power of two */
    uint32_t                    record_length;
    uint32_t                    ring_header_length;
    uint64_t                    zone_length;
    uint64_t                    journal_offset;
    uint64_t                    journal_length;
    uint64_t                    no_ring_drops;    /* workers without a ring */
    uint64_t                    lock;             /* Java's */
    uint64_t                    generation;       /* configurations loaded */
    uint64_t                    draining;         /* newest one draining */
    uint64_t                    listening;        /* pid with the socket */
    uint32_t                    sleeping;         /* futex: a drain sleeps */
    uint32_t                    wake_records;     /* ... until this many */
    u_char                      reserved[152];
} ngx_http_ipng_stats_rings_sh_t;

_Static_assert(sizeof(ngx_http_ipng_stats_rings_sh_t) == 256, "rings header");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, ring_count) == 16, "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, zone_length) == 32,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, journal_offset) == 40,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, no_ring_drops) == 56,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, lock) == 64, "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, generation) == 72,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, draining) == 80, "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, listening) == 88,
               "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, sleeping) == 96, "");
_Static_assert(offsetof(ngx_http_ipng_stats_rings_sh_t, wake_records) == 100,
               "");

/* one ring's header; its records follow it */

typedef struct {
    uint64_t                    owner_pid;        /* 0: free */
    uint32_t                    worker;           /* ngx_worker of the owner */
    uint32_t                    reserved0;
    uint64_t                    closed;           /* the owner exited */
    u_char                      pad0[40];
    uint64_t                    head;             /* producer's cache line */
    uint64_t                    dropped;
    u_char                      pad1[48];
    uint64_t                    tail;             /* consumer's cache line */
    uint64_t                    dropped_seen;
    u_char                      pad2[112];
} ngx_http_ipng_stats_ring_t;

_Static_assert(sizeof(ngx_http_ipng_stats_ring_t) == 256, "ring header");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, worker) == 8, "");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, closed) == 16, "");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, head) == 64, "");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, dropped) == 72, "");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, tail) == 128, "");
_Static_assert(offsetof(ngx_http_ipng_stats_ring_t, dropped_seen) == 136, "");

#define NGX_HTTP_IPNG_STATS_RING_LENGTH                                       \
    (sizeof(ngx_http_ipng_stats_ring_t)                                       \
     + NGX_HTTP_IPNG_STATS_RING_CAPACITY * sizeof(ngx_http_ipng_stats_record_t))


typedef struct {
    ngx_flag_t                  enable;
    ngx_flag_t                  scrape;
    ngx_http_upstream_conf_t   *upstream;         /* the scrape's, to the
                                                     stats process */
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
    ngx_shm_zone_t             *rings_zone;
    ngx_http_ipng_stats_rings_sh_t  *rings;
    ngx_str_t                   path;             /* the stats process's dir */
    ngx_addr_t                  socket;           /* its scrape socket */
    ngx_msec_t                  flush_interval;   /* longest drain sleep */
    ngx_str_t                   default_source;
    ngx_array_t                *buckets;          /* of uint64_t, ms */
    ngx_uint_t                  status_mode;

    ngx_str_t                   jvm;              /* as configured */
    ngx_str_t                   libjvm;           /* resolved libjvm.so */
    ngx_str_t                   classpath;
    ngx_array_t                *jvm_options;      /* of ngx_str_t */
    ngx_str_t                   cds_archive;      /* as configured */
    ngx_str_t                   cds_option;       /* checked, for the JVM */

    ngx_array_t                 tags;             /* ngx_str_t; 0: default */
    uint32_t                   *tag_index;        /* in the zone, per tag */
    ngx_array_t                 bindings;   /* ngx_http_ipng_stats_binding_t */
    ngx_uint_t                  attribution;      /* NGX_HTTP_IPNG_STATS_* */
    ngx_msec_t                  rescan_interval;

    void                       *logtail;          /* _logtail.c's own conf */

    ngx_uint_t                  used;             /* a directive was seen */
} ngx_http_ipng_stats_main_conf_t;


/* per-worker state: the worker's ring, as the producer sees it */

typedef struct {
    ngx_http_ipng_stats_rings_sh_t  *rings;
    ngx_http_ipng_stats_ring_t      *ring;        /* NULL: none was free */
    ngx_http_ipng_stats_record_t    *records;
    uint64_t                         head;        /* records published */
    uint64_t                         tail;        /* TAIL, as last read */
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


/* zones: ngx_http_ipng_stats_zone.c */
char *ngx_http_ipng_stats_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the worker's ring: ngx_http_ipng_stats_ring.c */
void ngx_http_ipng_stats_ring_claim(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_http_ipng_stats_record_t *ngx_http_ipng_stats_ring_next(void);
void ngx_http_ipng_stats_ring_publish(void);
void ngx_http_ipng_stats_ring_close(void);
void ngx_http_ipng_stats_rings_wake(ngx_http_ipng_stats_rings_sh_t *rs);
void ngx_http_ipng_stats_rings_wait(ngx_http_ipng_stats_rings_sh_t *rs,
    int64_t nanos);

/* log phase: ngx_http_ipng_stats_log.c */
ngx_int_t ngx_http_ipng_stats_log_handler(ngx_http_request_t *r);

/* the stats process: ngx_http_ipng_stats_process.c */
ngx_int_t ngx_http_ipng_stats_process_conf(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_process_init(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);

/* its JVM: ngx_http_ipng_stats_jvm.c */
extern const char  *ngx_http_ipng_stats_baseline_options[];
char *ngx_http_ipng_stats_jvm_check(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
ngx_int_t ngx_http_ipng_stats_jvm_start(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, uint64_t generation, u_char *reason,
    size_t size);
ngx_int_t ngx_http_ipng_stats_jvm_scrape(ngx_log_t *log, ngx_str_t *args,
    ngx_str_t *accept, ngx_str_t *accept_encoding, ngx_str_t *answer,
    u_char *reason, size_t size);

/* the scrape location, in the workers: ngx_http_ipng_stats_scrape.c */
ngx_int_t ngx_http_ipng_stats_scrape_handler(ngx_http_request_t *r);
void ngx_http_ipng_stats_scrape_conf(ngx_http_upstream_conf_t *u);

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
