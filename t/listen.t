# listen device= and ipng_source_tag=: parsing, tags, $ipng_source_tag and
# the nginx -t errors. Real multi-interface traffic is in
# nginx-test/.../scenario/ListenAttributionTest (network namespaces).
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: ipng_source_tag= tags a listener; $ipng_source_tag in a header and in the counters
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_flush_interval 100ms;
--- config
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 ipng_source_tag=public;
    add_header X-Source $ipng_source_tag always;
    location /status { ipng_stats; }
    location / { return 200 "tag=$ipng_source_tag\n"; }
--- shell
curl -s -o /dev/null http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/a
curl -s -o /dev/null http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/b
sleep 0.5
--- request
GET /status
--- response_headers
X-Source: direct
--- response_body_like
^nginx_ipng_requests_total\{source_tag="public",vip="127\.0\.0\.1",code="200",\} 2\.0$



=== TEST 2: device= binds the socket; the tag defaults to the device name
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo;
    location / { return 200 "tag=$ipng_source_tag\n"; }
    location ~ \.txt$ { }
--- shell
curl -s http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/ > $TEST_NGINX_PREFIX/html/lo.txt
ss -ltn | grep "127.0.0.1%lo:$TEST_NGINX_SERVER_PORT2" >/dev/null && echo bound >> $TEST_NGINX_PREFIX/html/lo.txt
--- request
GET /lo.txt
--- response_body
tag=lo
bound



=== TEST 3: standard listen parameters pass through (default_server, backlog=, ipv6)
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 default_server backlog=64 device=lo ipng_source_tag=loop;
    listen [::1]:$TEST_NGINX_SERVER_PORT2 ipng_source_tag=v6;
    location / { return 200 "tag=$ipng_source_tag\n"; }
    location ~ \.txt$ { }
--- shell
curl -s http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/ > $TEST_NGINX_PREFIX/html/t.txt
curl -s -g "http://[::1]:$TEST_NGINX_SERVER_PORT2/" >> $TEST_NGINX_PREFIX/html/t.txt
--- request
GET /t.txt
--- response_body
tag=loop
tag=v6



=== TEST 4: an interface name longer than 15 characters
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 8080 device=abcdefghijklmnop;
--- must_die
--- error_log
interface name "abcdefghijklmnop" in "device=" is longer than 15 characters



=== TEST 5: an empty device=
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 8080 device=;
--- must_die
--- error_log
"listen" directive has an empty "device=" parameter



=== TEST 6: an empty ipng_source_tag=
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 8080 ipng_source_tag=;
--- must_die
--- error_log
"listen" directive has an empty "ipng_source_tag=" parameter



=== TEST 7: a device that does not exist (bind mode)
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 8080 device=nosuchdev0;
--- must_die
--- error_log
device "nosuchdev0" of "listen" in
does not exist



=== TEST 8: the same address and device with two different tags
--- http_config
    ipng_stats_zone ipng:1m;
    server { listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo ipng_source_tag=a; }
--- config
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo ipng_source_tag=b;
--- must_die
--- error_log
tags device "lo" "b", but
tags the same address and device "a"



=== TEST 9: device= on a unix socket
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen unix:/tmp/ipng-test.sock device=lo;
--- must_die
--- error_log
"device=lo" cannot be used with the unix socket "unix:/tmp/ipng-test.sock"



=== TEST 10: the same include of listens in many servers is fine
--- http_config
    ipng_stats_zone ipng:1m;
    server { server_name a; listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo; }
    server { server_name b; listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo; }
--- config
    location / { return 200 "ok\n"; }
    location ~ \.txt$ { }
--- shell
test "$(ss -ltn | grep -c ":$TEST_NGINX_SERVER_PORT2 ")" = 1 && echo one > $TEST_NGINX_PREFIX/html/n.txt
--- request
GET /n.txt
--- response_body
one



=== TEST 11: device= with reuseport in bind mode is refused with a hint
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 reuseport device=lo;
--- must_die
--- error_log
cannot be combined with "reuseport"



=== TEST 12: a tag on an address that the port's wildcard socket serves applies to that address
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_flush_interval 100ms;
--- config
    listen $TEST_NGINX_SERVER_PORT2;
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 ipng_source_tag=a;
    location / { return 200 "tag=$ipng_source_tag\n"; }
    location /status { ipng_stats; }
--- shell
curl -s http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/ > $TEST_NGINX_PREFIX/html/t
curl -s http://127.0.0.2:$TEST_NGINX_SERVER_PORT2/ >> $TEST_NGINX_PREFIX/html/t
curl -s http://127.0.0.1:$TEST_NGINX_SERVER_PORT2/ >> $TEST_NGINX_PREFIX/html/t
test "$(cat $TEST_NGINX_PREFIX/html/t | tr '\n' ' ')" = "tag=a tag=direct tag=a "
sleep 0.5
--- request
GET /status
--- response_body_like
nginx_ipng_requests_total\{source_tag="a",vip="127\.0\.0\.1",code="200",\} 2\.0
nginx_ipng_requests_total\{source_tag="direct",vip="127\.0\.0\.2",code="200",\} 1\.0



=== TEST 13: device= on an address that the port's wildcard socket serves is refused with a hint
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    listen $TEST_NGINX_SERVER_PORT2;
    listen 127.0.0.1:$TEST_NGINX_SERVER_PORT2 device=lo;
--- must_die
--- error_log
is served by the wildcard socket of its port
put "device=lo" on the wildcard "listen" of the port instead
