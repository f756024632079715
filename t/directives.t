# Every directive's bad values fail "nginx -t" with a message naming the value.
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: the zone is mandatory once the module is used
--- config
    location /status { ipng_stats; }
--- must_die
--- error_log
"ipng_stats_zone" is missing



=== TEST 2: a loaded but unused module is inert
--- config
    location / { return 200 "plain\n"; }
--- request
GET /
--- response_body
plain
--- no_error_log
ipng_stats



=== TEST 3: zone without a size
--- http_config
    ipng_stats_zone ipng;
--- must_die
--- error_log
invalid zone "ipng" in "ipng_stats_zone", it must be "name:size"



=== TEST 4: zone too small
--- http_config
    ipng_stats_zone ipng:64k;
--- must_die
--- error_log
zone "ipng" is too small: "64k"



=== TEST 5: zone declared twice
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_zone other:1m;
--- must_die
--- error_log
"ipng_stats_zone" directive is duplicate



=== TEST 6: flush interval under the minimum
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_flush_interval 50ms;
--- must_die
--- error_log
"50ms" of "ipng_stats_flush_interval" is below the minimum of 100ms



=== TEST 7: buckets not strictly increasing
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_buckets 1 10 10 100;
--- must_die
--- error_log
bucket bound "10" in "ipng_stats_buckets" is not greater than the one before it



=== TEST 8: a bucket that is not a positive integer
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_buckets 1 5ms 10;
--- must_die
--- error_log
invalid bucket bound "5ms" in "ipng_stats_buckets"



=== TEST 9: one bucket is not enough
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_buckets 100;
--- must_die
--- error_log
invalid number of arguments in "ipng_stats_buckets" directive



=== TEST 10: a bad ipng_stats flag
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    ipng_stats maybe;
--- must_die
--- error_log
invalid value "maybe" in "ipng_stats" directive, it must be "on" or "off"



=== TEST 11: the scrape handler outside a location
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    ipng_stats;
--- must_die
--- error_log
"ipng_stats;" (the scrape handler) is only allowed in a location



=== TEST 12: the scrape handler beside proxy_pass, in either order
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /a { ipng_stats; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
cannot share a location with another content handler



=== TEST 13: the scrape handler after proxy_pass
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /a { proxy_pass http://127.0.0.1:1; ipng_stats; }
--- must_die
--- error_log
cannot share a location with another content handler



=== TEST 14: the jar must exist
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_classpath /nonexistent/ipng-stats.jar;
--- must_die
--- error_log
the jar "/nonexistent/ipng-stats.jar" does not exist



=== TEST 15: the JVM must exist
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm /nonexistent/jdk;
--- must_die
--- error_log
no libjvm.so at or under "/nonexistent/jdk"



=== TEST 16: an empty default source
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_default_source "";
--- must_die
--- error_log
"ipng_stats_default_source" directive must not be empty



=== TEST 17: a status-code mode that does not exist
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_status_codes fuzzy;
--- must_die
--- error_log
invalid value "fuzzy"



=== TEST 18: JVM options start with a dash
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options Xmx64m;
--- must_die
--- error_log
invalid JVM option "Xmx64m" in "ipng_stats_jvm_options"



=== TEST 19: http-level directives are not allowed in a server
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    ipng_stats_flush_interval 1s;
--- must_die
--- error_log
"ipng_stats_flush_interval" directive is not allowed here



=== TEST 20: the JVM given as a JAVA_HOME works
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm /usr/lib/jvm/java-17-openjdk-amd64;
--- config
    location /status { ipng_stats; }
--- request
GET /status
--- error_log
ipng_stats: JVM started in



=== TEST 21: more JVM options than a worker takes are an error, not silently dropped
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_jvm_options -Dipng.t.o0=1 -Dipng.t.o1=1 -Dipng.t.o2=1 -Dipng.t.o3=1 -Dipng.t.o4=1 -Dipng.t.o5=1 -Dipng.t.o6=1 -Dipng.t.o7=1 -Dipng.t.o8=1 -Dipng.t.o9=1 -Dipng.t.o10=1 -Dipng.t.o11=1 -Dipng.t.o12=1 -Dipng.t.o13=1 -Dipng.t.o14=1 -Dipng.t.o15=1 -Dipng.t.o16=1 -Dipng.t.o17=1 -Dipng.t.o18=1 -Dipng.t.o19=1 -Dipng.t.o20=1 -Dipng.t.o21=1 -Dipng.t.o22=1 -Dipng.t.o23=1 -Dipng.t.o24=1;
    ipng_stats_jvm_options -Dipng.t.p0=1 -Dipng.t.p1=1 -Dipng.t.p2=1 -Dipng.t.p3=1 -Dipng.t.p4=1 -Dipng.t.p5=1 -Dipng.t.p6=1 -Dipng.t.p7=1 -Dipng.t.p8=1 -Dipng.t.p9=1 -Dipng.t.p10=1 -Dipng.t.p11=1 -Dipng.t.p12=1 -Dipng.t.p13=1 -Dipng.t.p14=1 -Dipng.t.p15=1;
--- must_die
--- error_log
too many JVM options at "-Dipng.t.p15=1" in "ipng_stats_jvm_options": at most 40 in all
