//! HTTP: who is calling (bearer token), then the GraphQL request, with limits
//! on what is read before anything runs. GraphiQL is served from here too, so
//! no script is loaded from another origin.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;

use crate::access::Caller;
use crate::audit::{RequestEvents, RequestId, RequestMeta};
use crate::error::{AppError, ErrorCode};
use crate::graphql::{CaregraphSchema, errors};

pub struct AppState {
    pub schema: CaregraphSchema,
    /// The audit trail's writer (also reachable as `services.sessions.audit()`).
    pub audit: crate::audit::Audit,
    /// What every request's `Caller` is built from.
    pub services: crate::access::Services,
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    pub execution_timeout: Duration,
    /// GraphiQL at `GET /graphql`; off in the production profile.
    pub graphiql: bool,
    /// Peers whose `X-Forwarded-For` is believed (`CAREGRAPH_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphiql))
        .route("/graphql/ws", web::get().to(crate::ws::graphql_ws))
        .route("/graphiql/{file}", web::get().to(graphiql_asset))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// A GraphQL-shaped error outside execution (transport, auth, limits).
fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if code == ErrorCode::Unauthenticated {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    response.json(json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    }))
}

fn bad_request(message: &str) -> HttpResponse {
    error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, message)
}

async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpResponse> {
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            &format!("request body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| bad_request("request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn graphql(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "send the GraphQL request as JSON with Content-Type: application/json",
        );
    }
    // A slow sender may not hold a connection open indefinitely.
    let body = match tokio::time::timeout(
        state.body_read_timeout,
        read_body(&req, payload, state.max_body_bytes),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(response)) => return response,
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BadUserInput,
                "request body took too long",
            );
        }
    };

    // Parsed now for the operation name; a malformed body is still answered
    // after the credentials are checked, as before.
    let mut parsed = parse_request(&body);
    let meta = RequestMeta::new(
        req.extensions()
            .get::<RequestId>()
            .map_or_else(uuid::Uuid::new_v4, |id| id.0),
        client_addr(&req, &state.trusted_proxies),
        parsed.as_mut().ok().and_then(operation_name).as_deref(),
    );
    meta.clone().scope(respond(&req, &state, parsed, meta)).await
}

/// The client's address: the socket's peer, unless that peer is a trusted
/// proxy; then the nearest address in `X-Forwarded-For` that is not itself
/// a trusted proxy (read from the right: what the client wrote on the left
/// is not evidence). A header that does not parse is ignored.
pub(crate) fn client_addr(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let mut hops = Vec::new();
    for value in req.headers().get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Some(peer);
        };
        for hop in value.split(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => hops.push(ip.to_canonical()),
                Err(_) => return Some(peer),
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    Some(client)
}

/// The request, or the message of a 400 answer.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, &'static str> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "request body is not valid JSON")?;
    if value.is_array() {
        return Err("batched requests are not supported: send one operation per request");
    }
    serde_json::from_value(value).map_err(|_| {
        "request body must be an object with a string `query`, and optional `operationName` and object `variables`"
    })
}

/// The name the client chose, or the name of the document's only operation.
/// The parse is kept for execution, so the query is parsed once.
fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    use async_graphql::parser::types::DocumentOperations;
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        _ => None,
    }
}

/// Authenticates and executes, inside the request's `RequestMeta` scope.
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    parsed: Result<async_graphql::Request, &'static str>,
    meta: RequestMeta,
) -> HttpResponse {
    let principal = match bearer_token(req) {
        Ok(None) => None,
        Ok(Some(token)) => match state.services.sessions.authenticate(token).await {
            Ok(principal) => Some(principal),
            Err(AppError::Unauthenticated) => {
                return error_response(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthenticated,
                    "the access token is invalid, expired or its session has ended; log in again",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "authentication failed");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "internal error",
                );
            }
        },
        Err(message) => return error_response(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message),
    };
    let request = match parsed {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };

    if let Some(principal) = principal {
        tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
    }
    let events = RequestEvents::default();
    let caller = Caller::new(principal, &state.services, events.clone());
    let execution = state
        .schema
        .execute(request.data(caller).data(meta).data(events.clone()));
    let executed = tokio::time::timeout(state.execution_timeout, execution).await;
    // What the request gathered is durable before any of it is answered,
    // even when execution was cut off.
    if let Err(e) = state.audit.record(events.take()).await {
        tracing::error!(error = %e, "the request's audit events were not recorded; its answer is withheld");
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        );
    }
    let mut response = match executed {
        Ok(response) => response,
        Err(_) => {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::QueryTooComplex,
                "the query took too long and was stopped",
            );
        }
    };
    errors::assign_codes(&mut response.errors);
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    // A throttled login says when to come back, in the error's extensions
    // and here for HTTP clients.
    if let Some(seconds) = errors::retry_after(&response.errors) {
        answer.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    answer.json(response)
}

/// `Ok(None)`: no credentials. A malformed header is an error, not anonymity.
pub(crate) fn bearer_value(value: &str) -> Result<&str, &'static str> {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err("the Authorization header must be `Bearer <accessToken>`"),
    }
}

fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, &'static str> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not readable")?;
    bearer_value(value).map(Some)
}

const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    font-src 'self' data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn graphiql(state: web::Data<AppState>) -> HttpResponse {
    if !state.graphiql {
        // Nothing here names the switched-off page: the answer is the same
        // as for any other method this endpoint does not take.
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "send GraphQL requests with POST, as JSON",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
        .body(include_str!("../assets/graphiql/index.html"))
}

async fn graphiql_asset(file: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    if !state.graphiql {
        return HttpResponse::NotFound().finish();
    }
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (include_bytes!("../assets/graphiql/graphiql.min.css"), "text/css"),
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        "caregraph.js" => (
            include_bytes!("../assets/graphiql/caregraph.js"),
            "text/javascript",
        ),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
        .body(body)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.services.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "database unavailable" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(forwarded) = forwarded {
            request = request.insert_header(("X-Forwarded-For", forwarded));
        }
        request.to_http_request()
    }

    fn ip(text: &str) -> std::net::IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn x_forwarded_for_counts_only_from_a_trusted_proxy_and_is_read_from_the_right() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // Not a trusted peer: the header is the client's own claim.
        let direct = request("192.0.2.9:4000", Some("198.51.100.1"));
        assert_eq!(client_addr(&direct, &trusted), Some(ip("192.0.2.9")));
        // Through the proxies: the nearest address that is not one of them;
        // what the client wrote further left is ignored.
        let proxied = request("10.0.0.1:4000", Some("6.6.6.6, 198.51.100.1, 10.0.0.2"));
        assert_eq!(client_addr(&proxied, &trusted), Some(ip("198.51.100.1")));
        // A trusted peer without the header, or with garbage: the peer.
        assert_eq!(
            client_addr(&request("10.0.0.1:4000", None), &trusted),
            Some(ip("10.0.0.1"))
        );
        let garbage = request("10.0.0.1:4000", Some("not an address"));
        assert_eq!(client_addr(&garbage, &trusted), Some(ip("10.0.0.1")));
    }
}
