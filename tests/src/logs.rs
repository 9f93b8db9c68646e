//! Each `TestApp` has a log of its own, so that a test can prove that no
//! patient data, token or password reaches the log of ITS server.
//!
//! The server runs in the test process (actix workers on threads of their
//! own), so one process-wide subscriber routes every event to the app it
//! belongs to: events inside the server's `request` span go to the app
//! listening on the span's `port`; events inside the harness's `test_app`
//! span (server start-up, operator commands a test runs in-process) go to
//! that app. An event neither span claims (e.g. one emitted on a thread the
//! request did not hand its span to) goes to a process-wide log,
//! `unattributed_logs()`, which the leak test searches too.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// The harness's span around everything an app does outside requests.
pub(crate) const APP_SPAN: &str = "test_app";
/// The server's span around each request; it records the listening port.
const REQUEST_SPAN: &str = "request";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Route {
    App(u64),
    Port(u64),
}

type Buffer = Arc<Mutex<String>>;

static ROUTES: LazyLock<Mutex<HashMap<Route, Buffer>>> = LazyLock::new(Default::default);
static UNATTRIBUTED: Mutex<String> = Mutex::new(String::new());
static NEXT_APP: AtomicU64 = AtomicU64::new(1);
static INSTALLED: OnceLock<()> = OnceLock::new();

fn routes() -> std::sync::MutexGuard<'static, HashMap<Route, Buffer>> {
    ROUTES.lock().unwrap_or_else(|e| e.into_inner())
}

/// One app's log: registered under its harness id at once and under its
/// port once the server listens; unregistered when the app stops.
pub(crate) struct AppLog {
    id: u64,
    port: Option<u16>,
    buffer: Buffer,
}

impl AppLog {
    pub(crate) fn new() -> AppLog {
        install();
        let id = NEXT_APP.fetch_add(1, Ordering::Relaxed);
        let buffer = Buffer::default();
        routes().insert(Route::App(id), buffer.clone());
        AppLog {
            id,
            port: None,
            buffer,
        }
    }

    /// A span whose events (and those of its children) go to this log.
    pub(crate) fn span(&self) -> tracing::Span {
        tracing::info_span!(APP_SPAN, app = self.id)
    }

    pub(crate) fn listening_on(&mut self, port: u16) {
        self.port = Some(port);
        routes().insert(Route::Port(u64::from(port)), self.buffer.clone());
    }

    pub(crate) fn text(&self) -> String {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Later events of this server go to the unattributed log (a later app
    /// may get the same port).
    pub(crate) fn close(&mut self) {
        let mut routes = routes();
        routes.remove(&Route::App(self.id));
        if let Some(port) = self.port.take() {
            routes.remove(&Route::Port(u64::from(port)));
        }
    }
}

impl Drop for AppLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// What the server logged that no app's span claimed, over the whole process.
pub fn unattributed_logs() -> String {
    UNATTRIBUTED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The server's log filter plus debug for caregraph itself.
fn install() {
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::registry()
            .with(EnvFilter::new("info,caregraph=debug,sqlx=warn,sea_orm=warn"))
            .with(Router)
            .try_init();
    });
}

/// Every field of an event or span, as `name=value` (values as the fmt
/// subscriber prints them), and the route a span's fields name.
#[derive(Default)]
struct Fields {
    text: String,
    route: Option<Route>,
    span_name: &'static str,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match (self.span_name, field.name()) {
            (APP_SPAN, "app") => self.route = Some(Route::App(value)),
            (REQUEST_SPAN, "port") => self.route = Some(Route::Port(value)),
            _ => {}
        }
        self.record_debug(field, &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if let Ok(value) = u64::try_from(value) {
            self.record_u64(field, value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.text, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.text, " {}={value:?}", field.name());
    }
}

/// The fields and route of a span, kept in its extensions.
struct SpanFields(Fields);

struct Router;

impl<S> Layer<S> for Router
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields {
            span_name: attrs.metadata().name(),
            ..Fields::default()
        };
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = format!("{} {}:{}", metadata.level(), metadata.target(), fields.text);
        let mut route = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let extensions = span.extensions();
                if let Some(SpanFields(fields)) = extensions.get::<SpanFields>() {
                    let _ = write!(line, " in {}{{{} }}", span.name(), fields.text);
                    route = route.or(fields.route);
                }
            }
        }
        line.push('\n');
        if std::env::var_os("TEST_LOG").is_some() {
            eprint!("{line}");
        }
        let buffer = route.and_then(|route| routes().get(&route).cloned());
        match buffer {
            Some(buffer) => buffer.lock().unwrap_or_else(|e| e.into_inner()).push_str(&line),
            None => UNATTRIBUTED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&line),
        }
    }
}
