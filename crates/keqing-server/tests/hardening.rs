//! Issue 23's probes of the API, each a test: control characters, leaks
//! across scope, page overflow, errors in the documented shape, and the
//! limits on uploads. Run on SQLite, and on PostgreSQL with
//! `KEQING_TEST_PG_URL` (the NUL cases were a 500 there).

mod common;

use common::App;
use keqing_domain::Role;
use keqing_server::ServerConfig;
use serde_json::{json, Value};

/// Asserts the documented error shape and returns the code.
fn shaped(body: &Value) -> &str {
    assert!(
        body["code"].is_string() && body["message"].is_string() && body.get("details").is_some(),
        "an error is {{code, message, details}}, got {body}"
    );
    body["code"].as_str().unwrap()
}

/// Sends a request whose body the server may refuse before reading it all,
/// over plain TCP: the answer is read while the body is still being
/// written, so it is seen even when the server closes the connection under
/// the unread rest (a client that only reads after writing, as reqwest
/// does, then sees a broken pipe instead of the answer).
async fn refused(app: &App, head: String, body: Vec<u8>) -> (u16, Value) {
    let addr = app.base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(head.as_bytes());
            for chunk in body.chunks(64 * 1024) {
                if w.write_all(chunk).is_err() {
                    break;
                }
            }
        });
        let mut out = vec![];
        let mut buf = [0u8; 8192];
        // Read until the answer's body is complete or the server closes.
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&out);
            if let Some((h, b)) = text.split_once("\r\n\r\n") {
                let len = h
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if b.len() >= len {
                    break;
                }
            }
        }
        let _ = s.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    })
    .await
    .unwrap()
}

fn fields(body: &Value) -> Vec<String> {
    body["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_naming_the_field() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    for (name, why) in [
        ("客户\u{0}名", "NUL"),
        ("\u{200b}\u{200c}\u{200d}", "zero-width only"),
        ("客户\u{1b}[31m红", "ESC"),
        ("响铃\u{7}客户", "BEL"),
        ("abc\u{202e}cod.exe", "right-to-left override"),
        ("第一行\n第二行", "line break"),
    ] {
        let (s, body) = app
            .call(&t, "POST", "/customers", Some(json!({"name": name})))
            .await;
        assert_eq!(s, 422, "{why}: {body}");
        assert_eq!(shaped(&body), "invalid");
        assert_eq!(fields(&body), vec!["name".to_string()], "{why}");
    }
    // A contact's name likewise; a note may hold line breaks, not a NUL.
    let (s, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "正常客户"})))
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (s, body) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{id}/contacts"),
            Some(json!({"name": "张\u{7}三"})),
        )
        .await;
    assert_eq!((s, fields(&body)), (422, vec!["name".to_string()]));
    let (s, k) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{id}/contacts"),
            Some(json!({"name": "张三", "notes": "喜欢喝茶\n不抽烟"})),
        )
        .await;
    assert_eq!(s, 201, "a note keeps its line breaks: {k}");
    let (s, body) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{id}/contacts"),
            Some(json!({"name": "李四", "notes": "a\u{0}b"})),
        )
        .await;
    assert_eq!((s, fields(&body)), (422, vec!["notes".to_string()]));
    // The relationship card's texts are checked too.
    let (s, body) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "卡片客户", "card": {"interests": "高尔夫\u{202e}"}})),
        )
        .await;
    assert_eq!(
        (s, fields(&body)),
        (422, vec!["card.interests".to_string()])
    );

    // A search with a NUL is a 422 naming q, not every customer (SQLite)
    // or a 500 (PostgreSQL).
    let (s, body) = app.call(&t, "GET", "/customers?q=%00", None).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(fields(&body), vec!["q".to_string()]);
    let (s, body) = app.call(&t, "GET", "/customers?q=%E6%AD%A3%00", None).await;
    assert_eq!((s, fields(&body)), (422, vec!["q".to_string()]));

    // Nothing of the refused names was stored.
    let (_, list) = app.call(&t, "GET", "/customers", None).await;
    assert_eq!(list["total"], 1, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_row_with_control_characters_is_refused_and_the_rest_kept() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let csv = "客户名称,电话\n好客户甲,13800000001\n\"坏\u{1b}客户\",13800000002\n\"两行\n客户\",13800000003\n好客户乙,13800000004\n";
    let (s, r) = app
        .post_file(
            &t,
            "/imports/customers?filename=c.csv",
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["imported"], 2, "{r}");
    assert_eq!(r["rejected"], 2, "{r}");
    let lines: Vec<i64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4], "{r}");
}

/// Managers of two teams, each with a customer.
async fn two_teams(app: &App) -> (String, String, i64, i64) {
    let ta = app.store.create_team("甲队", None).await.unwrap();
    let tb = app.store.create_team("乙队", None).await.unwrap();
    let a = app.user("a1", Role::Manager, Some(ta.id)).await;
    let b = app.user("b1", Role::Manager, Some(tb.id)).await;
    app.user("sa", Role::Supervisor, Some(ta.id)).await;
    let ta_token = app.login("a1").await;
    let tb_token = app.login("b1").await;
    let _ = (a, b);
    (ta_token, tb_token, ta.id, tb.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_in_another_team_shows_no_id() {
    let app = App::start().await;
    let (a, b, _, _) = two_teams(&app).await;
    let body = json!({"name": "南京同名公司", "phone": "025-83331111"});
    let (s, theirs) = app.call(&b, "POST", "/customers", Some(body.clone())).await;
    assert_eq!(s, 201, "{theirs}");
    let their_id = theirs["id"].as_i64().unwrap();

    let (s, e) = app.call(&a, "POST", "/customers", Some(body.clone())).await;
    assert_eq!((s, shaped(&e)), (409, "duplicate"));
    assert_eq!(e["details"]["duplicates"], json!([]), "{e}");
    assert_eq!(e["details"]["elsewhere"], true);
    assert!(e["message"].as_str().unwrap().contains("其他团队"), "{e}");
    assert!(
        !e.to_string().contains(&format!(":{their_id}"))
            && !e.to_string().contains(&format!("[{their_id}")),
        "another team's id leaks: {e}"
    );

    // The owner of the duplicate sees its id.
    let (s, e) = app.call(&b, "POST", "/customers", Some(body)).await;
    assert_eq!(s, 409);
    assert_eq!(e["details"]["duplicates"], json!([their_id]));
    assert_eq!(e["details"]["elsewhere"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_ids_outside_the_scope_cannot_be_counted() {
    let app = App::start().await;
    let (_, _, _, _) = two_teams(&app).await;
    let sup = app.login("sa").await;
    let other = app.store.user_by_name("b1").await.unwrap().unwrap().0.id;
    let (s_exists, e1) = app
        .call(
            &sup,
            "POST",
            "/customers",
            Some(json!({"name": "某客户一", "owner_id": other})),
        )
        .await;
    let (s_missing, e2) = app
        .call(
            &sup,
            "POST",
            "/customers",
            Some(json!({"name": "某客户二", "owner_id": 99999})),
        )
        .await;
    assert_eq!((s_exists, s_missing), (403, 403), "{e1} {e2}");
    assert_eq!(e1, e2, "a user in another team and no user answer alike");

    let (s1, e1) = app
        .call(
            &sup,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [1], "to_user": other})),
        )
        .await;
    let (s2, e2) = app
        .call(
            &sup,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [1], "to_user": 99999})),
        )
        .await;
    assert_eq!((s1, s2), (403, 403), "{e1} {e2}");
    assert_eq!(e1, e2);

    let (s1, _) = app
        .post_file(
            &sup,
            &format!("/imports/customers?filename=c.csv&owner={other}"),
            "客户名称\n甲\n".as_bytes().to_vec(),
        )
        .await;
    let (s2, _) = app
        .post_file(
            &sup,
            "/imports/customers?filename=c.csv&owner=99999",
            "客户名称\n甲\n".as_bytes().to_vec(),
        )
        .await;
    assert_eq!((s1, s2), (403, 403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_page_number_is_refused() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (s, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "唯一客户"})))
        .await;
    assert_eq!(s, 201, "{c}");
    for path in [
        "/customers?page=9223372036854775807&per_page=200",
        "/pool?page=9223372036854775807&per_page=200",
        "/care/tasks?page=9223372036854775807&per_page=1000",
        "/customers?page=1000001",
    ] {
        let (s, body) = app.call(&t, "GET", path, None).await;
        assert_eq!(s, 422, "{path}: {body}");
        assert_eq!(fields(&body), vec!["page".to_string()], "{path}");
    }
    // A large page within the bound is simply empty.
    let (s, body) = app
        .call(&t, "GET", "/customers?page=1000000&per_page=200", None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_has_the_documented_shape() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (_, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "形状客户"})))
        .await;
    let id = c["id"].as_i64().unwrap();
    let url = |p: &str| format!("{}/api/v1{}", app.base, p);
    let t = &t;
    let send = |r: reqwest::RequestBuilder| async move {
        let r = r.bearer_auth(t).send().await.unwrap();
        let s = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {s}: not JSON: {text:?}"));
        (s, v)
    };

    // A merge body that is not JSON, of the wrong type, or missing a member.
    let (s, b) = send(
        app.http
            .post(url(&format!("/customers/{id}/merge")))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!((s, shaped(&b)), (400, "bad_request"));
    let (s, b) = send(
        app.http
            .post(url(&format!("/customers/{id}/merge")))
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!((s, shaped(&b)), (415, "unsupported_media_type"));
    let (s, b) = send(
        app.http
            .post(url(&format!("/customers/{id}/merge")))
            .json(&json!({})),
    )
    .await;
    assert_eq!((s, shaped(&b)), (422, "invalid"));
    assert_eq!(fields(&b), vec!["other_id".to_string()]);

    // A member of the wrong type is named.
    let (s, b) = send(
        app.http
            .post(url(&format!("/customers/{id}/changes")))
            .json(&json!({"note": 5})),
    )
    .await;
    assert_eq!((s, shaped(&b)), (422, "invalid"));
    assert_eq!(fields(&b), vec!["note".to_string()]);

    // Query and path parse errors.
    let (s, b) = send(app.http.get(url("/customers?per_page=abc"))).await;
    assert_eq!((s, shaped(&b)), (422, "invalid"));
    assert_eq!(fields(&b), vec!["per_page".to_string()]);
    let (s, b) = send(app.http.get(url("/customers/abc"))).await;
    assert_eq!((s, shaped(&b)), (400, "bad_path"));

    // A method the route does not have.
    let (s, b) = send(app.http.put(url("/customers"))).await;
    assert_eq!((s, shaped(&b)), (405, "method_not_allowed"));

    // A 10 MB JSON body is too large, not a bad request.
    let big = format!("{{\"name\": \"{}\"}}", "大".repeat(10 * 1024 * 1024 / 3));
    let head = format!(
        "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    let (s, b) = refused(&app, head, big.into_bytes()).await;
    assert_eq!((s, shaped(&b)), (413, "too_large"), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_bounded_in_size_and_in_number() {
    let app = App::start_with(ServerConfig {
        max_upload_bytes: 1024 * 1024,
        import_budget_bytes: 2 * 1024 * 1024,
        ..Default::default()
    })
    .await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;

    // Over the limit: 413, raw or as a form.
    let mut big = b"\xef\xbb\xbf\xe5\xae\xa2\xe6\x88\xb7\xe5\x90\x8d\xe7\xa7\xb0\n".to_vec();
    while big.len() < 3 * 1024 * 1024 {
        big.extend_from_slice(format!("客户{}\n", big.len()).as_bytes());
    }
    let head = format!(
        "POST /api/v1/imports/customers?filename=big.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    let (s, b) = refused(&app, head, big.clone()).await;
    assert_eq!((s, shaped(&b)), (413, "file_too_large"), "{b}");
    // Sent without a length, it is cut off at the limit as it streams in.
    let mut chunked = vec![];
    for piece in big.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /api/v1/imports/customers?filename=big.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let (s, b) = refused(&app, head, chunked).await;
    assert_eq!((s, shaped(&b)), (413, "file_too_large"), "{b}");
    assert_eq!(b["details"]["limit_bytes"], 1024 * 1024);
    let mut form = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n".to_vec();
    form.extend_from_slice(&big);
    form.extend_from_slice(b"\r\n--XyZ--\r\n");
    let head = format!(
        "POST /api/v1/imports/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    let (s, b) = refused(&app, head, form).await;
    assert_eq!((s, shaped(&b)), (413, "file_too_large"), "{b}");

    // A body that says it is too large is refused before it is read.
    let r = app
        .http
        .post(format!(
            "{}/api/v1/imports/customers?filename=huge.csv",
            app.base
        ))
        .bearer_auth(&t)
        .header("content-length", (450u64 << 20).to_string())
        .body(vec![b'x'; 1024])
        .send()
        .await;
    // The server answers at once and closes; the client may see the
    // answer or the connection closing under its unfinished body.
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }

    // While the budget is taken by other imports, one more waits its turn: 429.
    let permit = app.imports.clone().acquire_many_owned(2).await.unwrap();
    let small = "客户名称\n小客户\n".as_bytes().to_vec();
    let r = app
        .http
        .post(format!(
            "{}/api/v1/imports/customers?filename=s.csv&preview=true",
            app.base
        ))
        .bearer_auth(&t)
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("30")
    );
    let b: Value = r.json().await.unwrap();
    assert_eq!(shaped(&b), "imports_busy");
    // Other users' requests are still answered.
    assert_eq!(app.call(&t, "GET", "/customers", None).await.0, 200);
    drop(permit);
    let (s, r) = app
        .post_file(&t, "/imports/customers?filename=s.csv", small)
        .await;
    assert_eq!((s, r["imported"].as_i64()), (200, Some(1)), "{r}");
}
