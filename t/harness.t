# Self-test of the nginx-test harness (nginx-test/README.md): stock nginx
# only, no ipng module.  Run: mvn -pl nginx-test test -Dipng.t.filter=harness
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: a plain return with its exact body
--- no_module
--- config
    location /t {
        return 200 "hello";
    }
--- request
GET /t
--- error_code: 200
--- response_body chomp
hello
--- response_headers
Content-Type: text/plain
!X-Not-There
--- no_error_log
[error]
[warn]



=== TEST 2: default error_code is 200; body with its trailing newline
--- no_module
--- config
    location /t {
        return 200 "line one\nline two\n";
    }
--- request
GET /t
--- response_body
line one
line two



=== TEST 3: error_code, body regexes, header regexes
--- no_module
--- config
    location /gone {
        add_header X-Reason "test-$request_method" always;
        return 404 "not here\n";
    }
--- request
GET /gone
--- error_code
404
--- response_body_like
^not here$
--- response_body_unlike: ^hello
--- response_headers_like
X-Reason: ^test-GET$
Server: ^nginx



=== TEST 4: a POST body and more_headers reach nginx
--- no_module
--- http_config
    log_format t '$request_method $request_length $http_x_test "$http_user_agent"';
--- config
    location /p {
        access_log logs/t.log t;
        return 200 "ua=$http_user_agent x=$http_x_test len=$content_length\n";
    }
--- more_headers
X-Test: abc
User-Agent: harness/1
--- request
POST /p
hello body
--- response_body
ua=harness/1 x=abc len=10



=== TEST 5: pipelined requests on one keep-alive connection
--- no_module
--- config
    location /a { return 200 "a:$connection:$connection_requests\n"; }
    location /b { return 201 "b:$connection:$connection_requests\n"; }
--- pipelined_requests
GET /a
GET /a
GET /b
--- error_code
200 200 201
--- response_body_like: ^b:\d+:3$



=== TEST 6: pipelined requests, a single error_code applies to the last response
--- no_module
--- config
    location /a { return 200 "a"; }
    location /c { return 204; }
--- pipelined_requests
GET /a
GET /c
--- error_code: 204
--- response_body chomp



=== TEST 7: must_die: nginx -t fails and error_log matches its output
--- no_module
--- config
    location /t {
        no_such_directive on;
    }
--- must_die
--- error_log
unknown directive "no_such_directive"
[emerg]



=== TEST 8: load_module in main_config (the echo module) and worker count
--- no_module
--- main_config
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
--- workers: 3
--- config
    location /echo {
        echo "echo says $arg_x";
    }
--- request
GET /echo?x=42
--- response_body
echo says 42



=== TEST 9: pre_requests and the access log, checked from shell
--- no_module
--- config
    location /pre { return 200 "pre\n"; }
    location /t { return 200 "t\n"; }
--- pre_requests
GET /pre x3
GET /pre x4 keepalive
--- shell
test "$(grep -c 'GET /pre ' "$TEST_NGINX_PREFIX/logs/access.log")" = 7
test -n "$TEST_NGINX_SERVER_PORT"
curl -sf "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t" | grep -x t >/dev/null
--- request
GET /t
--- response_body
t



=== TEST 10: shell reload: new workers serve the new config
--- no_module
--- config
    location /v { return 200 "v1\n"; }
--- shell
sed -i 's/"v1\\n"/"v2\\n"/' "$TEST_NGINX_PREFIX/conf/nginx.conf"
"$TEST_NGINX_BINARY" -p "$TEST_NGINX_PREFIX/" -c conf/nginx.conf -s reload
for i in $(seq 100); do
    [ "$(curl -s "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/v")" = v2 ] && exit 0
    sleep 0.05
done
exit 1
--- request
GET /v
--- response_body
v2
--- error_log
signal 1 (SIGHUP) received
--- no_error_log
[alert]



=== TEST 11: error_log lines as substrings and qr// regexes, with wait
--- no_module
--- config
    location /missing { root $TEST_NGINX_HTML_DIR; }
--- request
GET /missing/file.html
--- error_code: 404
--- wait: 0.1
--- timeout: 5
--- error_log
open()
qr/\[error\] \d+#\d+: \*\d+ open\(\) ".*missing\/file\.html" failed/
--- no_error_log
[crit]



=== TEST 12: static files from $TEST_NGINX_HTML_DIR written by shell
--- no_module
--- config
    location / { root $TEST_NGINX_HTML_DIR; }
--- shell
printf 'static\n' > "$TEST_NGINX_HTML_DIR/s.txt"
--- request
GET /s.txt
--- response_body
static
--- response_headers
Content-Length: 7



=== TEST 13: HTTP/2 with prior knowledge through curl
--- no_module
--- http2
--- config
    location /h { return 200 "proto=$server_protocol\n"; }
--- request
GET /h
--- response_body
proto=HTTP/2.0



=== TEST 14: a chunked response is decoded
--- no_module
--- main_config
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
--- config
    location /c {
        echo "part one";
        echo_flush;
        echo "part two";
    }
--- request
GET /c
--- response_headers
Transfer-Encoding: chunked
--- response_body
part one
part two
