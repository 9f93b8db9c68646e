//! Where a request came from, for its audit events: the request id (the
//! same as the `x-request-id` response header and the log span's), the
//! client's IP address as the socket saw it (no forwarded-for header is
//! trusted), and the GraphQL operation name.
//!
//! `http` makes one per GraphQL request and puts it in two places:
//! - the GraphQL context (`ctx.data::<RequestMeta>()`), and
//! - a task-local for the duration of the request (`RequestMeta::current()`),
//!   so that code below GraphQL (the session store) stamps its events
//!   without the value being threaded through every signature.
//!   `AuditEvent::new` reads it. Tasks spawned by the request (dataloaders)
//!   do not inherit it.

use std::future::Future;
use std::net::IpAddr;

use uuid::Uuid;

/// The id the server gives each HTTP request (set by the middleware in
/// `startup`, read from the request's extensions).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Uuid,
    pub client_addr: Option<IpAddr>,
    /// The operation's name, when it has one that is a valid GraphQL name
    /// of at most 128 characters.
    pub operation_name: Option<String>,
}

tokio::task_local! {
    static CURRENT: RequestMeta;
}

impl RequestMeta {
    pub fn new(request_id: Uuid, client_addr: Option<IpAddr>, operation_name: Option<&str>) -> RequestMeta {
        RequestMeta {
            request_id,
            client_addr,
            operation_name: operation_name.filter(|n| is_name(n)).map(str::to_owned),
        }
    }

    /// The metadata of the request being served by this task, if any.
    pub fn current() -> Option<RequestMeta> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `future` with this as the current request's metadata.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

/// `[_A-Za-z][_0-9A-Za-z]*`, at most 128 characters (the column's width).
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_graphql_names_are_kept_as_operation_names() {
        let id = Uuid::nil();
        assert_eq!(
            RequestMeta::new(id, None, Some("NursePage"))
                .operation_name
                .as_deref(),
            Some("NursePage")
        );
        for bad in ["", "1abc", "a b", "ä", &"x".repeat(129)] {
            assert_eq!(
                RequestMeta::new(id, None, Some(bad)).operation_name,
                None,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn the_current_meta_is_visible_inside_its_scope_only() {
        let meta = RequestMeta::new(Uuid::new_v4(), None, Some("Op"));
        assert_eq!(RequestMeta::current(), None);
        let seen = meta.clone().scope(async { RequestMeta::current() }).await;
        assert_eq!(seen, Some(meta));
        assert_eq!(RequestMeta::current(), None);
    }
}
