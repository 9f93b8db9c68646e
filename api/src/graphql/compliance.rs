//! A patient's accounting of disclosures (`myAccessLog`) and the compliance
//! console (`auditEvents`, `accessReview`, `exportAuditEvents`). Everything
//! here reads the audit trail through `Caller`; nobody but a compliance
//! officer sees the console, and only a patient sees `myAccessLog`.

use async_graphql::{Context, Object};

use super::common::caller;
use super::errors::ApiResult;
use super::patient::PageInfo;
use super::visibility;
use crate::access::{
    AccessLogEntry, AccessLogPage, AccountReview, AuditEventPage, AuditEventView, AuditExport, AuditFilter,
    audit_cursor_of,
};

#[derive(Default)]
pub struct ComplianceQuery;

#[derive(Default)]
pub struct ComplianceMutation;

pub struct AuditEventEdge(AuditEventView);

#[Object(visible = "visibility::reads_audit_trail")]
impl AuditEventEdge {
    async fn cursor(&self) -> String {
        audit_cursor_of(self.0.seq)
    }
    async fn node(&self) -> &AuditEventView {
        &self.0
    }
}

/// A page of audit events in chain order (`seq` ascending).
pub struct AuditEventConnection(AuditEventPage);

#[Object(visible = "visibility::reads_audit_trail")]
impl AuditEventConnection {
    async fn nodes(&self) -> &[AuditEventView] {
        &self.0.events
    }
    async fn edges(&self) -> Vec<AuditEventEdge> {
        self.0.events.iter().cloned().map(AuditEventEdge).collect()
    }
    async fn page_info(&self) -> PageInfo {
        let events = &self.0.events;
        PageInfo::forward(
            self.0.has_next_page,
            events.first().map(|e| audit_cursor_of(e.seq)),
            events.last().map(|e| audit_cursor_of(e.seq)),
        )
    }
}

pub struct AccessLogEdge(AccessLogEntry);

#[Object(visible = "visibility::reads_access_log")]
impl AccessLogEdge {
    async fn cursor(&self) -> String {
        audit_cursor_of(self.0.seq)
    }
    async fn node(&self) -> &AccessLogEntry {
        &self.0
    }
}

/// A page of your accounting of disclosures, newest first.
pub struct AccessLogConnection(AccessLogPage);

#[Object(visible = "visibility::reads_access_log")]
impl AccessLogConnection {
    async fn nodes(&self) -> &[AccessLogEntry] {
        &self.0.entries
    }
    async fn edges(&self) -> Vec<AccessLogEdge> {
        self.0.entries.iter().cloned().map(AccessLogEdge).collect()
    }
    async fn page_info(&self) -> PageInfo {
        let entries = &self.0.entries;
        PageInfo::forward(
            self.0.has_next_page,
            entries.first().map(|e| audit_cursor_of(e.seq)),
            entries.last().map(|e| audit_cursor_of(e.seq)),
        )
    }
}

#[Object]
impl ComplianceQuery {
    /// Your accounting of disclosures (45 CFR 164.528): every time someone
    /// else read or changed your record — when, who (name and role), which
    /// parts (field classes), why (purpose), and whether under break-glass
    /// (emergency access). Newest first. Your own reads of your record are
    /// not disclosures and are not listed; nothing about other patients is.
    /// Patients only.
    #[graphql(visible = "visibility::reads_access_log")]
    async fn my_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> ApiResult<AccessLogConnection> {
        let page = caller(ctx).my_access_log(first, after.as_deref()).await?;
        Ok(AccessLogConnection(page.into_inner()))
    }

    /// The audit trail (compliance officers): events matching `filter`, in
    /// chain order, a page at a time. The search is itself recorded
    /// (AUDIT_SEARCH).
    #[graphql(visible = "visibility::reads_audit_trail")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        #[graphql(desc = "Page size, 0 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> ApiResult<AuditEventConnection> {
        let page = caller(ctx)
            .audit_events(filter.unwrap_or_default(), first, after.as_deref())
            .await?;
        Ok(AuditEventConnection(page))
    }

    /// Every account, staff and patients (compliance officers): role,
    /// whether it is active, last login, dormant (no login in 90 days),
    /// privileged, and how often it broke glass. Recorded as AUDIT_SEARCH.
    #[graphql(visible = "visibility::reads_audit_trail")]
    async fn access_review(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountReview>> {
        Ok(caller(ctx).access_review().await?)
    }
}

#[Object]
impl ComplianceMutation {
    /// The audit events matching `filter` as CSV, in chain order, up to the
    /// trail's length at the moment of export (compliance officers). At most
    /// 100 000 events: a larger export is BAD_USER_INPUT, narrow the filter.
    /// The export is itself recorded as an EXPORT event before it is returned.
    #[graphql(visible = "visibility::reads_audit_trail")]
    async fn export_audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
    ) -> ApiResult<AuditExport> {
        Ok(caller(ctx)
            .export_audit_events(filter.unwrap_or_default())
            .await?)
    }
}
