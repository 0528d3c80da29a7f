//! The fonts every certificate draws with, built into the binary.
//!
//! The servers that render certificates have no fonts installed, and a trainee's name can be written
//! in any script, so the crate carries its own: Noto Sans for Latin, Greek and Cyrillic, Noto Sans
//! Arabic, Droid Sans Fallback for Chinese and Japanese, and NanumSquare for Korean. See
//! fonts/README.md for where they come from.

use std::sync::LazyLock;

use krilla::text::Font;

/// One font, read twice from the same bytes: once for rustybuzz, which shapes text and answers which
/// characters the font has, and once for krilla, which embeds the glyphs that were drawn.
pub(crate) struct LoadedFont {
    pub(crate) face: rustybuzz::Face<'static>,
    pub(crate) pdf: Font,
}

impl LoadedFont {
    fn load(name: &'static str, data: &'static [u8]) -> Result<Self, &'static str> {
        let face = rustybuzz::Face::from_slice(data, 0).ok_or(name)?;
        let pdf = Font::new(data.into(), 0).ok_or(name)?;
        Ok(Self { face, pdf })
    }

    /// Whether the font draws `c` with a glyph of its own rather than with the empty box.
    pub(crate) fn covers(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }
}

/// Which font a piece of text is drawn with: an index into [`Fonts::all`].
pub(crate) type FontId = usize;

/// The fonts, in the order they are tried for a character: the first that has it draws it.
pub(crate) struct Fonts {
    pub(crate) all: [LoadedFont; 4],
}

/// The font drawn with when no font has a character: its empty box at least keeps the spacing.
pub(crate) const FALLBACK: FontId = 0;

impl Fonts {
    fn load() -> Result<Self, &'static str> {
        Ok(Self {
            all: [
                LoadedFont::load("NotoSans-Regular.ttf", include_bytes!("../fonts/NotoSans-Regular.ttf"))?,
                LoadedFont::load("NotoSansArabic-Regular.ttf", include_bytes!("../fonts/NotoSansArabic-Regular.ttf"))?,
                LoadedFont::load("DroidSansFallbackFull.ttf", include_bytes!("../fonts/DroidSansFallbackFull.ttf"))?,
                LoadedFont::load("NanumSquareR.ttf", include_bytes!("../fonts/NanumSquareR.ttf"))?,
            ],
        })
    }

    /// The first font that has `c`, if any.
    pub(crate) fn first_covering(&self, c: char) -> Option<FontId> {
        self.all.iter().position(|font| font.covers(c))
    }

    pub(crate) fn get(&self, id: FontId) -> &LoadedFont {
        &self.all[id]
    }
}

/// The fonts are parsed once per process; parsing Droid Sans Fallback's four megabytes for every
/// certificate would be wasted work. A font that does not parse is kept as its file name, so that every
/// render reports it instead of the process panicking.
static FONTS: LazyLock<Result<Fonts, &'static str>> = LazyLock::new(Fonts::load);

/// The fonts, or the name of the one that could not be read.
pub(crate) fn fonts() -> Result<&'static Fonts, &'static str> {
    FONTS.as_ref().map_err(|name| *name)
}
