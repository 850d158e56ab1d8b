use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, assert_error, product_form};

#[tokio::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": "  Ada@Example.com ", "password": "correct horse", "name": "Ada"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["role"], "user");
    assert!(body["user"].get("password_hash").is_none());

    let response = app.login("ada@example.com", "correct horse").await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.expect("json");
    let token = session["access_token"].as_str().expect("token");

    let me: Value = app
        .get("/api/auth/me", Some(token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["name"], "Ada");
    assert_eq!(me["role"], "user");

    let stored = app
        .store
        .users()
        .find_one(mongodb::bson::doc! {"email": "ada@example.com"})
        .await
        .expect("query")
        .expect("user stored");
    assert!(stored.password_hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn registering_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    let user = app.register("bob").await;
    let response = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": user.email.to_uppercase(), "password": "another password", "name": "Bob"}),
        )
        .await;
    let body = assert_error(response, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(body["error"]["field"], "email");
}

#[tokio::test]
async fn registration_is_validated_field_by_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": "long enough", "name": "A"}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": "short", "name": "A"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129), "name": "A"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "long enough", "name": "   "}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_json("/api/auth/register", None, &body).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    let count = app
        .store
        .users()
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(count, 1, "only the bootstrap admin exists");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let user = app.register("carol").await;
    let wrong = app.login(&user.email, "not the password").await;
    let wrong = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = app.login("nobody@example.com", "not the password").await;
    let unknown = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn unknown_emails_cost_a_login_the_same_password_work() {
    // Without the dummy hash an unknown e-mail answers in well under a millisecond, a known one
    // after a full Argon2id verification (tens of milliseconds): a ratio far outside any noise.
    // The bound is deliberately loose, so that a busy machine cannot fail it.
    let app = TestApp::spawn().await;
    let user = app.register("timing").await;
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..5 {
        let started = std::time::Instant::now();
        let response = app.login(&user.email, "not the password").await;
        known.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let started = std::time::Instant::now();
        let response = app
            .login(&format!("nobody-{i}@example.com"), "not the password")
            .await;
        unknown.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let (known, unknown) = (median(known), median(unknown));
    assert!(
        unknown * 4 >= known,
        "an unknown e-mail answered in {unknown:?}, a wrong password in {known:?}: the timing tells them apart"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_chain() {
    let app = TestApp::spawn().await;
    let user = app.register("dave").await;

    let first = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("json");
    let rotated = first["refresh_token"].as_str().expect("refresh").to_string();
    assert_ne!(rotated, user.refresh_token);
    let me = app.get("/api/auth/me", first["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);

    // The spent token is presented again: theft. The whole family dies, including `rotated`.
    let reuse = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_error(reuse, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let after = app
        .post_json("/api/auth/refresh", None, &json!({"refresh_token": rotated}))
        .await;
    assert_error(after, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    // A separate login is a separate family and still works.
    let other = app.login(&user.email, "a good password").await;
    let other: Value = other.json().await.expect("json");
    let refreshed = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_cannot_both_win() {
    let app = TestApp::spawn().await;
    let user = app.register("erin").await;
    let body = json!({"refresh_token": user.refresh_token});
    let (a, b) = tokio::join!(
        app.post_json("/api/auth/refresh", None, &body),
        app.post_json("/api/auth/refresh", None, &body),
    );
    let mut winners = Vec::new();
    for response in [a, b] {
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.expect("json");
            winners.push(body["refresh_token"].as_str().expect("refresh").to_string());
        }
    }
    assert!(winners.len() <= 1, "both refreshes succeeded");
    // The loser saw a reuse and revoked the chain: whatever the winner got is dead too.
    for token in winners {
        let response = app
            .post_json("/api/auth/refresh", None, &json!({"refresh_token": token}))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let user = app.register("frank").await;
    let response = app
        .post_json(
            "/api/auth/logout",
            Some(&user.access_token),
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refresh = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    let unknown = app
        .post_json("/api/auth/refresh", None, &json!({"refresh_token": "made-up"}))
        .await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

fn sign(app: &TestApp, claims: &Value, key: &[u8]) -> String {
    let _ = app;
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign")
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register("gina").await;
    let secret = app.config.jwt_secret.expose_secret().as_bytes().to_vec();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, role: &str| json!({"sub": user.user_id, "role": role, "exp": exp, "iat": now - 3600, "jti": "x"});

    // Missing, malformed, and a different scheme.
    assert_error(
        app.get("/api/auth/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/auth/me", Some("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let basic = app
        .http
        .get(app.url("/api/auth/me"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .expect("request");
    assert_error(basic, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // Expired.
    let expired = sign(&app, &claims(now - 60, "user"), &secret);
    assert_error(
        app.get("/api/auth/me", Some(&expired)).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;

    // Signed with another key.
    let forged = sign(
        &app,
        &claims(now + 600, "admin"),
        b"another key that is long enough to be a key",
    );
    assert_error(
        app.get("/api/auth/me", Some(&forged)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // alg: none.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now + 600, "admin").to_string());
    let unsigned = format!("{header}.{payload}.");
    assert_error(
        app.get("/api/auth/me", Some(&unsigned)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // A valid token whose role claim was edited.
    let mut parts: Vec<String> = user.access_token.split('.').map(str::to_string).collect();
    let edited = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64"))
        .expect("utf8")
        .replace("\"user\"", "\"admin\"");
    parts[1] = URL_SAFE_NO_PAD.encode(edited);
    let tampered = parts.join(".");
    assert_error(
        app.get("/api/auth/me", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // A correctly signed token claiming admin does not make a user an admin: the role is the account's.
    let claims_admin = sign(&app, &claims(now + 600, "admin"), &secret);
    let me: Value = app
        .get("/api/auth/me", Some(&claims_admin))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "user");
}

#[tokio::test]
async fn a_deleted_users_token_stops_working() {
    let app = TestApp::spawn().await;
    let user = app.register("hank").await;
    app.store
        .users()
        .delete_one(mongodb::bson::doc! {"_id": user.user_id.as_str()})
        .await
        .expect("delete");
    assert_error(
        app.get("/api/auth/me", Some(&user.access_token)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn users_are_refused_on_admin_routes() {
    let app = TestApp::spawn().await;
    let user = app.register("ivan").await;
    let response = app
        .post_multipart(
            "/api/products",
            Some(&user.access_token),
            product_form("SKU-1", "Thing", 100, 1),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = app
        .post_multipart("/api/products", None, product_form("SKU-1", "Thing", 100, 1))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let count = app
        .store
        .products()
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_configured_admin_exists_and_promotion_works() {
    let app = TestApp::spawn().await;
    let response = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["role"], "admin");

    // Bootstrapping again (a second process starting) changes nothing.
    oms_api::bootstrap(&app.config, &app.store)
        .await
        .expect("idempotent");
    assert_eq!(
        app.store
            .users()
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count"),
        1
    );

    let user = app.register("judy").await;
    let email = oms_contracts::domain::Email::parse(&user.email).expect("email");
    assert!(oms_api::auth::promote(&app.store, &email).await.expect("promote"));
    let me: Value = app
        .get("/api/auth/me", Some(&user.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "admin");
    let nobody = oms_contracts::domain::Email::parse("nobody@example.com").expect("email");
    assert!(
        !oms_api::auth::promote(&app.store, &nobody)
            .await
            .expect("promote")
    );
}

#[tokio::test]
async fn login_brute_force_is_throttled() {
    let app = TestApp::spawn().await;
    let user = app.register("target").await;
    for _ in 0..10 {
        let response = app.login(&user.email, "wrong password").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Even the right password waits now: the attempt is not even checked.
    let response = app.login(&user.email, "a good password").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other accounts are not locked out by it.
    let other = app.register("bystander").await;
    assert_eq!(
        app.login(&other.email, "a good password").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_account_is_read_once_per_cache_period_not_per_request() {
    let app = TestApp::spawn_with(&[("OMS_ACCOUNT_CACHE_TTL", "1m")]).await;
    let user = app.register("cached").await;
    let me = || async {
        let response = app.get("/api/auth/me", Some(&user.access_token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<serde_json::Value>().await.expect("json")["name"].clone()
    };
    assert_eq!(me().await, "cached");
    // Renamed behind the API's back: within the cache period, requests are answered from the
    // account as it was read, so they did not read it again. (Process-wide store metrics would
    // also count the other tests running beside this one.)
    app.store
        .users()
        .update_one(
            mongodb::bson::doc! {"_id": user.user_id.as_str()},
            mongodb::bson::doc! {"$set": {"name": "renamed"}},
        )
        .await
        .expect("rename");
    for _ in 0..20 {
        assert_eq!(
            me().await,
            "cached",
            "one read of the account for twenty requests"
        );
    }
}

#[tokio::test]
async fn a_demoted_or_deleted_account_loses_access_within_the_cache_period() {
    let app = TestApp::spawn_with(&[("OMS_ACCOUNT_CACHE_TTL", "1s")]).await;
    let user = app.register("fleeting").await;
    let email = oms_contracts::domain::Email::parse(&user.email).expect("email");
    assert!(oms_api::auth::promote(&app.store, &email).await.expect("promote"));
    let stats = || app.get("/api/orders/stats", Some(&user.access_token));
    assert_eq!(stats().await.status(), StatusCode::OK);

    // Demoted: admin routes refuse within the period (polled; a few periods' leeway for a
    // loaded machine).
    app.store
        .users()
        .update_one(
            mongodb::bson::doc! {"_id": user.user_id.as_str()},
            mongodb::bson::doc! {"$set": {"role": "user"}},
        )
        .await
        .expect("demote");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while stats().await.status() != StatusCode::FORBIDDEN {
        assert!(tokio::time::Instant::now() < deadline, "still an admin");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Deleted: every route refuses the token.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    app.store
        .users()
        .delete_one(mongodb::bson::doc! {"_id": user.user_id.as_str()})
        .await
        .expect("delete");
    while app.get("/api/auth/me", Some(&user.access_token)).await.status() != StatusCode::UNAUTHORIZED {
        assert!(tokio::time::Instant::now() < deadline, "still signed in");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A sign-in with a wrong password for a new address, as sent through a proxy that says the
/// client is `forwarded_for`.
async fn failed_login_from(app: &TestApp, n: usize, forwarded_for: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": format!("guess-{n}@example.com"), "password": "wrong password"}))
        .send()
        .await
        .expect("request")
}

/// Past 100 failed sign-ins a client is throttled, whatever accounts it tries.
const PER_CLIENT: usize = 100;

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_cannot_escape_the_client_throttle() {
    // No trusted proxies: a client that writes a new X-Forwarded-For each time is still itself.
    let app = TestApp::spawn().await;
    for n in 0..PER_CLIENT {
        let response = failed_login_from(&app, n, &format!("198.51.100.{}", n % 250)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let response = failed_login_from(&app, PER_CLIENT, "198.51.100.251").await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own() {
    let app = TestApp::spawn_with(&[("OMS_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]).await;
    for n in 0..PER_CLIENT {
        let response = failed_login_from(&app, n, "203.0.113.7").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let throttled = failed_login_from(&app, PER_CLIENT, "203.0.113.7").await;
    assert_error(throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another client behind the same proxy is not.
    let other = failed_login_from(&app, PER_CLIENT + 1, "203.0.113.8").await;
    assert_error(other, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
