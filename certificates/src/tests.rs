use std::collections::BTreeSet;

use time::macros::date;

use super::*;
use crate::fonts::FontId;
use crate::text::shape_line;

const NOTO: FontId = 0;
const ARABIC: FontId = 1;
const CJK: FontId = 2;

fn instructors() -> Vec<String> {
    vec!["Ada Lovelace".to_owned(), "Grace Hopper".to_owned()]
}

fn certificate<'a>(name: Option<&'a str>, title: &'a str, instructors: &'a [String]) -> Certificate<'a> {
    Certificate {
        certificate_id: uuid::Uuid::from_u128(0x0193_0000_7000_8000_0000_0000_0000_00a1),
        trainee_name: name,
        course_title: title,
        instructors,
        issued_on: date!(2026 - 11 - 30),
        verify_url: "https://example.com/api/v1/certificates/01930000-7000-8000-0000-0000000000a1",
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// Renders twice, checks both renders are the same PDF, and returns it.
fn render_checked(certificate: &Certificate<'_>) -> Vec<u8> {
    let pdf = render(certificate).expect("the certificate renders");
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert_eq!(pdf, render(certificate).expect("the certificate renders again"), "rendering is not deterministic");
    pdf
}

/// The characters the PDF's ToUnicode maps (and ActualText spans) give back for its glyphs, read from
/// an uncompressed rendering.
fn extractable_chars(certificate: &Certificate<'_>) -> BTreeSet<char> {
    let settings = SerializeSettings { compress_content_streams: false, ..SerializeSettings::default() };
    let pdf = render_with(certificate, settings).expect("the certificate renders");
    let pdf = String::from_utf8_lossy(&pdf);
    let mut chars = BTreeSet::new();
    // The glyph-to-text entries of every CMap are hex strings of UTF-16; so are ActualText strings
    // with non-ASCII text. Decoding every hex string in the file is coarser than a parser, but no
    // hex string decodes to a name's letters unless the PDF maps something back to them.
    let mut rest = pdf.as_ref();
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('>') else { break };
        let hex = &rest[..close];
        if !hex.is_empty() && hex.len() % 4 == 0 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let units: Vec<u16> =
                (0..hex.len()).step_by(4).filter_map(|at| u16::from_str_radix(&hex[at..at + 4], 16).ok()).collect();
            chars.extend(char::decode_utf16(units).filter_map(Result::ok));
        }
        rest = &rest[close..];
    }
    // ASCII ActualText is written as a literal string; the template text is ASCII and not needed here.
    chars
}

fn assert_extractable(certificate: &Certificate<'_>, text: &str) {
    let chars = extractable_chars(certificate);
    let missing: String = text.chars().filter(|c| !c.is_whitespace() && !chars.contains(c)).collect();
    assert!(missing.is_empty(), "no glyph maps back to {missing:?}");
}

#[test]
fn latin_certificate_embeds_only_the_latin_font() {
    let instructors = instructors();
    let certificate = certificate(Some("José Müller-Łukasiewicz"), "Rust for Backend Engineers", &instructors);
    let pdf = render_checked(&certificate);
    assert!(contains(&pdf, "NotoSans-Regular"));
    assert!(!contains(&pdf, "NotoSansArabic"), "the Arabic font is embedded though no Arabic is drawn");
    assert!(!contains(&pdf, "DroidSansFallback"), "the CJK font is embedded though no CJK is drawn");
    assert!(contains(&pdf, "Certificate 01930000-7000-8000-0000-0000000000a1"), "the title is not in the metadata");
    assert_extractable(&certificate, "José Müller-Łukasiewicz");
    let chars = extractable_chars(&certificate);
    assert!(!chars.contains(&'م') && !chars.contains(&'张'), "the extraction check finds letters that are not drawn");
}

#[test]
fn arabic_name_is_drawn_with_the_arabic_font() {
    let instructors = instructors();
    let certificate = certificate(Some("محمد أحمد"), "Rust for Backend Engineers", &instructors);
    let pdf = render_checked(&certificate);
    assert!(contains(&pdf, "NotoSansArabic-Regular"));
    assert!(!contains(&pdf, "DroidSansFallback"));
    assert_extractable(&certificate, "محمد أحمد");
}

#[test]
fn chinese_name_is_drawn_with_the_cjk_font() {
    let instructors = instructors();
    let certificate = certificate(Some("张伟"), "Rust for Backend Engineers", &instructors);
    let pdf = render_checked(&certificate);
    assert!(contains(&pdf, "DroidSansFallback"));
    assert!(!contains(&pdf, "NotoSansArabic"));
    assert_extractable(&certificate, "张伟");
}

#[test]
fn japanese_name_is_drawn_with_the_cjk_font() {
    let instructors = instructors();
    let certificate = certificate(Some("山田 さくら"), "はじめてのRust", &instructors);
    let pdf = render_checked(&certificate);
    assert!(contains(&pdf, "DroidSansFallback"));
    assert_extractable(&certificate, "山田 さくら はじめてのRust");
}

#[test]
fn korean_name_is_drawn_with_the_hangul_font() {
    let instructors = instructors();
    let certificate = certificate(Some("김민준"), "Rust 프로그래밍", &instructors);
    let pdf = render_checked(&certificate);
    assert!(contains(&pdf, "NanumSquare"));
    assert_extractable(&certificate, "김민준");
}

#[test]
fn erased_trainee_gets_a_certificate_without_a_name() {
    let instructors = instructors();
    let certificate = certificate(None, "Rust for Backend Engineers", &instructors);
    let pdf = render_checked(&certificate);
    let lines: Vec<String> = body_lines(&certificate).into_iter().map(|line| line.text).collect();
    assert_eq!(
        lines,
        [
            "Certificate of completion",
            "This certifies the completion of the course",
            "Rust for Backend Engineers",
            "taught by \u{2068}Ada Lovelace\u{2069} and \u{2068}Grace Hopper\u{2069}",
            "Issued on 30 November 2026",
        ]
    );
    assert_ne!(pdf, render_checked(&self::certificate(Some("Ada"), "Rust for Backend Engineers", &instructors)));
}

#[test]
fn blank_name_counts_as_no_name() {
    let with_blank = body_lines(&certificate(Some("  "), "Rust", &[])).into_iter().map(|line| line.text);
    let without = body_lines(&certificate(None, "Rust", &[])).into_iter().map(|line| line.text);
    assert!(with_blank.eq(without));
}

#[test]
fn long_title_is_scaled_down_to_fit() {
    let title = "Advanced Distributed Systems ".repeat(11);
    let title = &title[..300];
    let instructors = instructors();
    let certificate = certificate(Some("Ada Lovelace"), title, &instructors);
    render_checked(&certificate);

    let fonts = fonts::fonts().expect("the fonts load");
    let shaped = shape_line(fonts, title);
    assert!(shaped.width * 26.0 > TEXT_WIDTH, "the test title should be too wide at its nominal size");
    let size = 26.0f32.min(TEXT_WIDTH / shaped.width);
    assert!(shaped.width * size <= TEXT_WIDTH + 0.01);
    assert!(size > 4.0, "the title became unreadably small: {size}");
}

#[test]
fn names_of_200_characters_in_any_script_render() {
    let instructors = instructors();
    for unit in ["Ada ", "محمد ", "张伟"] {
        let name: String = unit.repeat(60).chars().take(200).collect();
        let certificate = certificate(Some(&name), &name, &instructors);
        render_checked(&certificate);
    }
}

#[test]
fn no_instructors_means_no_taught_by_line() {
    let lines = body_lines(&certificate(Some("Ada"), "Rust", &[]));
    assert!(lines.iter().all(|line| !line.text.starts_with("taught by")));
}

#[test]
fn instructors_are_listed_in_english() {
    let strip = |text: Option<String>| text.map(|text| text.replace(['\u{2068}', '\u{2069}'], ""));
    let names = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
    assert_eq!(strip(list_names(&names(&[]))), None);
    assert_eq!(strip(list_names(&names(&["A"]))), Some("A".to_owned()));
    assert_eq!(strip(list_names(&names(&["A", "B"]))), Some("A and B".to_owned()));
    assert_eq!(strip(list_names(&names(&["A", " ", "B", "C"]))), Some("A, B and C".to_owned()));
}

#[test]
fn dates_are_written_out() {
    assert_eq!(long_date(date!(2026 - 11 - 30)), "30 November 2026");
    assert_eq!(long_date(date!(2027 - 01 - 05)), "5 January 2027");
}

/// Chunks of a line, each as its font and the text it stands for.
type Described = Vec<(FontId, String)>;

/// The chunks of a shaped line in reading order, as the PDF has them, and in visual order, as they
/// appear on the page from the left.
fn chunk_orders(text: &str) -> (Described, Described) {
    let fonts = fonts::fonts().expect("the fonts load");
    let shaped = shape_line(fonts, text);
    let describe = |chunk: &text::Chunk| {
        let start = chunk.glyphs.iter().map(|glyph| glyph.text_range.start).min().unwrap_or(0);
        let end = chunk.glyphs.iter().map(|glyph| glyph.text_range.end).max().unwrap_or(0);
        (chunk.font, shaped.text[start..end].to_owned())
    };
    let reading = shaped.chunks.iter().map(describe).collect();
    let mut by_x: Vec<&text::Chunk> = shaped.chunks.iter().collect();
    by_x.sort_by(|a, b| a.x.total_cmp(&b.x));
    let visual = by_x.into_iter().map(describe).collect();
    (reading, visual)
}

fn drawn_order(text: &str) -> Described {
    chunk_orders(text).1
}

fn owned(chunks: &[(FontId, &str)]) -> Described {
    chunks.iter().map(|(font, text)| (*font, (*text).to_owned())).collect()
}

#[test]
fn arabic_is_drawn_right_to_left() {
    let fonts = fonts::fonts().expect("the fonts load");
    let shaped = shape_line(fonts, "محمد أحمد");
    assert!(shaped.chunks.iter().all(|chunk| chunk.font == ARABIC));
    let mut chunks: Vec<&text::Chunk> = shaped.chunks.iter().collect();
    chunks.sort_by(|a, b| a.x.total_cmp(&b.x));
    let starts: Vec<usize> =
        chunks.iter().flat_map(|chunk| chunk.glyphs.iter().map(|glyph| glyph.text_range.start)).collect();
    assert!(starts.windows(2).all(|pair| pair[0] >= pair[1]), "glyphs are not right to left: {starts:?}");
}

#[test]
fn arabic_name_is_in_reading_order_in_the_pdf() {
    let (reading, visual) = chunk_orders("محمد أحمد");
    assert_eq!(reading, owned(&[(ARABIC, "محمد"), (ARABIC, " أحمد")]));
    assert_eq!(visual, owned(&[(ARABIC, " أحمد"), (ARABIC, "محمد")]));
}

#[test]
fn arabic_letters_are_joined() {
    let fonts = fonts::fonts().expect("the fonts load");
    let alone = shape_line(fonts, "م").chunks[0].glyphs[0].glyph_id;
    let word = shape_line(fonts, "محمد");
    // Drawn right to left, the word's first letter is its last glyph, in its initial form.
    let initial = word.chunks[0].glyphs.last().expect("glyphs").glyph_id;
    assert_ne!(alone, initial, "the first letter of the word has its isolated form");
}

#[test]
fn mixed_arabic_title_keeps_each_part_in_its_direction() {
    // A right-to-left title: read from the right, "دورة" (course), then "Rust", then "للمبتدئين"
    // (for beginners). Drawn from the left, the order is the reverse, and "Rust" still reads left
    // to right. The spaces take the paragraph's direction and stay with the Arabic words.
    let (reading, visual) = chunk_orders("دورة Rust للمبتدئين");
    assert_eq!(visual, owned(&[(ARABIC, " للمبتدئين"), (NOTO, "Rust"), (ARABIC, " "), (ARABIC, "دورة")]));
    assert_eq!(reading, owned(&[(ARABIC, "دورة"), (ARABIC, " "), (NOTO, "Rust"), (ARABIC, " للمبتدئين")]));
}

#[test]
fn arabic_name_in_an_english_sentence() {
    let order = drawn_order("taught by \u{2068}محمد\u{2069} and \u{2068}Ada\u{2069}");
    let texts: Vec<&str> = order.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, ["taught by ", "محمد", " and ", "Ada"]);
    assert_eq!(order[1].0, ARABIC);
}

#[test]
fn two_arabic_instructors_keep_their_order() {
    let list = list_names(&["محمد".to_owned(), "أحمد".to_owned(), "Ada".to_owned()]).expect("names");
    let order = drawn_order(&format!("taught by {list}"));
    let texts: Vec<&str> = order.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, ["taught by ", "محمد", ", ", "أحمد", " and ", "Ada"]);
}

#[test]
fn spaces_and_marks_stay_with_their_script() {
    assert_eq!(drawn_order("张 伟"), [(CJK, "张 伟".to_owned())]);
    assert_eq!(drawn_order("Zoë"), [(NOTO, "Zoë".to_owned())]);
    // A combining acute accent on a Latin letter stays with the Latin font.
    assert_eq!(drawn_order("Jose\u{301}"), [(NOTO, "Jose\u{301}".to_owned())]);
    // Arabic with vowel marks stays one piece.
    assert_eq!(drawn_order("مُحَمَّد"), [(ARABIC, "مُحَمَّد".to_owned())]);
}

#[test]
fn line_breaks_in_input_become_spaces() {
    assert_eq!(drawn_order("Rust\n\tfor  everyone\r\n"), [(NOTO, "Rust for everyone".to_owned())]);
}

#[test]
fn characters_no_font_has_still_render() {
    let instructors = instructors();
    // Linear B is in none of the fonts; it is drawn as empty boxes with the Latin font.
    let certificate = certificate(Some("\u{10000}\u{10001}"), "Rust", &instructors);
    render_checked(&certificate);
    assert_eq!(drawn_order("\u{10000}"), [(NOTO, "\u{10000}".to_owned())]);
}

/// Writes sample certificates to the temporary directory's certificates-samples folder when
/// CERTIFICATES_SAMPLES is set, for a person to look at; otherwise does nothing.
#[test]
fn write_samples_when_asked() {
    if std::env::var_os("CERTIFICATES_SAMPLES").is_none() {
        return;
    }
    let directory = std::env::temp_dir().join("certificates-samples");
    std::fs::create_dir_all(&directory).expect("the samples folder can be created");
    let instructors = instructors();
    let mixed_instructors = vec!["محمد أحمد".to_owned(), "张伟".to_owned(), "Grace Hopper".to_owned()];
    let long_title = "Advanced Distributed Systems ".repeat(11)[..300].to_owned();
    let samples: [(&str, Certificate<'_>); 8] = [
        ("latin", certificate(Some("José Müller-Łukasiewicz"), "Rust for Backend Engineers", &instructors)),
        ("arabic", certificate(Some("محمد أحمد"), "دورة Rust للمبتدئين", &mixed_instructors)),
        ("chinese", certificate(Some("张伟"), "Rust 编程入门", &instructors)),
        ("japanese", certificate(Some("山田 さくら"), "はじめてのRust", &instructors)),
        ("korean", certificate(Some("김민준"), "Rust 프로그래밍", &instructors)),
        ("erased", certificate(None, "Rust for Backend Engineers", &[])),
        ("erased-arabic-title", certificate(None, "مقدمة في البرمجة", &instructors)),
        ("long-title", certificate(Some("Ada Lovelace"), &long_title, &instructors)),
    ];
    for (name, certificate) in samples {
        let pdf = render(&certificate).expect("the sample renders");
        std::fs::write(directory.join(format!("{name}.pdf")), pdf).expect("the sample can be written");
    }
}
