//! GraphQL subscriptions over WebSocket: the graphql-ws protocol
//! (`graphql-transport-ws`, as the `graphql-ws` client library speaks it) on
//! `GET /graphql/ws`.
//!
//! The client authenticates in `connection_init` with
//! `{"authorization": "Bearer <accessToken>"}`; the token is checked exactly
//! as on `POST /graphql` (signature, session live, role unchanged). Only
//! roles with a subscription to follow are let in (today: those who review
//! break-glass); anyone else is closed with 4401 (no valid token) or 4403,
//! and a socket that has not authenticated within 10 seconds with 4408.
//! Only subscription operations run here: queries and mutations go to
//! `POST /graphql`, where each request's reads are recorded in the audit
//! trail before it is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message};
use async_graphql::Data;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use futures_util::StreamExt;

use crate::access::Caller;
use crate::audit::RequestEvents;
use crate::error::AppError;
use crate::graphql::SubscriptionToken;
use crate::http::AppState;
use crate::policy::{Action, FieldClass};

const PROTOCOL: &str = "graphql-transport-ws";
/// graphql-ws close codes.
const BAD_REQUEST: u16 = 4400;
const UNAUTHORIZED: u16 = 4401;
const FORBIDDEN: u16 = 4403;
const INIT_TIMEOUT: u16 = 4408;
/// How long a socket may stay open without a successful `connection_init`.
const INIT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn graphql_ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let offered = req
        .headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offered {
        return Ok(HttpResponse::BadRequest().body("use the graphql-transport-ws WebSocket sub-protocol"));
    }
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, body, &[PROTOCOL])?;

    // Why the connection is being closed, when it is our decision.
    let close_code = Arc::new(AtomicU16::new(0));
    let input = {
        let close_code = close_code.clone();
        let session = session.clone();
        messages
            .filter_map(move |message| {
                let mut session = session.clone();
                async move {
                    match message {
                        Ok(Message::Text(text)) => Some(Ok(text.as_bytes().to_vec())),
                        Ok(Message::Binary(bytes)) => Some(Ok(bytes.to_vec())),
                        Ok(Message::Ping(bytes)) => {
                            let _ = session.pong(&bytes).await;
                            None
                        }
                        Ok(Message::Close(_)) => Some(Err(())),
                        Ok(_) => None,
                        Err(_) => Some(Err(())),
                    }
                }
            })
            .take_while(|message| futures_util::future::ready(message.is_ok()))
            .filter_map(|message| futures_util::future::ready(message.ok()))
            .take_while(move |bytes| {
                let allowed = subscriptions_only(bytes);
                if !allowed {
                    close_code.store(BAD_REQUEST, Ordering::SeqCst);
                }
                futures_util::future::ready(allowed)
            })
    };

    let services = state.services.clone();
    let init_code = close_code.clone();
    let initialised = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let init_done = initialised.clone();
    let output = WebSocket::new(state.schema.clone(), input, WebSocketProtocols::GraphQLWS)
        .on_connection_init(move |payload| async move {
            let refuse = |code: u16, message: &str| {
                init_code.store(code, Ordering::SeqCst);
                async_graphql::Error::new(message)
            };
            let token = payload
                .get("authorization")
                .or_else(|| payload.get("Authorization"))
                .and_then(|v| v.as_str())
                .and_then(|v| crate::http::bearer_value(v).ok())
                .map(str::to_owned)
                .ok_or_else(|| {
                    refuse(
                        UNAUTHORIZED,
                        "send {\"authorization\": \"Bearer <accessToken>\"} in connection_init",
                    )
                })?;
            let principal = match services.sessions.authenticate(&token).await {
                Ok(principal) => principal,
                Err(AppError::Unauthenticated) => {
                    return Err(refuse(
                        UNAUTHORIZED,
                        "the access token is invalid, expired or its session has ended; log in again",
                    ));
                }
                Err(e) => {
                    tracing::error!(error = %e, "authentication failed");
                    return Err(refuse(UNAUTHORIZED, "internal error"));
                }
            };
            if principal.mfa_pending {
                return Err(refuse(
                    FORBIDDEN,
                    "your role must use a second factor: set it up first",
                ));
            }
            if !services
                .policy
                .could_ever(principal.role, Action::Read, FieldClass::BreakGlassReview)
            {
                return Err(refuse(FORBIDDEN, "your role has no subscription to follow"));
            }
            let mut data = Data::default();
            data.insert(Caller::new(Some(principal), &services, RequestEvents::default()));
            data.insert(SubscriptionToken(token));
            init_done.store(true, Ordering::SeqCst);
            Ok(data)
        });

    actix_web::rt::spawn(async move {
        let mut session = session;
        let mut output = std::pin::pin!(output);
        let mut closed_by_server = None;
        let deadline = tokio::time::sleep(INIT_WITHIN);
        let mut deadline = std::pin::pin!(deadline);
        let mut waiting_for_init = true;
        loop {
            let message = tokio::select! {
                message = output.next() => message,
                () = &mut deadline, if waiting_for_init => {
                    if initialised.load(Ordering::SeqCst) {
                        waiting_for_init = false;
                        continue;
                    }
                    close_code.store(INIT_TIMEOUT, Ordering::SeqCst);
                    break;
                }
            };
            let Some(message) = message else { break };
            match message {
                WsMessage::Text(text) => {
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                WsMessage::Close(code, reason) => {
                    closed_by_server = Some((code, reason));
                    break;
                }
            }
        }
        let ours = close_code.load(Ordering::SeqCst);
        let reason = match (ours, closed_by_server) {
            (0, Some((code, reason))) => Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(reason),
            }),
            (0, None) => None,
            (code, _) => Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(
                    match code {
                        BAD_REQUEST => "only subscriptions run over WebSocket; send queries and mutations to POST /graphql",
                        UNAUTHORIZED => "unauthenticated",
                        INIT_TIMEOUT => "connection initialisation timeout",
                        _ => "forbidden",
                    }
                    .to_owned(),
                ),
            }),
        };
        let _ = session.close(reason).await;
    });
    Ok(response)
}

/// Whether a client message may pass: anything but a `subscribe` whose
/// document holds an operation other than a subscription.
fn subscriptions_only(bytes: &[u8]) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        // async-graphql answers malformed messages itself.
        return true;
    };
    if value.get("type").and_then(|t| t.as_str()) != Some("subscribe") {
        return true;
    }
    let Some(query) = value.pointer("/payload/query").and_then(|q| q.as_str()) else {
        return true;
    };
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return true;
    };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Subscription,
        DocumentOperations::Multiple(ops) => ops.values().all(|op| op.node.ty == OperationType::Subscription),
    }
}
