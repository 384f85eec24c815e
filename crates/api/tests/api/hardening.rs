//! The HTTP edge against hostile clients, over real sockets: slow heads and bodies and idle
//! connections are cut, connection caps refuse at once and leave room for others, rate limits
//! follow the real client behind a trusted proxy and survive a flood of addresses, every error
//! is problem+json, pages carry their security headers, `/metrics` needs its token. These
//! scenarios touch no table, so they run on SQLite only. No sleeps: a read with a timeout is
//! how a test waits for the server to act.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{Answer, Db, GATEWAY, METRICS, Method, TestApp, spawn, spawn_with};

/// Longer than any limit under test: a server that does not act within it has failed.
const PATIENCE_MS: u64 = 5_000;
/// How long the slow client waits for the server between two bytes.
const DRIP_MS: u64 = 100;
/// A short limit, so a test sees it enforced quickly.
const SHORT_TIMEOUT_MS: u64 = 300;

fn addr(t: &TestApp) -> SocketAddr {
    t.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the server from the local address `from` (any 127/8 address is this host).
async fn connect_from(t: &TestApp, from: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((IpAddr::from(from), 0)))
        .unwrap();
    socket.connect(addr(t)).await.unwrap()
}

/// Reads until the server closes the connection; `None` if it is still open after `PATIENCE_MS`.
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(PATIENCE_MS);
    loop {
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&received).into()),
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One request on its own connection from `from`, the answer read whole.
async fn exchange(t: &TestApp, from: [u8; 4], request: &str) -> String {
    let mut stream = connect_from(t, from).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    read_to_close(&mut stream)
        .await
        .expect("the server answers and closes")
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nhost: smsbus\r\nconnection: close\r\n\r\n";

async fn health_from(t: &TestApp, from: [u8; 4]) -> String {
    exchange(t, from, HEALTH).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_cut_off_while_others_are_answered() {
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.header_read_timeout_ms = SHORT_TIMEOUT_MS;
    })
    .await;
    let mut slow = connect_from(&t, [127, 0, 0, 1]).await;
    let head = b"GET /health HTTP/1.1\r\nhost: smsbus\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let started = Instant::now();
    let mut cut_off = false;
    for (sent, byte) in head.iter().enumerate() {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        if sent == 0 {
            // While the slow client holds its connection, a normal request is answered.
            t.call(Method::GET, "/health").expect(200).await;
        }
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(DRIP_MS), slow.read(&mut buffer)).await {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut_off = true;
                break;
            }
            // A 408 before the close is fine; the close must follow.
            Ok(Ok(_)) => {
                cut_off = read_to_close(&mut slow).await.is_some();
                break;
            }
        }
    }
    assert!(
        cut_off,
        "a head sent a byte per {DRIP_MS} ms was still being read after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_millis(PATIENCE_MS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_request_head_is_refused() {
    let t = spawn(Db::Sqlite).await;
    let padding = "a".repeat(api::REQUEST_HEAD_BYTES_MAX);
    let answer = exchange(
        &t,
        [127, 0, 0, 1],
        &format!("GET /health HTTP/1.1\r\nhost: smsbus\r\nx-padding: {padding}\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.header_read_timeout_ms = SHORT_TIMEOUT_MS;
    })
    .await;
    let mut stream = connect_from(&t, [127, 0, 0, 1]).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: smsbus\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).ends_with("\r\n\r\nok") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_millis(PATIENCE_MS), stream.read(&mut chunk))
            .await
            .expect("the answer comes")
            .unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
    }
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // The connection stays open for keep-alive, but not for ever.
    assert!(
        read_to_close(&mut stream).await.is_some(),
        "an idle keep-alive connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_cut() {
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.body_read_timeout_ms = SHORT_TIMEOUT_MS;
    })
    .await;
    let mut stream = connect_from(&t, [127, 0, 0, 1]).await;
    stream
        .write_all(b"POST /v1/auth/code HTTP/1.1\r\nhost: smsbus\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n{\"phone\":")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream)
        .await
        .expect("a trickling body holds the connection");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_holding_its_connections_does_not_stop_others() {
    const PER_CLIENT: usize = 3;
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.connections_per_client_max = PER_CLIENT;
        s.connections.connections_max = 10;
        // The held connections send nothing: on a loaded machine the default wait for a
        // request head could free them before the checks below, so it is long here.
        s.connections.header_read_timeout_ms = 120_000;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..PER_CLIENT {
        idle.push(connect_from(&t, [127, 0, 0, 1]).await);
    }
    // The excess connections are refused at once, with a problem and a Retry-After.
    for _ in 0..3 {
        let refused = health_from(&t, [127, 0, 0, 1]).await;
        assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
        assert!(refused.contains("retry-after: 1"), "{refused}");
        assert!(refused.contains("\"code\":\"RATE_LIMITED\""), "{refused}");
    }
    // Another client is answered meanwhile.
    let other = health_from(&t, [127, 0, 0, 2]).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // Once the idle ones close, the client is answered again (the server frees the slots as
    // it sees each close, so the first tries may still be refused).
    drop(idle);
    let deadline = Instant::now() + Duration::from_millis(PATIENCE_MS);
    loop {
        let answer = health_from(&t, [127, 0, 0, 1]).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_overall_cap_new_connections_are_refused_not_left_waiting() {
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.connections_max = 2;
    })
    .await;
    let first = connect_from(&t, [127, 0, 0, 1]).await;
    let _second = connect_from(&t, [127, 0, 0, 3]).await;
    let refused = health_from(&t, [127, 0, 0, 2]).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    drop(first);
    let deadline = Instant::now() + Duration::from_millis(PATIENCE_MS);
    while !health_from(&t, [127, 0, 0, 2])
        .await
        .starts_with("HTTP/1.1 200")
    {
        assert!(Instant::now() < deadline, "a freed slot was not reused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_connection() {
    let t = spawn_with(Db::Sqlite, |s| {
        s.connections.write_stall_timeout_ms = SHORT_TIMEOUT_MS;
        s.connections.connections_per_client_max = 1;
    })
    .await;
    // Far more answer than the socket buffers hold, asked for and never read.
    let stream = connect_from(&t, [127, 0, 0, 1]).await;
    let (_reader, mut writer) = stream.into_split();
    let request = "GET /openapi.json HTTP/1.1\r\nhost: smsbus\r\n\r\n".repeat(4_000);
    let asking = tokio::spawn(async move {
        // The server stops reading once its answers are stuck, so this may never finish.
        let written = writer.write_all(request.as_bytes()).await;
        (writer, written)
    });
    // While the stuck connection holds the client's one slot, the client is refused; once
    // the server gives up on it, the client is answered again.
    let deadline = Instant::now() + Duration::from_millis(PATIENCE_MS);
    loop {
        let answer = health_from(&t, [127, 0, 0, 1]).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a client that stopped reading still holds its connection"
        );
    }
    asking.abort();
}

/// A server behind a trusted proxy on 127.0.0.1: two requests of burst, one a second after.
async fn behind_proxy(clients_max: usize) -> TestApp {
    spawn_with(Db::Sqlite, |s| {
        s.rate_per_s = 1;
        s.rate_burst = 2;
        s.rate_clients_max = clients_max;
        s.trusted_proxies = api::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await
}

async fn status_for(t: &TestApp, forwarded_for: &str) -> Answer {
    t.call(Method::GET, "/health")
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let t = behind_proxy(api::RATE_CLIENTS_MAX).await;
    for _ in 0..2 {
        assert_eq!(status_for(&t, "203.0.113.5").await.status, 200);
    }
    let limited = status_for(&t, "203.0.113.5").await.expect(429);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(limited.body["code"], "RATE_LIMITED");
    // Another passenger behind the same proxy is not limited by the first.
    assert_eq!(status_for(&t, "203.0.113.6").await.status, 200);
    // What the client wrote left of the proxy's entry proves nothing.
    assert_eq!(status_for(&t, "9.9.9.9, 203.0.113.5").await.status, 429);
    // The clock gives the limited client a token back.
    t.clock.advance_ms(1_000);
    assert_eq!(status_for(&t, "203.0.113.5").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let t = behind_proxy(api::RATE_CLIENTS_MAX).await;
    let untrusted = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for n in 0..3 {
        let response = t
            .call_from(&untrusted, Method::GET, "/health")
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .send()
            .await;
        statuses.push(response.status);
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_addresses_does_not_reset_a_limited_client() {
    let t = behind_proxy(4).await;
    for _ in 0..2 {
        assert_eq!(status_for(&t, "203.0.113.5").await.status, 200);
    }
    assert_eq!(status_for(&t, "203.0.113.5").await.status, 429);
    for n in 0..40 {
        status_for(&t, &format!("198.51.100.{n}")).await;
    }
    assert_eq!(
        status_for(&t, "203.0.113.5").await.status,
        429,
        "the flood reset the limited client's bucket"
    );
    // Once the buckets have refilled, forgetting them loses nothing and newcomers get in.
    t.clock.advance_ms(10_000);
    assert_eq!(status_for(&t, "192.0.2.1").await.status, 200);
}

fn assert_problem(answer: &Answer, what: &str) {
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_problem_json_with_a_stable_code() {
    let t = spawn(Db::Sqlite).await;
    let cases = [
        (
            "a path id that is not a number",
            t.call(Method::POST, "/v1/sms/outbox/abc/sent")
                .token(GATEWAY),
            400,
            "BAD_REQUEST",
        ),
        (
            "a path that is not UTF-8",
            t.call(Method::GET, "/t/%FF%FE"),
            400,
            "BAD_REQUEST",
        ),
        (
            "a body that is not UTF-8",
            t.call(Method::PUT, "/v1/admin/catalogue")
                .token(&t.admin)
                .body(vec![0xFF, 0xFE, 0x00]),
            400,
            "BAD_REQUEST",
        ),
        (
            "a JSON syntax error",
            t.call(Method::POST, "/v1/auth/code")
                .header("content-type", "application/json")
                .body("{\"phone\":"),
            400,
            "BAD_REQUEST",
        ),
        (
            "JSON without a content type",
            t.call(Method::POST, "/v1/auth/code")
                .body("{\"phone\":\"+77011234567\"}"),
            400,
            "BAD_REQUEST",
        ),
        (
            "a method the path does not take",
            t.call(Method::DELETE, "/health"),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "no such path",
            t.call(Method::GET, "/nowhere"),
            404,
            "NOT_FOUND",
        ),
        (
            "no credential",
            t.call(Method::GET, "/v1/admin/ledger"),
            401,
            "UNAUTHORIZED",
        ),
    ];
    for (what, call, status, code) in cases {
        let response = call.send().await;
        assert_eq!(response.status, status, "{what}");
        assert_problem(&response, what);
        let body = &response.body;
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(body["message"].is_string(), "{what}: {body}");
    }
    // A body over the limit: the server stops reading at the limit and answers. The client
    // reads while it sends, so it sees the answer before the close.
    let mut stream = connect_from(&t, [127, 0, 0, 1]).await;
    let length = 5 * 1024 * 1024;
    let admin = &t.admin;
    let head = format!(
        "PUT /v1/admin/catalogue HTTP/1.1\r\nhost: smsbus\r\nauthorization: Bearer {admin}\r\nconnection: close\r\ncontent-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..length / chunk.len() {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        writer
    });
    let mut received = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_millis(PATIENCE_MS),
        reader.read_to_end(&mut received),
    )
    .await
    .expect("the server answers a body over the limit");
    drop(read);
    drop(sender.await.unwrap());
    let too_large = String::from_utf8_lossy(&received);
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");
    assert!(
        too_large.contains("content-type: application/problem+json"),
        "{too_large}"
    );
    assert!(
        too_large.contains("\"code\":\"BODY_TOO_LARGE\""),
        "{too_large}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_their_security_headers_and_every_answer_nosniff() {
    let t = spawn(Db::Sqlite).await;
    let page = t.call(Method::GET, "/t/no-such-ticket").send().await;
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let headers = &page.headers;
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let json = t.call(Method::GET, "/v1/cities").send().await.expect(200);
    assert_eq!(json.headers["x-content-type-options"], "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_their_token_and_401s_say_how_to_authenticate() {
    let t = spawn(Db::Sqlite).await;
    let anonymous = t.call(Method::GET, "/metrics").send().await.expect(401);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        r#"Bearer realm="smsbus""#
    );
    assert_problem(&anonymous, "/metrics without a token");
    // Another role's token is not the metrics token.
    let wrong = t
        .call(Method::GET, "/metrics")
        .token(&t.admin)
        .send()
        .await
        .expect(401);
    assert_eq!(
        wrong.headers["www-authenticate"],
        r#"Bearer realm="smsbus", error="invalid_token""#
    );
    // The scheme is matched in any case.
    let metrics = t
        .call(Method::GET, "/metrics")
        .header("authorization", format!("bearer {METRICS}"))
        .send()
        .await
        .expect(200);
    assert!(metrics.text().contains("smsbus_http_requests_total"));
    t.call(Method::GET, "/v1/controller/invalidations")
        .header("authorization", format!("BEARER {}", t.controller))
        .expect(200)
        .await;
    // A passenger endpoint without a session says the same.
    let passenger = t
        .call(Method::GET, "/v1/tickets/valid")
        .send()
        .await
        .expect(401);
    assert!(passenger.headers.contains_key("www-authenticate"));
}
