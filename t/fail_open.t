# A JVM that cannot start in a worker never takes nginx down: traffic is
# served, one alert says why, the scrape answers 503 with the reason.
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: an invalid JVM option: traffic served, scrape 503 with the reason
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options -XX:+NoSuchOptionAnywhere;
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
counting is off in this worker



=== TEST 2: a jar that is not the module's: traffic served, scrape 503
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_classpath $TEST_NGINX_IPNG_MODULE;
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
class ch/ipng/stats/bridge/NativeBridge not found
--- error_log
counting is off in this worker



=== TEST 3: a JVM that exits the worker while starting: bounded respawns, then counting off
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options -Xmx1k;
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
JVM starts did not finish
--- error_log
Error occurred during initialization of VM
exited with code 1
