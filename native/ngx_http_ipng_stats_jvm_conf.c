
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Configuration-time checks of the JVM, in the master, so that "nginx -t"
 * reports them: find libjvm.so ("ipng_stats_jvm", else $JAVA_HOME, else
 * /usr/lib/jvm/default-java, else the java on PATH), check that the
 * worker user can read it and the jar and cannot write them, and that the
 * class data archive (ipng_stats_cds_archive) fits this JVM and jar before
 * the workers use it.  The check's JVM runs as the worker user.
 *
 * $JAVA_HOME and $PATH are the ones nginx was started with, read when
 * "load_module" loads this library: nginx's perl, njs and lua modules
 * replace environ with the "env" variables alone while the configuration
 * is read, and the master keeps that one, so getenv() at the next reload
 * would find another JVM, or none.
 */


#include "ngx_http_ipng_stats_module.h"

#include <pwd.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>


#define NGX_HTTP_IPNG_STATS_CHECK_CLASS  "ch.ipng.stats.bridge.Check"
#define NGX_HTTP_IPNG_STATS_CHECK_MS     20000
#define NGX_HTTP_IPNG_STATS_CHECK_ARGS   80
/* the Debian package, whose directory holds scripts/cds-archive */
#define NGX_HTTP_IPNG_STATS_PKG          "libnginx-mod-http-ipng-stats"
#define NGX_HTTP_IPNG_STATS_MAX_GROUPS   64


/* the user the workers run as, whose eyes the checks use */

typedef struct {
    uid_t                       uid;
    gid_t                       gid;
    const char                 *name;
    gid_t                       groups[NGX_HTTP_IPNG_STATS_MAX_GROUPS];
    int                         ngroups;
    ngx_uint_t                  drop;     /* root now, not in the workers */
} ngx_http_ipng_stats_user_t;


static void ngx_http_ipng_stats_worker_user(ngx_conf_t *cf,
    ngx_http_ipng_stats_user_t *user);
static void ngx_http_ipng_stats_save_env(void) __attribute__((constructor));
static void ngx_http_ipng_stats_free_env(void) __attribute__((destructor));
static ngx_int_t ngx_http_ipng_stats_find_libjvm(ngx_conf_t *cf,
    ngx_str_t *home, const char *from, ngx_str_t *libjvm);
static ngx_int_t ngx_http_ipng_stats_usable(const char *path,
    ngx_http_ipng_stats_user_t *user, const char **why);
static mode_t ngx_http_ipng_stats_access(struct stat *st,
    ngx_http_ipng_stats_user_t *user);
static char *ngx_http_ipng_stats_cds_archive(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char **archive);
static char *ngx_http_ipng_stats_jvm_try(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char *jar, char *archive);
static ngx_int_t ngx_http_ipng_stats_check_run(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char *java, char *jar, ngx_uint_t archive, u_char *out, size_t size);
static ngx_int_t ngx_http_ipng_stats_run(ngx_conf_t *cf,
    ngx_http_ipng_stats_user_t *user, char **argv, u_char *out, size_t size);


/* $JAVA_HOME and $PATH as nginx was started with them, or NULL */
static char  *ngx_http_ipng_stats_java_home;
static char  *ngx_http_ipng_stats_path;


static const char  *ngx_http_ipng_stats_libjvm_paths[] = {
    "/lib/server/libjvm.so",
    "/jre/lib/server/libjvm.so",
    "/jre/lib/amd64/server/libjvm.so",
    "/lib/aarch64/server/libjvm.so",
    NULL
};


char *
ngx_http_ipng_stats_jvm_check(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    char                        *archive;
    u_char                      *p;
    ngx_str_t                    home;
    const char                  *why;
    ngx_http_ipng_stats_user_t   user;

    if (smcf->jvm.len) {
        home = smcf->jvm;

    } else {
        home.data = (u_char *) ngx_http_ipng_stats_java_home;
        home.len = home.data ? ngx_strlen(home.data) : 0;
    }

    if (ngx_http_ipng_stats_find_libjvm(cf, &home,
                                        smcf->jvm.len ? "ipng_stats_jvm"
                                                      : "$JAVA_HOME",
                                        &smcf->libjvm)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the stats process loads the JVM after setuid(): check as that user */

    ngx_http_ipng_stats_worker_user(cf, &user);

    if (ngx_http_ipng_stats_usable((char *) smcf->libjvm.data, &user, &why)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: the JVM library \"%V\" %s",
                           &smcf->libjvm, why);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, smcf->classpath.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(p, smcf->classpath.data, smcf->classpath.len + 1);

    if (ngx_http_ipng_stats_usable((char *) p, &user, &why) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: the jar \"%V\" %s; set "
                           "\"ipng_stats_classpath\" to the ipng-stats.jar "
                           "that belongs to this module",
                           &smcf->classpath, why);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ipng_stats_cds_archive(cf, smcf, &user, &archive)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_ipng_stats_jvm_try(cf, smcf, &user, (char *) p, archive);
}


/*
 * Runs when "load_module" loads this library, before any configuration
 * block, so before another module can replace environ.  A reload finds
 * the library loaded and these kept.
 */

static void
ngx_http_ipng_stats_save_env(void)
{
    char  *v;

    v = getenv("JAVA_HOME");
    ngx_http_ipng_stats_java_home = v ? strdup(v) : NULL;

    v = getenv("PATH");
    ngx_http_ipng_stats_path = v ? strdup(v) : NULL;
}


static void
ngx_http_ipng_stats_free_env(void)
{
    free(ngx_http_ipng_stats_java_home);
    free(ngx_http_ipng_stats_path);
}


/*
 * The workers' user: "user" if given, else nginx's default user when the
 * master is root (what ngx_core_module will set), else the current one.
 */

static void
ngx_http_ipng_stats_worker_user(ngx_conf_t *cf,
    ngx_http_ipng_stats_user_t *user)
{
    u_char           *name;
    size_t            len;
    struct group     *grp;
    struct passwd    *pwd;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    user->uid = geteuid();
    user->gid = getegid();
    user->name = NULL;

    if (ccf->user != (uid_t) NGX_CONF_UNSET_UINT) {
        user->uid = ccf->user;
        user->gid = ccf->group;
        user->name = ccf->username;

    } else if (user->uid == 0) {
        pwd = getpwnam(NGX_USER);
        grp = getgrnam(NGX_GROUP);

        if (pwd && grp) {
            user->uid = pwd->pw_uid;
            user->gid = grp->gr_gid;
            user->name = NGX_USER;
        }
    }

    /* running as root, the workers setuid() to another user: a boundary */

    user->drop = (geteuid() == 0 && user->uid != 0);

    if (user->name == NULL) {
        pwd = getpwuid(user->uid);

        if (pwd) {
            len = ngx_strlen(pwd->pw_name) + 1;
            name = ngx_pnalloc(cf->pool, len);

            if (name) {
                ngx_memcpy(name, pwd->pw_name, len);
                user->name = (char *) name;
            }
        }
    }

    user->ngroups = NGX_HTTP_IPNG_STATS_MAX_GROUPS;

    if (user->name == NULL
        || getgrouplist(user->name, user->gid, user->groups, &user->ngroups)
           == -1)
    {
        user->groups[0] = user->gid;
        user->ngroups = 1;
    }
}


/*
 * The class data archive to try: "ipng_stats_cds_archive" if set (an
 * unreadable one is an error), else the jar's path with ".jsa" for ".jar"
 * when that file exists (scripts/cds-archive makes it), else none.  Sets
 * smcf->cds_option to "-XX:SharedArchiveFile=<path>" and *archive to the
 * path in it; jvm_try() takes the option back if the archive does not fit.
 */

static char *
ngx_http_ipng_stats_cds_archive(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char **archive)
{
    u_char       *o, *p;
    ngx_str_t     path;
    const char   *why;
    struct stat   st;

    *archive = NULL;
    path = smcf->cds_archive;

    if (path.data == NULL) {
        path = smcf->classpath;

        if (path.len <= 4
            || ngx_strncmp(path.data + path.len - 4, ".jar", 4) != 0)
        {
            return NGX_CONF_OK;
        }

    } else if (path.len == 3 && ngx_strncmp(path.data, "off", 3) == 0) {
        return NGX_CONF_OK;
    }

    o = ngx_pnalloc(cf->pool, sizeof("-XX:SharedArchiveFile=") + path.len);
    if (o == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(o, "-XX:SharedArchiveFile=",
                   sizeof("-XX:SharedArchiveFile=") - 1);
    (void) ngx_cpystrn(p, path.data, path.len + 1);

    if (smcf->cds_archive.data == NULL) {
        ngx_memcpy(p + path.len - 4, ".jsa", 4);

        if (stat((char *) p, &st) == -1) {
            return NGX_CONF_OK;
        }
    }

    if (ngx_http_ipng_stats_usable((char *) p, user, &why) != NGX_OK) {
        ngx_conf_log_error(smcf->cds_archive.data ? NGX_LOG_EMERG
                                                  : NGX_LOG_WARN, cf, 0,
                           "ipng_stats: the class data archive \"%s\" %s; "
                           "make it with \"cds-archive %V\" (in scripts/ of "
                           "the source, /usr/share/" NGX_HTTP_IPNG_STATS_PKG
                           "/ of the package), or set "
                           "\"ipng_stats_cds_archive off\"",
                           p, why, &smcf->classpath);

        return smcf->cds_archive.data ? NGX_CONF_ERROR : NGX_CONF_OK;
    }

    smcf->cds_option.data = o;
    smcf->cds_option.len = p + path.len - o;
    *archive = (char *) p;

    return NGX_CONF_OK;
}


/*
 * Start the stats process's JVM once, with its options, in a child process:
 * "java <options> -cp <jar> ch.ipng.stats.bridge.Check <layouts>".  A bad
 * option or a jar of another build fails "nginx -t" here instead of
 * turning counting off in the stats process.  With a class data archive,
 * first with it, -Xshare:on and its checksums verified (which fails when
 * the archive belongs to another JVM build or jar, or is damaged); the
 * stats process gets the archive only if that passed, as a JVM that cannot
 * use the archive it is given starts without any.  Skipped (with a notice)
 * when the JVM home has no bin/java.
 */

static char *
ngx_http_ipng_stats_jvm_try(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char *jar, char *archive)
{
    char        *java, *p;
    u_char       out[1024], why[512];
    ngx_uint_t   up;

    /* the launcher: bin/java in a parent directory of libjvm.so */

    java = ngx_pnalloc(cf->temp_pool, smcf->libjvm.len + sizeof("/bin/java"));
    if (java == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn((u_char *) java, smcf->libjvm.data,
                       smcf->libjvm.len + 1);

    for (up = 0; up < 5; up++) {
        p = strrchr(java, '/');
        if (p == NULL || p == java) {
            break;
        }

        ngx_memcpy(p, "/bin/java", sizeof("/bin/java"));

        if (access(java, X_OK) == 0) {
            break;
        }

        *p = '\0';
    }

    if (up == 5 || access(java, X_OK) != 0) {
        ngx_str_null(&smcf->cds_option);

        ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                           "ipng_stats: no bin/java next to \"%V\", the JVM "
                           "options are checked in the stats process only%s",
                           &smcf->libjvm,
                           archive ? ", and the class data archive is not "
                                     "used" : "");
        return NGX_CONF_OK;
    }

    if (archive) {
        if (ngx_http_ipng_stats_check_run(cf, smcf, user, java, jar, 1, why,
                                          sizeof(why))
            == NGX_OK)
        {
            return NGX_CONF_OK;
        }

        ngx_str_null(&smcf->cds_option);
    }

    if (ngx_http_ipng_stats_check_run(cf, smcf, user, java, jar, 0, out,
                                      sizeof(out))
        == NGX_OK)
    {
        if (archive) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "ipng_stats: the class data archive \"%s\" "
                               "does not fit this JVM and jar, or is damaged "
                               "(%s said: %s); "
                               "the stats process starts without it, 30 ms "
                               "slower; make it again with "
                               "\"cds-archive %s\" (in scripts/ of the "
                               "source, /usr/share/" NGX_HTTP_IPNG_STATS_PKG
                               "/ of the package)",
                               archive, java, why, jar);
        }

        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "ipng_stats: the stats process's JVM would not start "
                       "(\"%s ... %s\" said: %s); check "
                       "\"ipng_stats_jvm_options\", \"ipng_stats_jvm\" and "
                       "\"ipng_stats_classpath\"", java,
                       NGX_HTTP_IPNG_STATS_CHECK_CLASS, out);

    return NGX_CONF_ERROR;
}


/*
 * One run of the check: "java <baseline> [smcf->cds_option]
 * <ipng_stats_jvm_options> [-Xshare:on -XX:+VerifySharedSpaces] -cp <jar>
 * Check <layouts>", in the order the stats process gets them.  What it printed
 * goes to out, on one line, "nothing" if it printed nothing.
 */

static ngx_int_t
ngx_http_ipng_stats_check_run(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_user_t *user,
    char *java, char *jar, ngx_uint_t archive, u_char *out, size_t size)
{
    char        *argv[NGX_HTTP_IPNG_STATS_CHECK_ARGS], *p;
    u_char      *nl;
    ngx_int_t    rc;
    ngx_str_t   *opt;
    ngx_uint_t   i, n;

    /* what an allocation failure below leaves for the caller to print */
    (void) ngx_cpystrn(out, (u_char *) "nothing", size);

    n = 0;
    argv[n++] = java;

    for (i = 0; ngx_http_ipng_stats_baseline_options[i]; i++) {
        argv[n++] = (char *) ngx_http_ipng_stats_baseline_options[i];
    }

    if (archive) {
        argv[n++] = (char *) smcf->cds_option.data;
    }

    if (smcf->jvm_options) {
        opt = smcf->jvm_options->elts;

        for (i = 0; i < smcf->jvm_options->nelts
                    && n < NGX_HTTP_IPNG_STATS_CHECK_ARGS - 8; i++)
        {
            argv[n++] = (char *) opt[i].data;
        }
    }

    if (archive) {
        /* and its checksums: the stats process maps it without them */
        argv[n++] = "-Xshare:on";
        argv[n++] = "-XX:+VerifySharedSpaces";
    }

    argv[n++] = "-cp";
    argv[n++] = jar;
    argv[n++] = NGX_HTTP_IPNG_STATS_CHECK_CLASS;

    p = ngx_pnalloc(cf->temp_pool, NGX_INT64_LEN + 1 + NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    argv[n++] = p;
    p = (char *) ngx_sprintf((u_char *) p, "%L%Z",
                             (int64_t) NGX_HTTP_IPNG_STATS_LAYOUT_SIGNATURE);
    argv[n++] = p;
    (void) ngx_sprintf((u_char *) p, "%d%Z",
                       NGX_HTTP_IPNG_STATS_LAYOUT_VERSION);
    argv[n] = NULL;

    ngx_memzero(out, size);

    rc = ngx_http_ipng_stats_run(cf, user, argv, out, size - 1);

    /* the JVM's own words, on one line */

    for (nl = out; *nl; nl++) {
        if (*nl == '\n' || *nl == '\r' || *nl == '\t') {
            *nl = ' ';
        }
    }

    while (nl > out && nl[-1] == ' ') {
        *--nl = '\0';
    }

    if (out[0] == '\0') {
        (void) ngx_cpystrn(out, (u_char *) "nothing", size);
    }

    return rc;
}


static ngx_int_t
ngx_http_ipng_stats_run(ngx_conf_t *cf, ngx_http_ipng_stats_user_t *user,
    char **argv, u_char *out, size_t size)
{
    int            fds[2], status, fd, max;
    pid_t          pid;
    size_t         len;
    ssize_t        n;
    sigset_t       none;
    ngx_msec_t     left;
    struct pollfd  pfd;

    if (pipe(fds) == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "pipe() failed");
        return NGX_ERROR;
    }

    pid = fork();

    if (pid == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "fork() failed");
        close(fds[0]);
        close(fds[1]);
        return NGX_ERROR;
    }

    if (pid == 0) {
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        (void) dup2(fds[1], STDOUT_FILENO);
        (void) dup2(fds[1], STDERR_FILENO);

        /* as the stats process will: the worker user, never root */

        if (user->drop
            && (setgroups(user->ngroups, user->groups) == -1
                || setgid(user->gid) == -1
                || setuid(user->uid) == -1))
        {
            (void) ngx_write_fd(STDERR_FILENO, "cannot switch to the worker "
                                "user", sizeof("cannot switch to the worker "
                                "user") - 1);
            _exit(126);
        }

        (void) chdir("/");

        /* not nginx's listening sockets and log files */

        max = (int) ngx_min(sysconf(_SC_OPEN_MAX), 65536);

        for (fd = STDERR_FILENO + 1; fd < max; fd++) {
            (void) close(fd);
        }

        execv(argv[0], argv);
        _exit(127);
    }

    close(fds[1]);

    len = 0;
    left = NGX_HTTP_IPNG_STATS_CHECK_MS;
    pfd.fd = fds[0];
    pfd.events = POLLIN;

    while (left > 0) {
        if (poll(&pfd, 1, 100) <= 0) {
            left = (left > 100) ? left - 100 : 0;
            continue;
        }

        n = read(fds[0], out + len, size - len);

        if (n <= 0) {
            break;
        }

        len += n;

        if (len == size) {
            /* keep the first words, drain the rest */
            len = size - 1;
        }
    }

    close(fds[0]);

    if (left == 0) {
        (void) kill(pid, SIGKILL);
        ngx_cpystrn(out, (u_char *) "it did not finish in 20 seconds", size);
    }

    while (waitpid(pid, &status, 0) == -1) {
        if (ngx_errno != NGX_EINTR) {
            return NGX_ERROR;
        }
    }

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && left > 0) {
        return NGX_OK;
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_ipng_stats_find_libjvm(ngx_conf_t *cf, ngx_str_t *home,
    const char *from, ngx_str_t *libjvm)
{
    char           *java, *real, *path, *dir, *end;
    size_t          len;
    ngx_str_t       try[3];
    ngx_uint_t      i, j, n;
    ngx_file_info_t fi;

    n = 0;

    if (home->len) {
        try[n++] = *home;

    } else {
        ngx_str_set(&try[n], "/usr/lib/jvm/default-java");
        n++;

        /* the JDK that owns the "java" on PATH */

        path = ngx_http_ipng_stats_path;

        for (dir = path; dir && *dir; dir = end + (*end ? 1 : 0)) {
            end = ngx_strchr(dir, ':');
            if (end == NULL) {
                end = dir + ngx_strlen(dir);
            }

            len = end - dir;

            java = (char *) ngx_pnalloc(cf->temp_pool, len + sizeof("/java"));
            if (java == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf((u_char *) java, "%*s/java%Z", len, dir);

            real = realpath(java, NULL);
            if (real == NULL) {
                continue;
            }

            len = ngx_strlen(real);

            if (len > sizeof("/bin/java") - 1
                && ngx_strcmp(real + len - (sizeof("/bin/java") - 1),
                              "/bin/java") == 0)
            {
                try[n].len = len - (sizeof("/bin/java") - 1);
                try[n].data = ngx_pnalloc(cf->pool, try[n].len);
                if (try[n].data == NULL) {
                    free(real);
                    return NGX_ERROR;
                }

                ngx_memcpy(try[n].data, real, try[n].len);
                n++;
            }

            free(real);
            break;
        }
    }

    for (i = 0; i < n; i++) {

        /* a path to libjvm.so itself */

        path = (char *) ngx_pnalloc(cf->pool, try[i].len + 64);
        if (path == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf((u_char *) path, "%V%Z", &try[i]);

        if (ngx_file_info(path, &fi) == 0 && ngx_is_file(&fi)) {
            libjvm->data = (u_char *) path;
            libjvm->len = ngx_strlen(path);
            return NGX_OK;
        }

        for (j = 0; ngx_http_ipng_stats_libjvm_paths[j]; j++) {
            ngx_sprintf((u_char *) path, "%V%s%Z", &try[i],
                        ngx_http_ipng_stats_libjvm_paths[j]);

            if (ngx_file_info(path, &fi) == 0 && ngx_is_file(&fi)) {
                libjvm->data = (u_char *) path;
                libjvm->len = ngx_strlen(path);
                return NGX_OK;
            }
        }
    }

    if (home->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: no libjvm.so at or under \"%V\" "
                           "(from %s); point \"ipng_stats_jvm\" at a Java "
                           "17+ home or at its lib/server/libjvm.so",
                           home, from);
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: cannot find a JVM (looked at "
                           "$JAVA_HOME, /usr/lib/jvm/default-java and the "
                           "java on PATH); install a Java 17+ runtime "
                           "(apt-get install openjdk-17-jre-headless) or set "
                           "\"ipng_stats_jvm\"");
    }

    return NGX_ERROR;
}


/*
 * Can the worker user read "path", walking every directory on the way as
 * the kernel would?  And, when the workers give up root, can they not
 * write it or replace it (its directory)?  A jar, archive or libjvm the
 * workers can change would run their code in every nginx process that
 * loads the JVM.
 */

static ngx_int_t
ngx_http_ipng_stats_usable(const char *path, ngx_http_ipng_stats_user_t *user,
    const char **why)
{
    char         buf[NGX_MAX_PATH], *p;
    mode_t       need;
    struct stat  st;

    if (stat(path, &st) == -1) {
        *why = "does not exist";
        return NGX_ERROR;
    }

    if (!S_ISREG(st.st_mode)) {
        *why = "is not a regular file";
        return NGX_ERROR;
    }

    if (user->uid == 0) {
        return NGX_OK;
    }

    if (user->drop
        && (st.st_uid == user->uid
            || (ngx_http_ipng_stats_access(&st, user) & S_IWOTH)))
    {
        *why = "can be changed by the worker user; make it owned by root "
               "and not writable by others";
        return NGX_ERROR;
    }

    if (ngx_strlen(path) >= sizeof(buf)) {
        *why = "has too long a path";
        return NGX_ERROR;
    }

    (void) ngx_cpystrn((u_char *) buf, (u_char *) path, sizeof(buf));

    /* the file, then each parent directory */

    need = S_IROTH;
    p = buf + ngx_strlen(buf);

    for ( ;; ) {
        if (stat(buf[0] ? buf : "/", &st) == -1) {
            *why = "cannot be examined";
            return NGX_ERROR;
        }

        if ((ngx_http_ipng_stats_access(&st, user) & need) != need) {
            *why = (need == S_IROTH)
                   ? "is not readable by the worker user"
                   : "is in a directory the worker user cannot enter";
            return NGX_ERROR;
        }

        if (p == buf) {
            break;
        }

        while (p > buf && *p != '/') {
            p--;
        }

        *p = '\0';

        if (need == S_IROTH && user->drop) {

            /* its own directory: there the workers could replace it */

            if (stat(buf[0] ? buf : "/", &st) == 0
                && (ngx_http_ipng_stats_access(&st, user) & S_IWOTH)
                && !(st.st_mode & S_ISVTX))
            {
                *why = "is in a directory the worker user can write, so "
                       "the workers could replace it; make the directory "
                       "owned by root and not writable by others";
                return NGX_ERROR;
            }
        }

        need = S_IXOTH;
    }

    return NGX_OK;
}


/* the rwx bits (as S_I?OTH) that apply to the worker user for "st" */

static mode_t
ngx_http_ipng_stats_access(struct stat *st, ngx_http_ipng_stats_user_t *user)
{
    int  k;

    if (st->st_uid == user->uid) {
        return (st->st_mode >> 6) & 7;
    }

    for (k = 0; k < user->ngroups; k++) {
        if (st->st_gid == user->groups[k]) {
            return (st->st_mode >> 3) & 7;
        }
    }

    return st->st_mode & 7;
}
