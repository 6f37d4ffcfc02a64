//! Prometheus metrics (OpenMetrics text): HTTP requests and latency per route, method and
//! status; auth events by kind and outcome; live sessions. Off unless `LATCHKEY_METRICS=true`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::blocking;
use crate::auth::AuthService;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// One of RFC 9110's methods, or `other`: clients can invent methods without end.
    method: &'static str,
    /// The route pattern (`/api/sessions/{id}`), never the raw path: bounded cardinality.
    route: String,
    status: u16,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
    live_sessions: Gauge,
    /// Mails in the outbox by status (`pending` is the queue depth), set at each scrape.
    outbox: Family<StatusLabel, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

impl Metrics {
    pub fn new(auth: web::Data<AuthService>) -> Metrics {
        let mut registry = Registry::with_prefix("latchkey");
        let requests = Family::<HttpLabels, Counter>::default();
        // 0.5 ms to ~16 s: from a protected call to a sign-in under load.
        let latency = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let live_sessions = Gauge::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            latency.clone(),
        );
        registry.register("live_sessions", "Sessions live now", live_sessions.clone());
        let outbox = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "mail_outbox",
            "Mails in the outbox by status",
            outbox.clone(),
        );
        registry.register_collector(Box::new(MailSends(auth.postbox())));
        registry.register_collector(Box::new(AuthEvents(auth)));
        Metrics {
            registry,
            requests,
            latency,
            live_sessions,
            outbox,
        }
    }

    fn observe(&self, labels: HttpLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }
}

/// Auth events as counters, read from the domain's counts at each scrape.
struct AuthEvents(web::Data<AuthService>);

impl std::fmt::Debug for AuthEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEvents")
    }
}

impl Collector for AuthEvents {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "auth_events",
            "Sign-ins, refreshes, reuse detections, revocations... by event and outcome",
            None,
            MetricType::Counter,
        )?;
        for (kind, outcome, count) in self.0.event_counts().snapshot() {
            let labels = [("event", kind.as_str()), ("outcome", outcome.as_str())];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Attempts to send mail by outcome, from the sender's counts.
#[derive(Debug)]
struct MailSends(std::sync::Arc<crate::mail::Postbox>);

impl Collector for MailSends {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "mail_sends",
            "Attempts to send mail since the start, by outcome (sent, retried, failed, held)",
            None,
            MetricType::Counter,
        )?;
        for outcome in crate::mail::Outcome::all() {
            let labels = [("outcome", outcome.as_str())];
            ConstCounter::new(self.0.outcomes(outcome)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Middleware: counts and times every request under its route pattern.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(request.method());
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let labels = HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        };
        metrics.observe(labels, started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// The standard methods by name; every other (invented) method is one label.
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ]
    .iter()
    .find(|known| *known == method)
    .map_or("other", Method::as_str)
}

/// `GET /metrics`.
pub async fn scrape(metrics: web::Data<Metrics>, auth: web::Data<AuthService>) -> HttpResponse {
    let counts = blocking(move || Ok((auth.live_session_count()?, auth.outbox_counts()?))).await;
    if let Ok((live, outbox)) = counts {
        metrics.live_sessions.set(live);
        for status in crate::auth::mail::OUTBOX_STATUSES {
            let count = outbox
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            let label = StatusLabel {
                status: status.to_owned(),
            };
            metrics.outbox.get_or_create(&label).set(count);
        }
    }
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &metrics.registry) {
        Ok(()) => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CONTENT_TYPE, CONTENT_TYPE))
            .body(body),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
