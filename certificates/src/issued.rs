//! An issued certificate as the read models know it: `enrollment_view` (who, which course, when), the
//! catalogue (the course's title and instructor) and the user directory (names, gone once an account is
//! erased). The query API verifies and downloads from it, and the certificate saga emails it.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Certificate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub certificate_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    /// `None` once the trainee's account was erased (or deleted).
    pub trainee_name: Option<String>,
    pub course_title: String,
    pub instructors: Vec<String>,
    pub issued_at: OffsetDateTime,
}

impl Issued {
    /// What the PDF shows, with `verify_url` printed on it.
    pub fn certificate<'a>(&'a self, verify_url: &'a str) -> Certificate<'a> {
        Certificate {
            certificate_id: self.certificate_id,
            trainee_name: self.trainee_name.as_deref(),
            course_title: &self.course_title,
            instructors: &self.instructors,
            issued_on: self.issued_at.date(),
            verify_url,
        }
    }
}

/// The certificate `certificate_id`, if one was issued (and projected).
pub async fn find(
    client: &tokio_postgres::Client,
    certificate_id: Uuid,
) -> Result<Option<Issued>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT e.trainee_id, e.course_id, e.completed_at, t.name AS trainee_name, c.title, c.instructor_name \
             FROM enrollment_view e JOIN catalog_course c ON c.id = e.course_id \
             LEFT JOIN user_directory t ON t.id = e.trainee_id \
             WHERE e.certificate_id = $1 AND e.completed_at IS NOT NULL",
            &[&certificate_id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Issued {
        certificate_id,
        trainee_id: row.try_get("trainee_id")?,
        course_id: row.try_get("course_id")?,
        trainee_name: row.try_get("trainee_name")?,
        course_title: row.try_get("title")?,
        instructors: vec![row.try_get("instructor_name")?],
        issued_at: row.try_get("completed_at")?,
    }))
}

/// The public page where anyone given the link checks the certificate: the web frontend's
/// `/certificates/{id}?code={code}` (the code, not the id alone, opens the name).
pub fn verify_url(frontend_url: &str, certificate_id: Uuid, code: &str) -> String {
    format!("{}/certificates/{certificate_id}?code={code}", frontend_url.trim_end_matches('/'))
}
