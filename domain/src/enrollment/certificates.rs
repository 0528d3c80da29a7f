//! The certificate email (R10): automatic once, and on request at most every ten minutes.

use super::*;

/// Asks for the certificate to be emailed with its PDF (R10). The automatic email (`auto`) goes out once:
/// asked again, it changes nothing. The trainee may ask again, but not within
/// [`CERTIFICATE_EMAIL_INTERVAL`] of the last email.
pub(super) fn email_certificate(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
    auto: bool,
    now: OffsetDateTime,
) -> Result<Vec<Event>, LearningRejection> {
    if enrollment.status == EnrollmentStatus::Missing {
        return Err(LearningRejection::NotEnrolled);
    }
    let Some(certificate_id) = enrollment.certificate_id else { return Err(LearningRejection::NoCertificate) };
    if auto && enrollment.auto_emailed {
        return Ok(Vec::new());
    }
    let next = enrollment.last_email_at.map(|last| last + CERTIFICATE_EMAIL_INTERVAL);
    if let Some(next) = next.filter(|next| !auto && *next > now) {
        let wait = (next - now).whole_seconds().max(1);
        return Err(LearningRejection::EmailedRecently {
            retry_after_seconds: u32::try_from(wait).unwrap_or(u32::MAX),
        });
    }
    Ok(vec![Event::CertificateEmailRequested(CertificateEmailRequested {
        trainee_id,
        course_id,
        certificate_id,
        auto,
        requested_at: now,
    })])
}
