
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The JVM of the stats process (_process.c), the only one of an nginx
 * instance.  At configuration time (in the master, so that "nginx -t"
 * reports it) libjvm and the jar are located and checked (_jvm_conf.c).
 * Here the stats process loads libjvm with dlopen() and creates the JVM
 * with -Xrs and every signal blocked while its threads are made, so that
 * nginx keeps its signals; Java's drain thread is started by
 * NativeBridge.start() under the same mask.  The method IDs are resolved
 * once; every upcall checks for a pending exception.  The one downcall is
 * the drain thread's sleep (RingWait.NativeFutex), registered here: a
 * futex wait that a worker ends when its ring fills (_ring.c).  The JVM is
 * never destroyed: nginx ends the process with exit().
 *
 * The Java side is ch.ipng.stats.bridge.NativeBridge.
 */


#include "ngx_http_ipng_stats_module.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>


#define NGX_HTTP_IPNG_STATS_BRIDGE  "ch/ipng/stats/bridge/NativeBridge"
#define NGX_HTTP_IPNG_STATS_FUTEX   "ch/ipng/stats/drain/RingWait$NativeFutex"
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
    jmethodID                   scrape;
    jmethodID                   last_error;
    ngx_http_ipng_stats_rings_sh_t  *rings;
} ngx_http_ipng_stats_jvm_t;


static ngx_int_t ngx_http_ipng_stats_create_vm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, u_char *reason, size_t size);
static ngx_int_t ngx_http_ipng_stats_bind(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, uint64_t generation, u_char *reason,
    size_t size);
static ngx_int_t ngx_http_ipng_stats_register(JNIEnv *env,
    ngx_http_ipng_stats_main_conf_t *smcf, u_char *reason, size_t size);
static void JNICALL ngx_http_ipng_stats_futex_wait(JNIEnv *env, jclass cls,
    jlong nanos);
static void ngx_http_ipng_stats_java_error(u_char *reason, size_t size,
    const char *what);
static void ngx_http_ipng_stats_jvm_failed(u_char *reason, size_t size,
    const char *fmt, ...);
static ngx_int_t ngx_http_ipng_stats_jbytes(JNIEnv *env, ngx_str_t *s,
    jbyteArray *out);


static ngx_http_ipng_stats_jvm_t  ngx_http_ipng_stats_jvm;


/* also used by the configuration-time check in _jvm_conf.c */
const char  *ngx_http_ipng_stats_baseline_options[] = {
    "-Xrs",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",          /* C1: 5-8 MB less than with C2 */
    "-Xms8m",
    "-Xmx96m",
    "-XX:MaxMetaspaceSize=64m",
    "-XX:ReservedCodeCacheSize=48m",
    "-XX:MaxHeapFreeRatio=20",          /* give back what a scrape took */
    "-XX:MinHeapFreeRatio=10",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
    "-XX:+DisplayVMOutputToStderr",     /* stderr is nginx's error log */
    NULL
};


/*
 * Creates the JVM and starts the Java side: NGX_OK, or NGX_ERROR with the
 * reason (one line) in "reason".
 */

ngx_int_t
ngx_http_ipng_stats_jvm_start(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, uint64_t generation, u_char *reason,
    size_t size)
{
    if (ngx_http_ipng_stats_create_vm(cycle, smcf, reason, size) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_ipng_stats_bind(cycle, smcf, generation, reason, size);
}


static ngx_int_t
ngx_http_ipng_stats_create_vm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, u_char *reason, size_t size)
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
        ngx_http_ipng_stats_jvm_failed(reason, size,
                                       "dlopen(\"%V\") failed: %s",
                                       &smcf->libjvm, dlerror());
        return NGX_ERROR;
    }

    create = (ngx_http_ipng_stats_create_vm_pt) dlsym(lib,
                                                      "JNI_CreateJavaVM");
    if (create == NULL) {
        ngx_http_ipng_stats_jvm_failed(reason, size,
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
        ngx_http_ipng_stats_jvm_failed(reason, size,
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
    ngx_http_ipng_stats_main_conf_t *smcf, uint64_t generation, u_char *reason,
    size_t size)
{
    jclass                      cls;
    jstring                     version, err;
    jobject                     zone, rings;
    sigset_t                    all, saved;
    ngx_int_t                   rc;
    const char                 *msg;
    JNIEnv                     *env;
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    if ((*env)->PushLocalFrame(env, 32) != JNI_OK) {
        ngx_http_ipng_stats_java_error(reason, size, "PushLocalFrame");
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    cls = (*env)->FindClass(env, NGX_HTTP_IPNG_STATS_BRIDGE);
    if (cls == NULL) {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_jvm_failed(reason, size,
                           "class " NGX_HTTP_IPNG_STATS_BRIDGE " not found in "
                           "\"%V\"; is it the ipng-stats.jar of this module?",
                           &smcf->classpath);
        goto done;
    }

    j->bridge = (*env)->NewGlobalRef(env, cls);
    j->start = (*env)->GetStaticMethodID(env, cls, "start",
                   "(Ljava/nio/ByteBuffer;Ljava/nio/ByteBuffer;JJJI"
                   "Ljava/lang/String;)Ljava/lang/String;");
    j->scrape = (*env)->GetStaticMethodID(env, cls, "scrape", "([B[B[B)[B");
    j->last_error = (*env)->GetStaticMethodID(env, cls, "lastError",
                                              "()Ljava/lang/String;");

    if (j->bridge == NULL || j->start == NULL || j->scrape == NULL
        || j->last_error == NULL)
    {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_jvm_failed(reason, size,
                           "\"%V\" does not match this module: "
                           NGX_HTTP_IPNG_STATS_BRIDGE " lacks a method this "
                           "module calls", &smcf->classpath);
        goto done;
    }

    if (ngx_http_ipng_stats_register(env, smcf, reason, size) != NGX_OK) {
        goto done;
    }

    zone = (*env)->NewDirectByteBuffer(env, smcf->sh,
                                       (jlong) smcf->sh->zone_length);
    rings = (*env)->NewDirectByteBuffer(env, smcf->rings,
                                        (jlong) smcf->rings->zone_length);
    version = (*env)->NewStringUTF(env, NGINX_VERSION);

    if (zone == NULL || rings == NULL || version == NULL) {
        ngx_http_ipng_stats_java_error(reason, size, "NewDirectByteBuffer");
        goto done;
    }

    /*
     * start() starts Java's drain thread, which inherits this thread's
     * signal mask: block every signal so that nginx's stay on this thread
     */

    sigfillset(&all);
    (void) pthread_sigmask(SIG_BLOCK, &all, &saved);

    err = (*env)->CallStaticObjectMethod(env, j->bridge, j->start, zone,
                                         rings,
                                         (jlong)
                                         NGX_HTTP_IPNG_STATS_LAYOUT_SIGNATURE,
                                         (jlong) ngx_pid,
                                         (jlong) generation,
                                         (jint) ngx_min(smcf->flush_interval,
                                                        1000),
                                         version);

    (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);

    if ((*env)->ExceptionCheck(env)) {
        ngx_http_ipng_stats_java_error(reason, size, "NativeBridge.start");
        goto done;
    }

    if (err != NULL) {
        msg = (*env)->GetStringUTFChars(env, err, NULL);
        ngx_http_ipng_stats_jvm_failed(reason, size, "%s",
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


/* RingWait.NativeFutex.futexWait(long), on the rings of this process */

static ngx_int_t
ngx_http_ipng_stats_register(JNIEnv *env,
    ngx_http_ipng_stats_main_conf_t *smcf, u_char *reason, size_t size)
{
    jclass           cls;
    JNINativeMethod  m;

    cls = (*env)->FindClass(env, NGX_HTTP_IPNG_STATS_FUTEX);

    m.name = "futexWait";
    m.signature = "(J)V";
    m.fnPtr = (void *) ngx_http_ipng_stats_futex_wait;

    if (cls == NULL || (*env)->RegisterNatives(env, cls, &m, 1) != JNI_OK) {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_jvm_failed(reason, size,
                           "\"%V\" does not match this module: "
                           NGX_HTTP_IPNG_STATS_FUTEX ".futexWait(long) is "
                           "missing", &smcf->classpath);
        return NGX_ERROR;
    }

    ngx_http_ipng_stats_jvm.rings = smcf->rings;

    return NGX_OK;
}


static void JNICALL
ngx_http_ipng_stats_futex_wait(JNIEnv *env, jclass cls, jlong nanos)
{
    ngx_http_ipng_stats_rings_wait(ngx_http_ipng_stats_jvm.rings, nanos);
}


/*
 * One scrape, on the stats process's event loop: Java drains every ring
 * and renders.  "answer" gets "<content-type>[\t<encoding>]\n<body>" in
 * memory from ngx_alloc(), which the caller frees; NGX_ERROR with the
 * reason otherwise.
 */

ngx_int_t
ngx_http_ipng_stats_jvm_scrape(ngx_log_t *log, ngx_str_t *args,
    ngx_str_t *accept, ngx_str_t *accept_encoding, ngx_str_t *answer,
    u_char *reason, size_t size)
{
    jsize                       len;
    JNIEnv                     *env;
    ngx_int_t                   rc;
    jbyteArray                  a, h, e, out;
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    if (env == NULL || j->scrape == NULL) {
        ngx_http_ipng_stats_jvm_failed(reason, size, "the JVM is not running");
        return NGX_ERROR;
    }

    if ((*env)->PushLocalFrame(env, 8) != JNI_OK) {
        ngx_http_ipng_stats_java_error(reason, size, "PushLocalFrame");
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_http_ipng_stats_jbytes(env, args, &a) != NGX_OK
        || ngx_http_ipng_stats_jbytes(env, accept, &h) != NGX_OK
        || ngx_http_ipng_stats_jbytes(env, accept_encoding, &e) != NGX_OK)
    {
        ngx_http_ipng_stats_java_error(reason, size, "NewByteArray");
        goto done;
    }

    out = (*env)->CallStaticObjectMethod(env, j->bridge, j->scrape, a, h, e);

    if ((*env)->ExceptionCheck(env)) {
        ngx_http_ipng_stats_java_error(reason, size, "NativeBridge.scrape");
        goto done;
    }

    if (out == NULL) {
        ngx_http_ipng_stats_java_error(reason, size, "the scrape");
        goto done;
    }

    len = (*env)->GetArrayLength(env, out);

    answer->data = ngx_alloc(len, log);
    if (answer->data == NULL) {
        ngx_http_ipng_stats_jvm_failed(reason, size, "out of memory");
        goto done;
    }

    answer->len = len;
    (*env)->GetByteArrayRegion(env, out, 0, len, (jbyte *) answer->data);

    rc = NGX_OK;

done:

    (void) (*env)->PopLocalFrame(env, NULL);

    return rc;
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
 * A failed upcall: a pending exception (the bridge catches every
 * Throwable, so only JVM-level failures throw) or NativeBridge.lastError()
 * becomes the reason.
 */

static void
ngx_http_ipng_stats_java_error(u_char *reason, size_t size, const char *what)
{
    jstring                     err;
    JNIEnv                     *env;
    const char                 *msg;
    ngx_http_ipng_stats_jvm_t  *j;

    j = &ngx_http_ipng_stats_jvm;
    env = j->env;

    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_jvm_failed(reason, size, "Java exception in %s",
                                       what);
        return;
    }

    err = j->last_error
          ? (*env)->CallStaticObjectMethod(env, j->bridge, j->last_error)
          : NULL;

    if ((*env)->ExceptionCheck(env) || err == NULL) {
        (*env)->ExceptionClear(env);
        ngx_http_ipng_stats_jvm_failed(reason, size, "%s failed", what);
        return;
    }

    msg = (*env)->GetStringUTFChars(env, err, NULL);
    ngx_http_ipng_stats_jvm_failed(reason, size, "%s failed: %s", what,
                                   msg ? msg : "(no message)");

    if (msg) {
        (*env)->ReleaseStringUTFChars(env, err, msg);
    }

    (*env)->DeleteLocalRef(env, err);
}


static void
ngx_http_ipng_stats_jvm_failed(u_char *reason, size_t size, const char *fmt,
    ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(reason, reason + size - 1, fmt, args);
    va_end(args);

    *p = '\0';
}
