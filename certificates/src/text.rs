//! Turning one line of text into glyphs placed left to right.
//!
//! A line is ordered with the Unicode bidirectional algorithm, so that an Arabic name reads right to
//! left and an Arabic title with a Latin word in it keeps each part in its own direction. Each
//! directional run is cut where the font has to change, and each piece is shaped by rustybuzz in the
//! run's direction, which joins Arabic letters and picks their contextual forms.

use std::ops::Range;

use krilla::text::{GlyphId, KrillaGlyph};
use rustybuzz::{Direction, UnicodeBuffer};
use unicode_bidi::ParagraphBidiInfo;

use crate::fonts::{FALLBACK, FontId, Fonts};

/// A line shaped at font size 1, so that it can be measured before its size is chosen.
pub(crate) struct ShapedLine {
    /// The text as drawn. Every glyph names the bytes of this text it stands for, which is what lets the
    /// PDF map its glyphs back to characters when text is copied or extracted.
    pub(crate) text: String,
    /// The chunks in reading order, each placed where it belongs on the line.
    pub(crate) chunks: Vec<Chunk>,
    /// The advance of the whole line, in ems.
    pub(crate) width: f32,
}

/// Glyphs drawn with one font in one direction, with one text-showing operation in the PDF.
pub(crate) struct Chunk {
    pub(crate) font: FontId,
    /// The glyphs left to right, with their advances and offsets in ems.
    pub(crate) glyphs: Vec<KrillaGlyph>,
    /// Where the chunk starts, in ems from the left end of the line.
    pub(crate) x: f32,
}

impl Chunk {
    fn reading_position(&self) -> usize {
        self.glyphs.iter().map(|glyph| glyph.text_range.start).min().unwrap_or(0)
    }
}

/// Orders, splits by font and shapes one line of text.
///
/// The chunks are placed left to right but returned in reading order, and a right-to-left run is cut
/// into words. Text extractors that follow the order of the PDF's content (pypdf, for one) then read
/// a right-to-left name word by word in its reading order instead of from its last word; viewers
/// that sort text by position are not affected. Cutting at words also suits the PDF's mark for text
/// drawn in reverse, which may not cover spaces between words.
pub(crate) fn shape_line(fonts: &Fonts, text: &str) -> ShapedLine {
    let text = collapse_whitespace(text);
    let mut chunks = Vec::new();
    let mut x = 0.0;
    if !text.is_empty() {
        // No base direction is forced: a line that starts with Arabic is a right-to-left paragraph,
        // one that starts with Latin a left-to-right one.
        let bidi = ParagraphBidiInfo::new(&text, None);
        let (levels, runs) = bidi.visual_runs(0..text.len());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            let mut pieces = split_by_font(fonts, &text, run);
            // The pieces of a right-to-left run are found in reading order but drawn from the left.
            if rtl {
                pieces.reverse();
            }
            for (font, range) in pieces {
                let glyphs = shape_piece(fonts, &text, font, range.clone(), rtl);
                let parts = if rtl { split_words(&text, range, glyphs) } else { vec![glyphs] };
                for glyphs in parts {
                    let width: f32 = glyphs.iter().map(|glyph| glyph.x_advance).sum();
                    chunks.push(Chunk { font, glyphs, x });
                    x += width;
                }
            }
        }
    }
    chunks.sort_by_key(Chunk::reading_position);
    ShapedLine { text, chunks, width: x }
}

/// Cuts the glyphs of a right-to-left piece into words, each with the space that comes before it.
/// The glyphs of a word are consecutive, so the words come out left to right like the glyphs.
///
/// The space goes with the word after it because extractors that read a chunk drawn in reverse tend
/// to put a space at the chunk's right end, the start of the word in reading order, where it belongs
/// only if it came before the word.
fn split_words(text: &str, piece: Range<usize>, glyphs: Vec<KrillaGlyph>) -> Vec<Vec<KrillaGlyph>> {
    // A glyph's word is told by the last space up to and including its own text.
    let word_of =
        |glyph: &KrillaGlyph| text[piece.start..glyph.text_range.end].rfind(' ').map(|offset| piece.start + offset);
    let mut words: Vec<(Option<usize>, Vec<KrillaGlyph>)> = Vec::new();
    for glyph in glyphs {
        let word = word_of(&glyph);
        match words.last_mut() {
            Some((last, glyphs)) if *last == word => glyphs.push(glyph),
            _ => words.push((word, vec![glyph])),
        }
    }
    words.into_iter().map(|(_, glyphs)| glyphs).collect()
}

/// Turns line breaks, tabs and other control characters into single spaces and trims the ends. A
/// certificate line is one line: a newline in a course title would otherwise start a new bidi
/// paragraph and be drawn as an empty box.
fn collapse_whitespace(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|word| !word.is_empty()) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    line
}

/// What a character asks of the font choice.
enum Wants {
    /// Nothing: a bidi control, which only steers the ordering and is not drawn.
    Hidden,
    /// The font of its neighbours if they have it, else the first font that does (if any).
    Neighbours(Option<FontId>),
    /// The first font that has it.
    Own(FontId),
}

/// Cuts the run `range` of `text` into pieces that one font draws, in reading order.
fn split_by_font(fonts: &Fonts, text: &str, range: Range<usize>) -> Vec<(FontId, Range<usize>)> {
    let chars: Vec<(usize, char, Wants)> = text[range.clone()]
        .char_indices()
        .map(|(offset, c)| {
            let wants = if is_bidi_control(c) {
                Wants::Hidden
            } else if follows_neighbours(c) {
                Wants::Neighbours(fonts.first_covering(c))
            } else {
                Wants::Own(fonts.first_covering(c).unwrap_or(FALLBACK))
            };
            (range.start + offset, c, wants)
        })
        .collect();

    // For a space or mark before any letter of the run, the font of the letter that comes next.
    let mut next_own = vec![None; chars.len()];
    let mut upcoming = None;
    for (index, (_, _, wants)) in chars.iter().enumerate().rev() {
        next_own[index] = upcoming;
        if let Wants::Own(font) = wants {
            upcoming = Some(*font);
        }
    }

    let mut pieces: Vec<(FontId, Range<usize>)> = Vec::new();
    let mut previous = None;
    let mut extendable = false;
    for (index, &(start, c, ref wants)) in chars.iter().enumerate() {
        let font = match *wants {
            Wants::Hidden => {
                extendable = false;
                continue;
            }
            Wants::Own(font) => font,
            Wants::Neighbours(own) => {
                let has_it = |font: &FontId| fonts.get(*font).covers(c);
                previous.filter(has_it).or(next_own[index].filter(has_it)).or(own).unwrap_or(FALLBACK)
            }
        };
        let end = start + c.len_utf8();
        match pieces.last_mut() {
            Some((last, piece)) if extendable && *last == font => piece.end = end,
            _ => pieces.push((font, start..end)),
        }
        extendable = true;
        previous = Some(font);
    }
    pieces
}

/// The explicit bidi formatting characters, including the isolates this crate puts around the
/// instructors' names. Fonts have no glyphs for them; they are left out of the drawn pieces.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that belong to no script of their own: spaces, punctuation, joiners, variation
/// selectors and combining marks. They are drawn with the font of the text around them, so that a
/// space inside a Chinese name has the Chinese font's width and an accent sits on its letter.
fn follows_neighbours(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A0}'..='\u{00BF}'     // Latin-1 punctuation and symbols
            | '\u{0300}'..='\u{036F}'   // combining diacritical marks
            | '\u{0483}'..='\u{0489}'   // Cyrillic combining marks
            | '\u{0610}'..='\u{061A}'   // Arabic marks
            | '\u{064B}'..='\u{065F}'   // Arabic vowel marks
            | '\u{0670}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E4}'
            | '\u{06E7}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
            | '\u{08D3}'..='\u{08FF}'   // extended Arabic marks
            | '\u{1AB0}'..='\u{1AFF}'   // combining diacritical marks extended
            | '\u{1DC0}'..='\u{1DFF}'   // combining diacritical marks supplement
            | '\u{200B}'..='\u{200D}'   // zero-width space and joiners
            | '\u{2010}'..='\u{2027}'   // general punctuation
            | '\u{2030}'..='\u{205E}'
            | '\u{20D0}'..='\u{20FF}'   // combining marks for symbols
            | '\u{3099}'..='\u{309A}'   // kana voicing marks
            | '\u{FE00}'..='\u{FE0F}'   // variation selectors
            | '\u{FE20}'..='\u{FE2F}'   // combining half marks
        )
}

/// Shapes `range` of `text` with one font. The glyphs come out left to right whatever the direction,
/// each with the bytes of `text` its cluster stands for.
fn shape_piece(fonts: &Fonts, text: &str, font: FontId, range: Range<usize>, rtl: bool) -> Vec<KrillaGlyph> {
    let face = &fonts.get(font).face;
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(&text[range.clone()]);
    // The text around the piece lets the shaper see, for instance, that an Arabic letter is followed by
    // a joiner; the context is set after the text because pushing text clears it.
    buffer.set_pre_context(&text[..range.start]);
    buffer.set_post_context(&text[range.end..]);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl { Direction::RightToLeft } else { Direction::LeftToRight });
    let shaped = rustybuzz::shape(face, &[], buffer);

    // A cluster covers the bytes from its start up to the next cluster's start. Clusters are
    // monotonic in rustybuzz's default cluster level, so sorting their starts finds that next start
    // in both directions.
    let mut cluster_starts: Vec<usize> = shaped.glyph_infos().iter().map(|info| info.cluster as usize).collect();
    cluster_starts.sort_unstable();
    cluster_starts.dedup();
    let cluster_end = |start: usize| {
        let next = cluster_starts.partition_point(|&other| other <= start);
        cluster_starts.get(next).copied().unwrap_or(range.len())
    };

    let units_per_em = face.units_per_em() as f32;
    shaped
        .glyph_infos()
        .iter()
        .zip(shaped.glyph_positions())
        .map(|(info, position)| {
            let start = info.cluster as usize;
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                position.x_advance as f32 / units_per_em,
                position.x_offset as f32 / units_per_em,
                position.y_offset as f32 / units_per_em,
                position.y_advance as f32 / units_per_em,
                range.start + start..range.start + cluster_end(start),
                None,
            )
        })
        .collect()
}
