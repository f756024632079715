# What can be checked at "nginx -t" is checked there (the stats process's
# JVM is started once, with its options, in a child of the master). What
# can only fail in the stats process never takes nginx down: traffic is
# served, one alert says why, the scrape answers 503 with the reason and
# Retry-After, and a JVM that kills the stats process while starting does
# not put the master in a respawn loop.
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: an invalid JVM option fails nginx -t with the JVM's own words
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options -XX:+NoSuchOptionAnywhere;
--- must_die
--- error_log
the stats process's JVM would not start
Unrecognized VM option 'NoSuchOptionAnywhere'



=== TEST 2: a JVM option the JVM rejects at start-up fails nginx -t
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options -Xmx1k;
--- must_die
--- error_log
Initial heap size set to a larger value than the maximum heap size



=== TEST 3: a jar that is not the module's fails nginx -t
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_classpath $TEST_NGINX_IPNG_MODULE;
--- must_die
--- error_log
the stats process's JVM would not start
ch.ipng.stats.bridge.Check



=== TEST 4: a JVM that fails in the stats process only: traffic served, scrape 503 with the reason
--- main_config
    env JAVA_TOOL_OPTIONS=-Xss1k;
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
    location / { return 200 "still serving\n"; }
--- pipelined_requests
GET /
GET /status
--- error_code
200
503
--- response_body_like
^ipng_stats: counting is off: JNI_CreateJavaVM\(.*\) failed
--- error_log
[alert]
ipng_stats: counting is off: JNI_CreateJavaVM



=== TEST 5: a JVM that ends the stats process while starting: bounded respawns, then counting off
--- main_config
    env "_JAVA_OPTIONS=-Xshare:on -XX:SharedArchiveFile=/nonexistent.jsa";
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
    location / { return 200 "ok\n"; }
--- shell
sleep 2
--- pipelined_requests
GET /
GET /status
--- error_code
200
503
--- response_body_like
the JVM ended the stats process 3 times while starting
--- error_log
Error occurred during initialization of VM
exited with code 1
