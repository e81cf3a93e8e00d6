//! CSV export: RFC 4180 quoting (by the `csv` crate) and neutralised cells
//! against spreadsheet formula injection.

use std::borrow::Cow;
use std::sync::Arc;

use leadflow_kernel::{KeysetPage, TenantScope};

use crate::error::LeadError;
use crate::model::{Lead, LeadFilter, Visibility};
use crate::ports::LeadRepository;

/// The columns of the export, in order.
pub const COLUMNS: [&str; 15] = [
    "id",
    "email",
    "name",
    "company",
    "phone",
    "message",
    "source",
    "status",
    "qualification",
    "qualification_score",
    "qualification_reason",
    "assignee_id",
    "metadata",
    "created_at",
    "updated_at",
];

/// Leads read per database round trip while exporting.
pub const BATCH: u64 = 1000;

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a
/// leading tab or carriage return) gets a leading `'`, so it shows as text.
#[must_use]
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn row(lead: &Lead) -> [String; 15] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        lead.id.to_string(),
        lead.email.as_ref().to_owned(),
        lead.name.clone(),
        opt(&lead.company),
        opt(&lead.phone),
        lead.message.clone(),
        opt(&lead.source),
        lead.status.as_str().to_owned(),
        lead.qualification.as_ref().map(|q| q.category.as_str().to_owned()).unwrap_or_default(),
        lead.qualification.as_ref().map(|q| q.score.to_string()).unwrap_or_default(),
        lead.qualification.as_ref().map(|q| q.reason.clone()).unwrap_or_default(),
        lead.assignee_id.map(|u| u.to_string()).unwrap_or_default(),
        if lead.metadata.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(lead.metadata.clone()).to_string()
        },
        lead.created_at.to_rfc3339(),
        lead.updated_at.to_rfc3339(),
    ]
}

/// Writes `leads` as CSV records (with the header row first when `header`).
///
/// # Errors
/// When the CSV writer fails (it does not on memory).
pub fn write_csv(leads: &[Lead], header: bool) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    if header {
        writer.write_record(COLUMNS)?;
    }
    for lead in leads {
        writer.write_record(row(lead).iter().map(|c| neutralize(c).into_owned()))?;
    }
    Ok(writer.into_inner()?)
}

/// An export in progress: pulls [`BATCH`] leads at a time, so memory stays
/// flat whatever the number of leads.
pub struct LeadExport {
    pub(crate) leads: Arc<dyn LeadRepository>,
    pub(crate) scope: TenantScope,
    pub(crate) filter: LeadFilter,
    pub(crate) visibility: Visibility,
    pub(crate) page: Option<KeysetPage>,
    pub(crate) header_sent: bool,
}

impl LeadExport {
    /// The next chunk of CSV, or `None` at the end. The first chunk carries the header.
    ///
    /// # Errors
    /// When the store fails midway (the client then sees a truncated body).
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, LeadError> {
        let Some(page) = self.page else { return Ok(None) };
        let batch = self.leads.page(self.scope, &self.filter, &self.visibility, page).await?;
        self.page = batch.next.map(|after| KeysetPage { limit: BATCH, after: Some(after) });
        let header = !self.header_sent;
        self.header_sent = true;
        Ok(Some(write_csv(&batch.items, header)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LeadInput;
    use chrono::Utc;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        assert_eq!(neutralize("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(neutralize("+1 555"), "'+1 555");
        assert_eq!(neutralize("-2"), "'-2");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("Ada"), "Ada");
        assert_eq!(neutralize(""), "");
    }

    #[test]
    fn rows_are_quoted_per_rfc_4180_and_read_back() {
        let lead = Lead::new(
            leadflow_kernel::OrganizationId::new(),
            LeadInput {
                email: "a@b.io".into(),
                name: "Doe, \"Jo\"".into(),
                message: "line one\nline two".into(),
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
        let bytes = write_csv(std::slice::from_ref(&lead), true).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[2], "Doe, \"Jo\"");
        assert_eq!(&record[5], "line one\nline two");
    }
}
