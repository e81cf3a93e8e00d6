//! Bad input of every shape gets a 4xx problem and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, read};
use crate::http_tests;

http_tests! {
    async fn a_nul_character_is_refused_everywhere_alike(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let refused = app.patch(&org, &ada.access, json!({ "settings": { "theme": "dark\u{0}" } })).await.expect_problem(400, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "settings.theme");
        app.patch(&org, &ada.access, json!({ "displayName": "A\u{0}B" })).await.expect_problem(400, "validation_failed");

        let lead = app.post("/api/v1/leads", Some(&ada.access), json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hi" })).await.expect(201);
        let lead = format!("/api/v1/leads/{}", lead.body["lead"]["id"].as_str().unwrap());
        let refused = app.patch(&lead, &ada.access, json!({ "metadata": { "tags": ["ok", "bad\u{0}"] } })).await.expect_problem(400, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "metadata.tags[1]");
        app.post("/api/v1/leads", Some(&ada.access), json!({ "email": "x@bigcorp.io", "name": "N\u{0}", "message": "hi" })).await.expect_problem(400, "validation_failed");
        app.get("/api/v1/leads?search=a%00b", &ada.access).await.expect_problem(400, "validation_failed");

        assert_eq!(app.get(&org, &ada.access).await.expect(200).body["settings"], json!({}));
        assert_eq!(app.get(&lead, &ada.access).await.expect(200).body["metadata"], json!({}));
        assert_eq!(app.get("/api/v1/leads", &ada.access).await.expect(200).body["data"].as_array().unwrap().len(), 1);
    }

    async fn malformed_requests_are_problems_that_change_nothing(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let url = format!("{}{path}", app.base);
        let send = |body: reqwest::Body, content_type: &'static str| {
            app.client.patch(&url).bearer_auth(&ada.access).header("content-type", content_type).body(body).send()
        };

        read(send("{not json".into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        read(send("[]".into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        read(send(r#"{"settings": "not an object"}"#.into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        read(send(r#"{"displayName": {"nested": true}}"#.into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        read(send("displayName=x".into(), "application/x-www-form-urlencoded").await.unwrap()).await.expect_problem(415, "unsupported_media_type");
        let overlong = json!({ "displayName": "x".repeat(201) }).to_string();
        read(send(overlong.into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        let big_settings = json!({ "settings": { "blob": "x".repeat(17 * 1024) } }).to_string();
        read(send(big_settings.into(), "application/json").await.unwrap()).await.expect_problem(400, "validation_failed");
        let two_mib = json!({ "displayName": "x".repeat(2 * 1024 * 1024) }).to_string();
        read(send(two_mib.into(), "application/json").await.unwrap()).await.expect_problem(413, "payload_too_large");
        let chunked = chunked_patch(&app, &path, &ada.access).await;
        assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
        assert!(chunked.contains("payload_too_large"));
        app.patch(&path, &ada.access, json!({ "name": "Not A Slug", "displayName": "Changed" })).await.expect_problem(400, "validation_failed");
        app.patch(&path, &ada.access, json!({ "email": "nope", "phone": "call me" })).await.expect_problem(400, "validation_failed");

        let read_back = app.get(&path, &ada.access).await.expect(200);
        assert_eq!(read_back.body["displayName"], "acme Inc");
        assert_eq!(read_back.body["name"], "acme");
        assert_eq!(read_back.body["settings"], json!({}));
    }

    async fn bad_query_and_path_parameters_are_400(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        for query in ["sort=shoe-size", "isActive=maybe", "limit=0", "limit=1000", "limit=-1", "offset=abc"] {
            app.get(&format!("/api/v1/organizations?{query}"), &ada.access).await.expect_problem(400, "validation_failed");
        }
        app.get("/api/v1/organizations/not-a-uuid", &ada.access).await.expect_problem(400, "validation_failed");
        app.get(&format!("/api/v1/organizations?search={}", "x".repeat(101)), &ada.access).await.expect_problem(400, "validation_failed");
    }

    async fn unknown_routes_and_methods_are_problems(app: TestApp) {
        app.call(Method::GET, "/api/v1/nothing-here", None, None).await.expect_problem(404, "not_found");
        let refused = app.call(Method::PUT, "/api/v1/auth/login", None, Some(json!({}))).await.expect_problem(405, "method_not_allowed");
        // RFC 9110: a 405 says which methods the resource has (the most literal template wins).
        assert_eq!(refused.headers["allow"], "POST");
        let stats = app.call(Method::DELETE, "/api/v1/leads/stats", None, None).await.expect_problem(405, "method_not_allowed");
        assert_eq!(stats.headers["allow"], "GET");
        app.post("/api/v1/auth/login", None, json!({ "email": "a@b.io" })).await.expect_problem(400, "validation_failed");
    }
}

/// Sends a PATCH whose 2 MiB body is chunked (no `Content-Length`), over a raw socket.
async fn chunked_patch(app: &TestApp, path: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..32 {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if socket.write_all(&frame).await.is_err() {
            break; // the server may answer and close before reading everything
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut response = String::new();
    let _ = socket.read_to_string(&mut response).await;
    response
}
