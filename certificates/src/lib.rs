//! Course-completion certificates as PDF files.
//!
//! [`render`] draws one A4 landscape page: who completed which course, taught by whom, when, and
//! where anyone can check that the certificate is real. Names and titles are user input in any
//! script, so the crate embeds its own fonts (Latin, Arabic and CJK), orders right-to-left text with
//! the Unicode bidirectional algorithm and shapes it with rustybuzz; the PDF keeps a mapping from
//! glyphs back to characters, so text copied out of it is the text that was drawn.
//!
//! Rendering is deterministic: the same certificate always gives the same bytes, so a PDF can be
//! rendered again on every download instead of being stored.

mod fonts;
pub mod issued;
mod text;

pub use issued::verify_url;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use crate::fonts::Fonts;

/// What a certificate shows.
#[derive(Debug, Clone, Copy)]
pub struct Certificate<'a> {
    pub certificate_id: uuid::Uuid,
    /// The trainee's name; None once the account was erased (the certificate then shows no name).
    pub trainee_name: Option<&'a str>,
    pub course_title: &'a str,
    /// The course's instructors, as shown ("A and B").
    pub instructors: &'a [String],
    pub issued_on: time::Date,
    /// Where anyone can check the certificate, e.g. https://example.com/api/v1/certificates/<id>
    pub verify_url: &'a str,
}

/// Why a certificate could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A font built into the crate could not be read, so no text can be drawn. It names the font file.
    #[error("the built-in font {0} could not be read")]
    Font(&'static str),
    /// The PDF writer refused the document; the message is the writer's.
    #[error("the certificate's PDF could not be written: {0}")]
    Pdf(String),
}

/// Renders the certificate as a one-page PDF, A4 landscape, with the fonts it uses embedded.
pub fn render(certificate: &Certificate<'_>) -> Result<Vec<u8>, RenderError> {
    render_with(certificate, SerializeSettings::default())
}

/// A4 landscape, in points.
const PAGE_WIDTH: f32 = 842.0;
const PAGE_HEIGHT: f32 = 595.0;
/// The width a line may take; a wider line is drawn at a smaller size rather than cut off.
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * 80.0;
/// The outer and inner frame, inset from the page's edge.
const OUTER_FRAME: f32 = 20.0;
const INNER_FRAME: f32 = 28.0;
/// The band the main text is centred in, between the top of the inner frame and the footer.
const BODY_TOP: f32 = INNER_FRAME;
const BODY_BOTTOM: f32 = 480.0;
/// The baselines of the footer's two lines.
const FOOTER_BASELINES: [f32; 2] = [530.0, 545.0];

const ACCENT: (u8, u8, u8) = (31, 58, 95);
const INK: (u8, u8, u8) = (33, 33, 33);
const MUTED: (u8, u8, u8) = (96, 96, 96);

/// One line of the certificate, centred on the page.
struct Line {
    text: String,
    /// The font size the line is drawn at unless it is too wide for the page.
    size: f32,
    /// The distance from the previous line's baseline (for the first line of the body: ignored).
    space_before: f32,
    color: (u8, u8, u8),
}

impl Line {
    fn new(text: impl Into<String>, size: f32, space_before: f32, color: (u8, u8, u8)) -> Self {
        Self { text: text.into(), size, space_before, color }
    }
}

/// The lines of the body, top to bottom.
fn body_lines(certificate: &Certificate<'_>) -> Vec<Line> {
    let mut lines = vec![Line::new("Certificate of completion", 34.0, 0.0, ACCENT)];
    // An erased trainee's certificate names nobody; the sentence is turned so that it still reads
    // well without a name.
    match certificate.trainee_name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => {
            lines.push(Line::new("This certifies that", 15.0, 56.0, MUTED));
            lines.push(Line::new(name, 40.0, 58.0, INK));
            lines.push(Line::new("has completed the course", 15.0, 44.0, MUTED));
        }
        None => lines.push(Line::new("This certifies the completion of the course", 15.0, 56.0, MUTED)),
    }
    lines.push(Line::new(certificate.course_title, 26.0, 46.0, INK));
    if let Some(instructors) = list_names(certificate.instructors) {
        lines.push(Line::new(format!("taught by {instructors}"), 15.0, 36.0, MUTED));
    }
    lines.push(Line::new(format!("Issued on {}", long_date(certificate.issued_on)), 13.0, 44.0, MUTED));
    lines
}

/// "A", "A and B", "A, B and C". Each name is wrapped in a first-strong isolate so that the bidi
/// algorithm orders it on its own: two Arabic names separated by a comma would otherwise become one
/// right-to-left run and swap places in an English sentence.
fn list_names(names: &[String]) -> Option<String> {
    let names: Vec<String> = names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .map(|name| format!("\u{2068}{name}\u{2069}"))
        .collect();
    match names.as_slice() {
        [] => None,
        [only] => Some(only.clone()),
        [init @ .., last] => Some(format!("{} and {last}", init.join(", "))),
    }
}

/// "30 November 2026".
fn long_date(date: time::Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

fn render_with(certificate: &Certificate<'_>, settings: SerializeSettings) -> Result<Vec<u8>, RenderError> {
    let fonts = fonts::fonts().map_err(RenderError::Font)?;

    let mut document = Document::new_with(settings);
    document.set_metadata(metadata(certificate));
    let page_settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 landscape is a valid page size");
    let mut page = document.start_page_with(page_settings);
    let mut surface = page.surface();
    draw_frame(&mut surface);

    let body = body_lines(certificate);
    for (line, baseline) in body.iter().zip(body_baselines(&body)) {
        draw_line(&mut surface, fonts, line, baseline);
    }
    let footer = [
        Line::new(format!("Certificate {}", certificate.certificate_id), 9.0, 0.0, MUTED),
        Line::new(format!("Verify at {}", certificate.verify_url), 9.0, 0.0, MUTED),
    ];
    for (line, baseline) in footer.iter().zip(FOOTER_BASELINES) {
        draw_line(&mut surface, fonts, line, baseline);
    }

    surface.finish();
    page.finish();
    document.finish().map_err(|error| RenderError::Pdf(error.to_string()))
}

/// The document's properties. Nothing in them depends on the moment of rendering: the creation date
/// is the day the certificate was issued, and the file identifier derives from the certificate's id,
/// so every rendering of a certificate is the same file.
fn metadata(certificate: &Certificate<'_>) -> Metadata {
    let id = certificate.certificate_id;
    let mut metadata = Metadata::new()
        .title(format!("Certificate {id}"))
        .document_id(id.to_string())
        .language("en".to_owned())
        .creator("Learnlog".to_owned());
    let issued_on = certificate.issued_on;
    if let Ok(year) = u16::try_from(issued_on.year()) {
        metadata = metadata.creation_date(DateTime::new(year).month(issued_on.month().into()).day(issued_on.day()));
    }
    metadata
}

/// The baselines of the body's lines, spaced as each line asks and centred as a block in the body's
/// band, so that a certificate without a name or instructors is not top-heavy.
fn body_baselines(lines: &[Line]) -> Vec<f32> {
    let mut baselines = Vec::with_capacity(lines.len());
    let mut baseline = 0.0;
    for (index, line) in lines.iter().enumerate() {
        if index > 0 {
            baseline += line.space_before;
        }
        baselines.push(baseline);
    }
    // The block reaches from the first line's cap height to the last line's descenders, roughly.
    let top = lines.first().map_or(0.0, |line| -0.75 * line.size);
    let bottom = lines.last().map_or(0.0, |line| baseline + 0.25 * line.size);
    let shift = (BODY_TOP + BODY_BOTTOM) / 2.0 - (top + bottom) / 2.0;
    baselines.iter().map(|baseline| baseline + shift).collect()
}

fn fill(color: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::default(),
    }
}

/// A double frame around the page.
fn draw_frame(surface: &mut Surface<'_>) {
    surface.set_fill(None);
    for (inset, width) in [(OUTER_FRAME, 2.5), (INNER_FRAME, 0.75)] {
        let mut path = PathBuilder::new();
        if let Some(rect) = Rect::from_ltrb(inset, inset, PAGE_WIDTH - inset, PAGE_HEIGHT - inset) {
            path.push_rect(rect);
        }
        if let Some(path) = path.finish() {
            surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(ACCENT.0, ACCENT.1, ACCENT.2).into(),
                width,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
        }
    }
    // Text is filled only; a stroke left set would outline every glyph.
    surface.set_stroke(None);
}

/// Draws `line` centred on the page with its baseline at `baseline`, smaller than its size if that
/// is what it takes to fit the page's width.
fn draw_line(surface: &mut Surface<'_>, fonts: &Fonts, line: &Line, baseline: f32) {
    let shaped = text::shape_line(fonts, &line.text);
    if shaped.width <= 0.0 {
        return;
    }
    let size = line.size.min(TEXT_WIDTH / shaped.width);
    surface.set_fill(Some(fill(line.color)));
    let left = (PAGE_WIDTH - shaped.width * size) / 2.0;
    for chunk in &shaped.chunks {
        surface.draw_glyphs(
            Point::from_xy(left + chunk.x * size, baseline),
            &chunk.glyphs,
            fonts.get(chunk.font).pdf.clone(),
            &shaped.text,
            size,
            false,
        );
    }
}

#[cfg(test)]
mod tests;
