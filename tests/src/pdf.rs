//! What a PDF says, as a reader that is not Learnlog's sees it: Python's pypdf (prepared by `scripts/test`)
//! extracts the text and lists the fonts of a PDF, or of every PDF attached to an email.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct PdfText {
    /// The attachment's file name, for a PDF read out of an email.
    pub filename: Option<String>,
    pub pages: usize,
    pub text: String,
    /// Each font's PostScript name, and whether the PDF embeds it.
    pub fonts: std::collections::BTreeMap<String, bool>,
}

/// The PDFs in `data`: the PDF itself, or the PDF attachments of a raw email.
pub async fn read(data: &[u8]) -> Vec<PdfText> {
    crate::python::json("pdf_text.py", &[], data).await
}
