//! What each scenario is compared with, measured on the same machine in the same run: the work
//! without HTTP (bcrypt, the rotation transaction) and HTTP without the work (hello world).

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use latchkey::auth::Clock;
use latchkey::auth::password::PasswordHasher;
use latchkey::auth::sessions::ClientInfo;
use latchkey::config::{Secret, Settings};
use latchkey::startup::build_auth_service;

use crate::raw_rotation;
use crate::server::SECRET;

/// bcrypt verifications per second at `cost` on `threads` threads, no HTTP.
pub fn bcrypt_per_second(cost: u32, threads: usize, time: Duration) -> f64 {
    let hasher = Arc::new(PasswordHasher::new(cost, None));
    let hash = Arc::new(hasher.hash("correct horse battery staple").expect("hash"));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (hasher, hash, done) = (hasher.clone(), hash.clone(), done.clone());
            std::thread::spawn(move || {
                while started.elapsed() < time {
                    assert!(hasher.verify("correct horse battery staple", &hash));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// What rotating through our own code without HTTP measured.
pub struct DomainRotations {
    pub per_second: f64,
    /// SQL statements (`BEGIN` and `COMMIT` included) and transactions per rotation.
    pub statements: f64,
    pub transactions: f64,
}

/// Refresh-token rotations per second through the domain (the same SQL through the same pool
/// as the server), no HTTP: one thread per pooled connection, each rotating its own session's
/// token (more threads would only queue for SQLite's one writer). Counts the statements the
/// rotations ran (`raw_rotation::count_statements` must have been called before).
pub fn rotations_per_second(dir: &Path, time: Duration) -> DomainRotations {
    let settings = Settings {
        database_url: dir.join("limit.db").display().to_string(),
        secret: Some(Secret::new(SECRET)),
        secret_file: dir.join("limit-secret.key"),
        bcrypt_cost: 4,
        ..Settings::default()
    };
    let auth = Arc::new(build_auth_service(&settings, Clock::system()).expect("domain service"));
    let client = ClientInfo::new(Some("127.0.0.1".into()), Some("latchkey-bench"));
    let user = auth
        .create_user(
            "rotation-limit",
            "correct horse battery staple",
            None,
            latchkey::auth::types::Role::User,
            &client,
        )
        .expect("user");
    let done = Arc::new(AtomicU64::new(0));
    let sessions: Vec<String> = (0..settings.database_pool_size)
        .map(|_| {
            auth.open_session(&user, &client)
                .expect("session")
                .refresh_token
        })
        .collect();
    let (statements_before, transactions_before) = raw_rotation::counted();
    let started = Instant::now();
    let workers: Vec<_> = sessions
        .into_iter()
        .map(|mut token| {
            let (auth, done, client) = (auth.clone(), done.clone(), client.clone());
            std::thread::spawn(move || {
                while started.elapsed() < time {
                    token = auth
                        .refresh(&token, &client)
                        .expect("rotation")
                        .refresh_token;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (statements, transactions) = raw_rotation::counted();
    let rotations = done.load(Ordering::Relaxed).max(1) as f64;
    DomainRotations {
        per_second: rotations / elapsed,
        statements: (statements - statements_before) as f64 / rotations,
        transactions: (transactions - transactions_before) as f64 / rotations,
    }
}

/// An actix-web hello-world on loopback with `workers` workers: the ceiling for any handler.
pub struct HelloWorld {
    pub url: String,
    handle: actix_web::dev::ServerHandle,
}

impl HelloWorld {
    pub fn start(workers: usize) -> HelloWorld {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback");
        let port = listener.local_addr().expect("port").port();
        let server = HttpServer::new(|| {
            App::new().route(
                "/hello",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({ "id": "hello", "role": "world" }))
                }),
            )
        })
        .workers(workers)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        HelloWorld {
            url: format!("http://127.0.0.1:{port}/hello"),
            handle,
        }
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
