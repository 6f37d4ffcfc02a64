//! The HTTP side of the load generator: accounts, sign-ins and the load shapes every scenario
//! uses (GET loops, login loops, refresh chains).

use std::time::Duration;

use serde_json::{Value, json};

use crate::Plan;
use crate::load::{Budget, Sample, run, timed};

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn register_users(client: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..count {
        let name = format!("bench-user-{i}");
        names.push(name.clone());
        let (client, url) = (client.clone(), format!("{base}/api/auth/register"));
        tasks.push(tokio::spawn(async move {
            let body = json!({ "username": name, "password": PASSWORD });
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for task in tasks {
        let status = task.await.expect("task").expect("register");
        assert!(status.is_success(), "registering failed: {status}");
    }
    names
}

pub async fn post_tokens(
    client: &reqwest::Client,
    url: String,
    body: Value,
) -> Option<(String, String)> {
    let response = client.post(url).json(&body).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some((
        body["access_token"].as_str()?.to_owned(),
        body["refresh_token"].as_str()?.to_owned(),
    ))
}

pub async fn login(client: &reqwest::Client, base: &str, user: &str) -> Option<(String, String)> {
    let body = json!({ "username": user, "password": PASSWORD });
    post_tokens(client, format!("{base}/api/auth/login"), body).await
}

pub async fn refresh(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Option<(String, String)> {
    let body = json!({ "refresh_token": token });
    post_tokens(client, format!("{base}/api/auth/refresh"), body).await
}

pub async fn get_load(
    client: &reqwest::Client,
    url: String,
    token: Option<String>,
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    get_load_across(client, &[url], token, concurrency, plan).await
}

/// Like `get_load`, with the workers spread over several instances' copies of one URL.
pub async fn get_load_across(
    client: &reqwest::Client,
    urls: &[String],
    token: Option<String>,
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    let budget = Budget::new(i64::MAX, plan.time);
    run(concurrency, budget, |worker, budget| {
        let (client, url, token) = (
            client.clone(),
            urls[worker % urls.len()].clone(),
            token.clone(),
        );
        async move {
            let mut latencies = Vec::new();
            while budget.take() {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let answered = timed(async {
                    let response = request.send().await.ok()?;
                    let ok = response.status().is_success();
                    response.bytes().await.ok()?;
                    ok.then_some(())
                })
                .await;
                match answered {
                    Some((_, latency)) => latencies.push(latency),
                    None => budget.error(),
                }
            }
            latencies
        }
    })
    .await
}

pub async fn login_load(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    let budget = Budget::new(i64::MAX, plan.time);
    run(concurrency, budget, |worker, budget| {
        let (client, base) = (client.clone(), base.to_owned());
        let user = users[worker % users.len()].clone();
        async move {
            let mut latencies = Vec::new();
            while budget.take() {
                match timed(login(&client, &base, &user)).await {
                    Some((_, latency)) => latencies.push(latency),
                    None => budget.error(),
                }
            }
            latencies
        }
    })
    .await
}

/// `chains` sessions, each refreshed with the successor of its previous refresh.
pub async fn refresh_load(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    chains: usize,
    plan: &Plan,
) -> Sample {
    refresh_load_across(client, &[base.to_owned()], users, chains, plan).await
}

/// Like `refresh_load`, with every chain going round the instances one refresh at a time (no
/// sticky sessions).
pub async fn refresh_load_across(
    client: &reqwest::Client,
    bases: &[String],
    users: &[String],
    chains: usize,
    plan: &Plan,
) -> Sample {
    let mut tokens = Vec::new();
    for i in 0..chains {
        tokens.push(
            login(client, &bases[i % bases.len()], &users[i % users.len()])
                .await
                .expect("login")
                .1,
        );
    }
    let budget = Budget::new(i64::MAX, plan.time);
    run(chains, budget, |worker, budget| {
        let (client, bases) = (client.clone(), bases.to_vec());
        let mut token = tokens[worker].clone();
        async move {
            let mut latencies = Vec::new();
            let mut turn = worker;
            while budget.take() {
                turn += 1;
                let base = &bases[turn % bases.len()];
                match timed(refresh(&client, base, &token)).await {
                    Some(((_, next), latency)) => {
                        token = next;
                        latencies.push(latency);
                    }
                    None => {
                        budget.error();
                        break;
                    }
                }
            }
            latencies
        }
    })
    .await
}

/// Median latency of `count` sequential logins and of `count` sequential refreshes.
pub async fn sequential_p50(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    count: usize,
) -> [Duration; 2] {
    let mut logins = Vec::new();
    let mut token = String::new();
    for i in 0..count.min(50) {
        let ((_, refresh_token), latency) = timed(login(client, base, &users[i % users.len()]))
            .await
            .expect("login");
        logins.push(latency);
        token = refresh_token;
    }
    let mut refreshes = Vec::new();
    for _ in 0..count {
        let ((_, next), latency) = timed(refresh(client, base, &token)).await.expect("refresh");
        refreshes.push(latency);
        token = next;
    }
    let median = |mut v: Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    [median(logins), median(refreshes)]
}
