
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The JVM bridge.  At configuration time (in the master, so "nginx -t"
 * reports it) libjvm and the jar are located and checked readable by the
 * worker user.  In every worker, init_process creates one JVM (never in the
 * master: JVM threads do not survive fork), with -Xrs and every signal
 * blocked while its threads are made, so that nginx keeps its signals.
 * One table of method IDs is resolved once; every upcall goes through one
 * helper that turns a Java failure into an nginx log line.  The JVM is never
 * destroyed: at exit the worker flushes once and leaves.
 *
 * The Java side is ch.ipng.stats.bridge.NativeBridge.
 */


#include "ngx_http_ipng_stats_module.h"

#include <dlfcn.h>
#include <signal.h>


#define NGX_HTTP_IPNG_STATS_BRIDGE  "ch/ipng/stats/bridge/NativeBridge"
#define NGX_HTTP_IPNG_STATS_MAX_OPTIONS  64

/*
 * the baseline (12), the class path, the error file, the class data
 * archive, the user's options
 */
#if (NGX_HTTP_IPNG_STATS_MAX_JVM_OPTIONS + 16 > NGX_HTTP_IPNG_STATS_MAX_OPTIONS)
#error "NGX_HTTP_IPNG_STATS_MAX_OPTIONS is too small"
#endif


typedef jint (JNICALL *ngx_http_ipng_stats_create_vm_pt)(JavaVM **vm,
    void **env, void *args);


typedef struct {
    JavaVM                     *vm;
    JNIEnv                     *env;
    jclass                      bridge;
    jmethodID                   start;
    jmethodID                   drain;
    jmethodID                   tick;
    jmethodID                   scrape_begin;
    jmethodID                   scrape_end;
    jmethodID                   exit;
    jmethodID                   last_error;
    ngx_msec_t                  last_alert;
} ngx_http_ipng_stats_jvm_t;


static ngx_int_t ngx_http_ipng_stats_create_vm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_bind(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_java_failed(ngx_log_t *log,
    const char *what);
static void ngx_http_ipng_stats_report(ngx_log_t *log, const char *what);
static ngx_uint_t ngx_http_ipng_stats_alert_due(void);
static void ngx_http_ipng_stats_flush_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_ipng_stats_jbytes(JNIEnv *env, ngx_str_t *s,
    jbyteArray *out);


static ngx_http_ipng_stats_jvm_t  ngx_http_ipng_stats_jvm;

static JNINativeMethod  ngx_http_ipng_stats_natives[] = {
    { "notifyDone", "(I)V", (void *) ngx_http_ipng_stats_scrape_notify },
    { "trimNativeHeap", "()V", (void *) ngx_http_ipng_stats_trim_native_heap },
    { "answerAppend", "([BI)I", (void *) ngx_http_ipng_stats_answer_append }
};


/* also used by the configuration-time check in _jvm_conf.c */
const char  *ngx_http_ipng_stats_baseline_options[] = {
    "-Xrs",
    "-XX:+UseSerialGC",
    "-Xms8m",
    "-Xmx48m",
    "-XX:MaxMetaspaceSize=48m",
    "-XX:ReservedCodeCacheSize=32m",
    /*
     * C1 only: C2 compiled the render code for 30-40 s after every start
     * (scraped once a second, it warms slowly), in 4 ms scheduler slices
     * on the worker's core: p99 3.5-4 ms against 1.6 ms with C1 only, and
     * 11-13 MB more RSS for its arenas and profiles (README, Performance)
     */
    "-XX:TieredStopAtLevel=1",
    /*
     * the module's own methods compile after a scrape or two instead of
     * a few hundred: a once-a-second scrape brought them to C1's
     * thresholds one by one for minutes after every start, each compile
     * a run of the compiler on the worker's core (10-20 s after start: 50
     * compiles, 13 of ours, against 25 and 2; README, Performance)
     */
    "-XX:CompileCommand=quiet",
    "-XX:CompileCommand=CompileThresholdScaling,ch.ipng.stats.*::*,0.01",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
    "-XX:+DisplayVMOutputToStderr",     /* stderr is nginx's error log */
    NULL
};


/* worker start */

ngx_int_t
ngx_http_ipng_stats_jvm_start(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    size_t                         rss;
    ngx_msec_t                     start;
    ngx_time_t                    *tp;
    ngx_uint_t                     crashed, limit;
    ngx_core_conf_t               *ccf;
    ngx_http_ipng_stats_sh_t      *sh;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;
    sh = smcf->sh;

    w->records = ngx_alloc(NGX_HTTP_IPNG_STATS_BATCH
                           * sizeof(ngx_http_ipng_stats_record_t),
                           cycle->log);
    if (w->records == NULL) {
        ngx_http_ipng_stats_disable(cycle->log, "out of memory");
        return NGX_ERROR;
    }

    /*
     * respawn-storm guard: a JVM that crashes the worker while it starts
     * would have the master respawn workers forever
     */

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    crashed = (ngx_uint_t) (sh->jvm_start_attempts - sh->jvm_start_ok);

    /* up to worker_processes starts may be under way at the same time */
    limit = ccf->worker_processes;

    if (crashed > limit) {
        ngx_http_ipng_stats_disable(cycle->log,
                           "%ui JVM starts did not finish (the JVM ended the "
                           "workers while starting, see its message in the "
                           "error log); counting stays off until the next "
                           "reload or restart", crashed);
        return NGX_ERROR;
    }

    (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_attempts, 1);

    rss = ngx_http_ipng_stats_rss_kb();
    ngx_time_update();
    tp = ngx_timeofday();
    start = tp->sec * 1000 + tp->msec;

    if (ngx_http_ipng_stats_create_vm(cycle, smcf) != NGX_OK) {
        (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_ok, 1);
        return NGX_ERROR;
    }

    (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_ok, 1);

    ngx_http_ipng_stats_cheap_syscalls(cycle->log);

    if (ngx_http_ipng_stats_bind(cycle, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_ipng_stats_scrape_init_process(cycle) != NGX_OK) {
        ngx_http_ipng_stats_disable(cycle->log, "cannot set up the scrape's "
                                    "completion event (eventfd)");
        return NGX_ERROR;
    }

    ngx_http_ipng_stats_lower_jvm_threads(cycle->log);

    ngx_time_update();
    tp = ngx_timeofday();

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "ipng_stats: JVM started in %M ms, worker RSS +%uz kB",
                  (ngx_msec_t) (tp->sec * 1000 + tp->msec) - start,
                  ngx_http_ipng_stats_rss_kb() - rss);

    w->running = 1;

    w->flush_event.handler = ngx_http_ipng_stats_flush_handler;
    w->flush_event.data = smcf;
    w->flush_event.log = cycle->log;
    w->flush_event.cancelable = 1;

    ngx_add_timer(&w->flush_event, smcf->flush_interval);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_create_vm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    int                                rc;
    void                              *lib;
    u_char                            *p, *dir, *slash;
    sigset_t                           all, saved;
    ngx_str_t                         *opt;
    ngx_uint_t                         i, n;
    JavaVMOption                       options[NGX_HTTP_IPNG_STATS_MAX_OPTIONS];
    JavaVMInitArgs                     args;
    ngx_http_ipng_stats_jvm_t         *j;
    ngx_http_ipng_stats_create_vm_pt   create;

    j = &ngx_http_ipng_stats_jvm;

    lib = dlopen((char *) smcf->libjvm.data, RTLD_NOW|RTLD_GLOBAL);
    if (lib == NULL) {
        ngx_http_ipng_stats_disable(cycle->log, "dlopen(\"%V\") failed: %s",
                                    &smcf->libjvm, dlerror());
        return NGX_ERROR;
    }

    create = (ngx_http_ipng_stats_create_vm_pt) dlsym(lib,
                                                      "JNI_CreateJavaVM");
    if (create == NULL) {
        ngx_http_ipng_stats_disable(cycle->log,
                                    "\"%V\" has no JNI_CreateJavaVM",
                                    &smcf->libjvm);
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; ngx_http_ipng_stats_baseline_options[i]; i++) {
        options[n].optionString =
                               (char *) ngx_http_ipng_stats_baseline_options[i];
        options[n++].extraInfo = NULL;
    }

    p = ngx_pnalloc(cycle->pool, sizeof("-Djava.class.path=")
                                 + smcf->classpath.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "-Djava.class.path=%V%Z", &smcf->classpath);
    options[n].optionString = (char *) p;
    options[n++].extraInfo = NULL;

    /* crash reports next to the error log */

    dir = cycle->log->file ? cycle->log->file->name.data : NULL;
    slash = dir ? (u_char *) strrchr((char *) dir, '/') : NULL;

    if (slash && dir[0] == '/') {
        p = ngx_pnalloc(cycle->pool, ngx_strlen(dir)
                                     + sizeof("-XX:ErrorFile=/hs_err_%p.log"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(p, "-XX:ErrorFile=%*s/hs_err_%%p.log%Z",
                    (size_t) (slash - dir), dir);
        options[n].optionString = (char *) p;
        options[n++].extraInfo = NULL;
    }

    /* before the operator's options, so that theirs win */

    if (smcf->cds_option.len) {
        options[n].optionString = (char *) smcf->cds_option.data;
        options[n++].extraInfo = NULL;
    }

    if (smcf->jvm_options) {
        opt = smcf->jvm_options->elts;

        for (i = 0; i < smcf->jvm_options->nelts; i++) {
            if (n == NGX_HTTP_IPNG_STATS_MAX_OPTIONS) {
                break;
            }

            /* values from the configuration are null-terminated */
            options[n].optionString = (char *) opt[i].data;
            options[n++].extraInfo = NULL;
        }
    }

    args.version = JNI_VERSION_10;
    args.nOptions = n;
    args.options = options;
    args.ignoreUnrecognized = JNI_FALSE;

    /*
     * JVM threads inherit the mask of the thread that makes them: with all
     * signals blocked here, nginx's signals keep landing on this thread
     */

    sigfillset(&all);
    (void) pthread_sigmask(SIG_BLOCK, &all, &saved);

    rc = create(&j->vm, (void **) &j->env, &args);

    (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);

    if (rc != JNI_OK) {
        ngx_http_ipng_stats_disable(cycle->log,
                           "JNI_CreateJavaVM(\"%V\") failed with %d (an "
                           "invalid \"ipng_stats_jvm_options\" value, or "
                           "too little memory?)", &smcf->libjvm, rc);
        j->vm = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_bind(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    jclass                      cls;
    jstring                     s, err;
    sigset_t                    all, saved;
    jobject                     zone, records;
    ngx_str_t                  *tag;
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    const char                 *msg;
    jbyteArray                  bytes;
    jobjectArray                tags;
    JNIEnv                     *env;
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    if ((*env)->PushLocalFrame(env, 32) != JNI_OK) {
        ngx_http_ipng_stats_disable(cycle->log, "PushLocalFrame() failed");
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    cls = (*env)->FindClass(env, NGX_HTTP_IPNG_STATS_BRIDGE);
    if (cls == NULL) {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_disable(cycle->log,
                           "class " NGX_HTTP_IPNG_STATS_BRIDGE " not found in "
                           "\"%V\"; is it the ipng-stats.jar of this module?",
                           &smcf->classpath);
        goto done;
    }

    j->bridge = (*env)->NewGlobalRef(env, cls);

    j->start = (*env)->GetStaticMethodID(env, cls, "start",
                   "(Ljava/nio/ByteBuffer;Ljava/nio/ByteBuffer;IJ"
                   "[[BIJLjava/lang/String;)Ljava/lang/String;");
    j->drain = (*env)->GetStaticMethodID(env, cls, "drain", "(I)I");
    j->tick = (*env)->GetStaticMethodID(env, cls, "tick", "(I)I");
    j->scrape_begin = (*env)->GetStaticMethodID(env, cls, "scrapeBegin",
                                                "(I[B[B[B)I");
    j->scrape_end = (*env)->GetStaticMethodID(env, cls, "scrapeEnd", "(I)I");
    j->exit = (*env)->GetStaticMethodID(env, cls, "exit", "(I)I");
    j->last_error = (*env)->GetStaticMethodID(env, cls, "lastError",
                                              "()Ljava/lang/String;");

    if (j->bridge == NULL || j->start == NULL || j->drain == NULL
        || j->tick == NULL || j->scrape_begin == NULL
        || j->scrape_end == NULL
        || j->exit == NULL || j->last_error == NULL)
    {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_disable(cycle->log,
                           "\"%V\" does not match this module: "
                           NGX_HTTP_IPNG_STATS_BRIDGE " lacks a method this "
                           "module calls", &smcf->classpath);
        goto done;
    }

    zone = (*env)->NewDirectByteBuffer(env, smcf->sh,
                                       (jlong) smcf->sh->zone_length);
    records = (*env)->NewDirectByteBuffer(env,
                                      ngx_http_ipng_stats_worker.records,
                                      NGX_HTTP_IPNG_STATS_BATCH
                                      * sizeof(ngx_http_ipng_stats_record_t));
    cls = (*env)->FindClass(env, "[B");

    if (zone == NULL || records == NULL || cls == NULL) {
        ngx_http_ipng_stats_java_failed(cycle->log, "NewDirectByteBuffer");
        goto done;
    }

    tags = (*env)->NewObjectArray(env, smcf->tags.nelts, cls, NULL);
    if (tags == NULL) {
        ngx_http_ipng_stats_java_failed(cycle->log, "NewObjectArray");
        goto done;
    }

    tag = smcf->tags.elts;

    /* as bytes: Java decodes them as UTF-8, which nginx -t checked */

    for (i = 0; i < smcf->tags.nelts; i++) {
        bytes = (*env)->NewByteArray(env, tag[i].len);
        if (bytes == NULL) {
            ngx_http_ipng_stats_java_failed(cycle->log, "NewByteArray");
            goto done;
        }

        (*env)->SetByteArrayRegion(env, bytes, 0, tag[i].len,
                                   (jbyte *) tag[i].data);
        (*env)->SetObjectArrayElement(env, tags, i, bytes);
        (*env)->DeleteLocalRef(env, bytes);
    }

    /*
     * the render thread's calls: its completion, which only writes to an
     * eventfd, and the periodic malloc_trim
     */

    if ((*env)->RegisterNatives(env, j->bridge, ngx_http_ipng_stats_natives,
                                sizeof(ngx_http_ipng_stats_natives)
                                / sizeof(JNINativeMethod))
        != JNI_OK)
    {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_disable(cycle->log,
                           "\"%V\" does not match this module: "
                           NGX_HTTP_IPNG_STATS_BRIDGE " has no native "
                           "notifyDone(int) or trimNativeHeap()",
                           &smcf->classpath);
        goto done;
    }

    s = (*env)->NewStringUTF(env, NGINX_VERSION);

    /*
     * start() starts Java's render thread, which inherits this thread's
     * signal mask: block every signal so that nginx's stay on this thread
     */

    sigfillset(&all);
    (void) pthread_sigmask(SIG_BLOCK, &all, &saved);

    err = (*env)->CallStaticObjectMethod(env, j->bridge, j->start, zone,
                                         records,
                                         (jint) NGX_HTTP_IPNG_STATS_BATCH,
                                         (jlong)
                                         NGX_HTTP_IPNG_STATS_LAYOUT_SIGNATURE,
                                         tags, (jint) ngx_worker,
                                         (jlong) ngx_pid, s);

    (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);

    if (ngx_http_ipng_stats_java_failed(cycle->log, "NativeBridge.start")) {
        goto done;
    }

    if (err != NULL) {
        msg = (*env)->GetStringUTFChars(env, err, NULL);
        ngx_http_ipng_stats_disable(cycle->log, "%s",
                                    msg ? msg : "start failed");
        if (msg) {
            (*env)->ReleaseStringUTFChars(env, err, msg);
        }

        goto done;
    }

    rc = NGX_OK;

done:

    (void) (*env)->PopLocalFrame(env, NULL);

    return rc;
}


/*
 * A pending exception (the bridge catches every Throwable, so only
 * JVM-level failures get here) or an error code becomes one alert,
 * at most one every 10 seconds.
 */

static ngx_int_t
ngx_http_ipng_stats_java_failed(ngx_log_t *log, const char *what)
{
    JNIEnv  *env;

    env = ngx_http_ipng_stats_jvm.env;

    if (!(*env)->ExceptionCheck(env)) {
        return 0;
    }

    (*env)->ExceptionClear(env);

    if (ngx_http_ipng_stats_alert_due()) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "ipng_stats: Java exception in %s", what);
    }

    return 1;
}


/* at most one alert every 10 seconds */

static ngx_uint_t
ngx_http_ipng_stats_alert_due(void)
{
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;

    if (j->last_alert != 0 && ngx_current_msec - j->last_alert < 10000) {
        return 0;
    }

    j->last_alert = ngx_current_msec;

    return 1;
}


static void
ngx_http_ipng_stats_report(ngx_log_t *log, const char *what)
{
    jstring      err;
    JNIEnv      *env;
    const char  *msg;

    env = ngx_http_ipng_stats_jvm.env;

    if (!ngx_http_ipng_stats_alert_due()) {
        return;
    }

    err = (*env)->CallStaticObjectMethod(env, ngx_http_ipng_stats_jvm.bridge,
                                         ngx_http_ipng_stats_jvm.last_error);

    if ((*env)->ExceptionCheck(env) || err == NULL) {
        (*env)->ExceptionClear(env);
        ngx_log_error(NGX_LOG_ALERT, log, 0, "ipng_stats: %s failed", what);
        return;
    }

    msg = (*env)->GetStringUTFChars(env, err, NULL);

    ngx_log_error(NGX_LOG_ALERT, log, 0, "ipng_stats: %s failed: %s",
                  what, msg ? msg : "(no message)");

    if (msg) {
        (*env)->ReleaseStringUTFChars(env, err, msg);
    }

    (*env)->DeleteLocalRef(env, err);
}


/* upcalls */

ngx_int_t
ngx_http_ipng_stats_jvm_drain(ngx_log_t *log, ngx_uint_t tick)
{
    jint                           rc;
    JNIEnv                        *env;
    ngx_http_ipng_stats_jvm_t     *j;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;
    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    rc = (*env)->CallStaticIntMethod(env, j->bridge,
                                     tick ? j->tick : j->drain,
                                     (jint) w->nrecords);
    w->nrecords = 0;

    if (ngx_http_ipng_stats_java_failed(log, tick ? "tick" : "drain")) {
        return NGX_ERROR;
    }

    if (rc != 0) {
        ngx_http_ipng_stats_report(log, tick ? "tick" : "drain");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Scrape, first half, on the event loop: hand this worker's batch to Java,
 * which drains and flushes it, and start the rendering on Java's render
 * thread.  Returns the ticket ngx_http_ipng_stats_scrape_done() will see.
 */

ngx_int_t
ngx_http_ipng_stats_jvm_scrape_begin(ngx_http_request_t *r, ngx_str_t *accept,
    ngx_str_t *accept_encoding)
{
    jint                           ticket;
    JNIEnv                        *env;
    jbyteArray                     args, hdr, enc;
    ngx_http_ipng_stats_jvm_t     *j;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;
    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    if ((*env)->PushLocalFrame(env, 8) != JNI_OK) {
        (*env)->ExceptionClear(env);
        return NGX_ERROR;
    }

    ticket = -1;

    /* no rendering is under way: a new answer begins */
    ngx_http_ipng_stats_answer_drop();

    if (ngx_http_ipng_stats_jbytes(env, &r->args, &args) != NGX_OK
        || ngx_http_ipng_stats_jbytes(env, accept, &hdr) != NGX_OK
        || ngx_http_ipng_stats_jbytes(env, accept_encoding, &enc) != NGX_OK)
    {
        goto done;
    }

    ticket = (*env)->CallStaticIntMethod(env, j->bridge, j->scrape_begin,
                                         (jint) w->nrecords, args, hdr, enc);
    w->nrecords = 0;

done:

    /* a pending exception (here or from the arrays above), or Java's error */

    if (ngx_http_ipng_stats_java_failed(r->connection->log, "scrape")) {
        ticket = -1;

    } else if (ticket <= 0) {
        ngx_http_ipng_stats_report(r->connection->log, "scrape");
    }

    (void) (*env)->PopLocalFrame(env, NULL);

    return ticket > 0 ? ticket : NGX_ERROR;
}


/* s as a new Java byte[] in the current local frame; NULL when s is empty */

static ngx_int_t
ngx_http_ipng_stats_jbytes(JNIEnv *env, ngx_str_t *s, jbyteArray *out)
{
    *out = NULL;

    if (s->len == 0) {
        return NGX_OK;
    }

    *out = (*env)->NewByteArray(env, s->len);
    if (*out == NULL) {
        return NGX_ERROR;
    }

    (*env)->SetByteArrayRegion(env, *out, 0, s->len, (jbyte *) s->data);

    return NGX_OK;
}


/*
 * second half, on the event loop again: "content-type\n" + body, or
 * "content-type\tgzip\n" + the body compressed
 */

ngx_int_t
ngx_http_ipng_stats_jvm_scrape_end(ngx_http_request_t *r, ngx_int_t ticket,
    ngx_str_t *content_type, ngx_str_t *content_encoding, ngx_str_t *body)
{
    jint                        len;
    u_char                     *nl, *tab;
    JNIEnv                     *env;
    ngx_str_t                   answer;
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    len = (*env)->CallStaticIntMethod(env, j->bridge, j->scrape_end,
                                      (jint) ticket);

    if (ngx_http_ipng_stats_java_failed(r->connection->log, "scrape")) {
        ngx_http_ipng_stats_answer_drop();
        return NGX_ERROR;
    }

    if (len < 0) {
        ngx_http_ipng_stats_report(r->connection->log, "scrape");
        ngx_http_ipng_stats_answer_drop();
        return NGX_ERROR;
    }

    /* the render thread handed the answer to ngx_http_ipng_stats_answer.c */

    if (ngx_http_ipng_stats_answer_take(r, (size_t) len, &answer) != NGX_OK) {
        return NGX_ERROR;
    }

    nl = ngx_strlchr(answer.data, answer.data + answer.len, '\n');
    if (nl == NULL) {
        return NGX_ERROR;
    }

    tab = ngx_strlchr(answer.data, nl, '\t');

    content_type->data = answer.data;
    content_type->len = (tab ? tab : nl) - answer.data;
    content_encoding->data = tab ? tab + 1 : NULL;
    content_encoding->len = tab ? nl - (tab + 1) : 0;
    body->data = nl + 1;
    body->len = answer.data + answer.len - (nl + 1);

    return NGX_OK;
}


void
ngx_http_ipng_stats_jvm_exit(ngx_log_t *log)
{
    jint                           rc;
    JNIEnv                        *env;
    ngx_http_ipng_stats_jvm_t     *j;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;
    j = &ngx_http_ipng_stats_jvm;

    if (!w->running) {
        return;
    }

    /* the last flush; DestroyJavaVM would wait for every thread: never */

    env = j->env;

    rc = (*env)->CallStaticIntMethod(env, j->bridge, j->exit,
                                     (jint) w->nrecords);
    w->nrecords = 0;
    w->running = 0;

    if (ngx_http_ipng_stats_java_failed(log, "exit")) {
        return;
    }

    if (rc != 0) {
        j->last_alert = 0;
        ngx_http_ipng_stats_report(log, "exit");
    }
}


static void
ngx_http_ipng_stats_flush_handler(ngx_event_t *ev)
{
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ev->data;

    if (ngx_http_ipng_stats_worker.running) {
        (void) ngx_http_ipng_stats_jvm_drain(ev->log, 1);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, smcf->flush_interval);
    }
}
