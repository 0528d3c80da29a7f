//! Pictures (course thumbnails, profile pictures): checked by their bytes, never by a name or a declared type;
//! decoded within size and pixel limits, so that a small file that claims a huge picture is refused before
//! anything is allocated for it; re-encoded, which leaves every piece of metadata (EXIF, GPS, XMP, ICC)
//! behind; kept in a few standard widths under names derived from their content, in object storage: a local
//! folder by default, S3 or any S3-compatible store by configuration.
//!
//! [`prepare`] is pure CPU work with no IO (run it off the async workers); [`Pictures`] stores, reads and
//! deletes what it prepared.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

/// The largest upload, in bytes.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// The most pixels a picture may have (a 40-megapixel photo), and the longest side.
pub const MAX_PIXELS: u64 = 40_000_000;
pub const MAX_SIDE: u32 = 12_000;
/// The widths a picture is kept in; a picture narrower than one is kept at its own width there (never enlarged).
pub const SIZES: [Size; 3] = [Size::Small, Size::Medium, Size::Large];
/// JPEG quality of the kept sizes.
const JPEG_QUALITY: u8 = 82;
/// The memory a decoder may ask for.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// One of the standard widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    Small,
    Medium,
    Large,
}

impl Size {
    pub fn width(self) -> u32 {
        match self {
            Size::Small => 96,
            Size::Medium => 320,
            Size::Large => 960,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }

    pub fn parse(name: &str) -> Option<Size> {
        SIZES.into_iter().find(|size| size.name() == name)
    }
}

/// Why a picture is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PictureError {
    #[error("a picture is at most {} MiB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("only PNG, JPEG and WebP pictures are taken")]
    Unsupported,
    #[error("a picture has at most {MAX_PIXELS} pixels and sides of at most {MAX_SIDE}")]
    TooManyPixels,
    #[error("animated pictures are not taken")]
    Animated,
    #[error("the picture cannot be read: {0}")]
    Unreadable(String),
}

/// A picture ready to keep: its id (the hex SHA-256 of its owner and its large size: the same picture of the
/// same owner is kept once, and one owner's deletion never takes another's) and every size, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub id: String,
    pub format: Encoded,
    pub sizes: Vec<(Size, Vec<u8>)>,
}

/// How the kept sizes are encoded: JPEG for an opaque picture, lossless WebP for one with transparency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    Jpeg,
    WebP,
}

impl Encoded {
    pub fn extension(self) -> &'static str {
        match self {
            Encoded::Jpeg => "jpg",
            Encoded::WebP => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Encoded::Jpeg => "image/jpeg",
            Encoded::WebP => "image/webp",
        }
    }

    pub fn from_extension(extension: &str) -> Option<Encoded> {
        [Encoded::Jpeg, Encoded::WebP].into_iter().find(|encoded| encoded.extension() == extension)
    }
}

/// Checks `bytes` and encodes the standard sizes, as a picture of `owner` (a user's or a course's id). Only the
/// bytes decide what the picture is.
pub fn prepare(owner: &[u8], bytes: &[u8]) -> Result<Prepared, PictureError> {
    let picture = decode(bytes)?;
    let format = if picture.color().has_alpha() { Encoded::WebP } else { Encoded::Jpeg };
    let sizes = SIZES
        .into_iter()
        .map(|size| Ok((size, encode(&picture, size.width(), format)?)))
        .collect::<Result<Vec<_>, PictureError>>()?;
    let largest = sizes.last().map(|(_, bytes)| bytes.as_slice()).unwrap_or_default();
    let digest = Sha256::new().chain_update(owner).chain_update([0]).chain_update(largest).finalize();
    let id = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(Prepared { id, format, sizes })
}

fn unreadable(error: impl std::fmt::Display) -> PictureError {
    PictureError::Unreadable(error.to_string())
}

/// Decodes within the limits, turned as the camera said (the orientation is metadata that goes).
fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    if bytes.len() > MAX_BYTES {
        return Err(PictureError::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| PictureError::Unsupported)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) {
        return Err(PictureError::Unsupported);
    }
    if animated(bytes, format)? {
        return Err(PictureError::Animated);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.clone());
    // The header alone says how large the picture claims to be: refused before its pixels are allocated.
    let mut decoder = reader.into_decoder().map_err(|error| match error {
        image::ImageError::Limits(_) => PictureError::TooManyPixels,
        other => unreadable(other),
    })?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooManyPixels);
    }
    limits.reserve(decoder.total_bytes()).map_err(|_| PictureError::TooManyPixels)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

/// Whether the picture moves (an animated WebP or PNG), which a thumbnail would show frozen on its first frame.
fn animated(bytes: &[u8], format: ImageFormat) -> Result<bool, PictureError> {
    match format {
        ImageFormat::WebP => {
            let decoder = image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(unreadable)?;
            Ok(decoder.has_animation())
        }
        ImageFormat::Png => {
            let decoder = image::codecs::png::PngDecoder::new(Cursor::new(bytes)).map_err(unreadable)?;
            decoder.is_apng().map_err(unreadable)
        }
        _ => Ok(false),
    }
}

/// `picture` at most `width` wide (never enlarged), as `format`.
fn encode(picture: &DynamicImage, width: u32, format: Encoded) -> Result<Vec<u8>, PictureError> {
    let width = width.min(picture.width());
    // The height follows the width; a picture taller than four times its width is cut to that by `resize`'s box.
    let sized = picture.resize(width, width.saturating_mul(4), FilterType::Lanczos3);
    let mut out = Cursor::new(Vec::new());
    match format {
        Encoded::Jpeg => sized
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
            .map_err(unreadable)?,
        Encoded::WebP => sized.to_rgba8().write_to(&mut out, ImageFormat::WebP).map_err(unreadable)?,
    }
    Ok(out.into_inner())
}

/// Where a size of a picture is kept: `pictures/<id>/<size>.<extension>`.
pub fn key(id: &str, size: Size, format: Encoded) -> Path {
    Path::from(format!("pictures/{id}/{}.{}", size.name(), format.extension()))
}

/// Where a size of a picture is served from (the query API's `GET /api/v1/pictures/{id}/{file}`).
pub fn url(id: &str, size: Size, format: Encoded) -> String {
    format!("/api/v1/pictures/{id}/{}.{}", size.name(), format.extension())
}

/// Whether `id` is one [`prepare`] makes (64 lower-case hex digits), so that no other path can be asked for.
pub fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// A generated picture (a PNG of `width` by `height`): a two-colour gradient with a disc, its colours drawn from
/// `seed`. What the demo shows for its instructors and courses, with no network.
pub fn generated(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let hue = |shift: u64| -> [u8; 3] {
        let mixed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(shift as u32);
        [(mixed >> 8) as u8 | 0x30, (mixed >> 24) as u8 | 0x30, (mixed >> 40) as u8 | 0x30]
    };
    let (from, to, disc) = (hue(0), hue(17), hue(33));
    let (cx, cy, radius) = (width as f32 * 0.62, height as f32 * 0.45, width.min(height) as f32 * 0.28);
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < radius * radius {
            return image::Rgb(disc);
        }
        let t = (x + y) as f32 / (width + height) as f32;
        let channel = |i: usize| (f32::from(from[i]) * (1.0 - t) + f32::from(to[i]) * t) as u8;
        image::Rgb([channel(0), channel(1), channel(2)])
    });
    let mut out = Cursor::new(Vec::new());
    // Encoding a picture in memory does not fail.
    let _ = picture.write_to(&mut out, ImageFormat::Png);
    out.into_inner()
}

/// Failing object storage.
#[derive(Debug, thiserror::Error)]
#[error("object storage failed: {0}")]
pub struct StorageError(String);

/// The pictures' object storage.
#[derive(Clone)]
pub struct Pictures {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Pictures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pictures").field("store", &self.store.to_string()).finish()
    }
}

impl Pictures {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Pictures { store }
    }

    /// Pictures kept in memory, for a process that never serves them (the command line) and for tests.
    pub fn in_memory() -> Self {
        Pictures::new(Arc::new(object_store::memory::InMemory::new()))
    }

    /// Pictures kept in the folder `root`, created if it is missing.
    pub fn in_folder(root: &std::path::Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(root).map_err(|error| StorageError(error.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(root)
            .map_err(|error| StorageError(error.to_string()))?;
        Ok(Pictures::new(Arc::new(store)))
    }

    /// Pictures kept in an S3 bucket (or an S3-compatible store at `endpoint`); credentials and region come from
    /// the usual `AWS_*` environment variables.
    pub fn in_bucket(bucket: &str, endpoint: Option<&str>) -> Result<Self, StorageError> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|error| StorageError(error.to_string()))?;
        Ok(Pictures::new(Arc::new(store)))
    }

    /// Keeps every size of `prepared`; keeping the same picture again writes the same bytes under the same names.
    pub async fn keep(&self, prepared: &Prepared) -> Result<(), StorageError> {
        for (size, bytes) in &prepared.sizes {
            let payload = PutPayload::from(bytes.clone());
            self.store
                .put(&key(&prepared.id, *size, prepared.format), payload)
                .await
                .map_err(|error| StorageError(error.to_string()))?;
        }
        Ok(())
    }

    /// One size of a picture, if it is kept.
    pub async fn read(&self, id: &str, size: Size, format: Encoded) -> Result<Option<Bytes>, StorageError> {
        if !is_id(id) {
            return Ok(None);
        }
        match self.store.get(&key(id, size, format)).await {
            Ok(found) => found.bytes().await.map(Some).map_err(|error| StorageError(error.to_string())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(StorageError(error.to_string())),
        }
    }

    /// Deletes every size of a picture; one deleted already is fine.
    pub async fn delete(&self, id: &str, format: Encoded) -> Result<(), StorageError> {
        for size in SIZES {
            match self.store.delete(&key(id, size, format)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(StorageError(error.to_string())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn an_opaque_picture_is_kept_as_jpeg_in_every_size_never_enlarged() {
        let prepared = prepare(b"owner", &png(1200, 600)).expect("a picture");
        assert_eq!(prepared.format, Encoded::Jpeg);
        let widths: Vec<u32> =
            prepared.sizes.iter().map(|(_, bytes)| image::load_from_memory(bytes).expect("decodes").width()).collect();
        assert_eq!(widths, [96, 320, 960]);
        let small = prepare(b"owner", &png(200, 100)).expect("a small picture");
        let kept: Vec<u32> =
            small.sizes.iter().map(|(_, bytes)| image::load_from_memory(bytes).expect("decodes").width()).collect();
        assert_eq!(kept, [96, 200, 200]);
        assert!(is_id(&prepared.id));
        assert_eq!(prepare(b"owner", &png(1200, 600)).expect("again").id, prepared.id, "the same picture, the same id");
        assert_ne!(prepare(b"other", &png(1200, 600)).expect("another's").id, prepared.id, "another owner's");
    }

    #[test]
    fn a_transparent_picture_keeps_its_transparency_as_webp() {
        let picture = RgbaImage::from_fn(50, 50, |x, _| Rgba([255, 0, 0, if x < 25 { 0 } else { 255 }]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).expect("encodes");
        assert_eq!(prepare(b"o", &out.into_inner()).expect("a picture").format, Encoded::WebP);
    }

    #[test]
    fn the_bytes_decide_not_the_name() {
        assert_eq!(prepare(b"o", b"GIF89a\x01\x00\x01\x00"), Err(PictureError::Unsupported));
        assert_eq!(prepare(b"o", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), Err(PictureError::Unsupported));
        assert_eq!(prepare(b"o", b""), Err(PictureError::Unsupported));
        let mut cut = png(64, 64);
        cut.truncate(cut.len() / 2);
        assert!(matches!(prepare(b"o", &cut), Err(PictureError::Unreadable(_))));
        assert_eq!(prepare(b"o", &vec![0_u8; MAX_BYTES + 1]), Err(PictureError::TooLarge));
    }

    #[test]
    fn a_small_file_claiming_a_huge_picture_is_refused_before_it_is_decoded() {
        // A valid PNG header that claims 20,000 by 20,000 pixels, with no pixel data behind it.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000_u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000_u32.to_be_bytes());
        let crc = crc_of(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(prepare(b"o", &bomb), Err(PictureError::TooManyPixels));
    }

    /// PNG's chunk checksum (CRC-32), so that the forged header is otherwise valid.
    fn crc_of(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffff_u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn metadata_does_not_survive() {
        // A JPEG with an EXIF segment (APP1) carrying a GPS-like text: none of it is in what is kept.
        let mut out = Cursor::new(Vec::new());
        RgbImage::from_pixel(40, 40, Rgb([10, 20, 30])).write_to(&mut out, ImageFormat::Jpeg).expect("encodes");
        let jpeg = out.into_inner();
        let secret = b"Exif\0\0GPS 48.8566N 2.3522E";
        let length = u16::try_from(secret.len() + 2).expect("short");
        let mut tagged = jpeg[..2].to_vec();
        tagged.extend([0xff, 0xe1]);
        tagged.extend(length.to_be_bytes());
        tagged.extend(secret);
        tagged.extend(&jpeg[2..]);
        let prepared = prepare(b"o", &tagged).expect("a picture");
        for (_, bytes) in &prepared.sizes {
            assert!(!bytes.windows(3).any(|window| window == b"GPS"), "metadata was kept");
        }
    }

    #[test]
    fn a_generated_picture_is_one_prepare_takes_and_the_same_seed_makes_the_same_picture() {
        let picture = generated(7, 480, 270);
        assert_eq!(prepare(b"o", &picture).expect("a picture").format, Encoded::Jpeg);
        assert_eq!(generated(7, 480, 270), picture);
        assert_ne!(generated(8, 480, 270), picture);
    }

    #[tokio::test]
    async fn a_folder_keeps_reads_and_deletes_every_size() {
        let root = std::env::temp_dir().join(format!("learnlog-pictures-{}", std::process::id()));
        let pictures = Pictures::in_folder(&root).expect("a folder");
        let prepared = prepare(b"owner", &png(400, 300)).expect("a picture");
        pictures.keep(&prepared).await.expect("kept");
        let medium = pictures.read(&prepared.id, Size::Medium, prepared.format).await.expect("read");
        assert_eq!(medium.as_deref(), Some(prepared.sizes[1].1.as_slice()));
        assert_eq!(pictures.read("../../etc/passwd", Size::Small, Encoded::Jpeg).await.expect("read"), None);
        pictures.delete(&prepared.id, prepared.format).await.expect("deleted");
        pictures.delete(&prepared.id, prepared.format).await.expect("deleted twice");
        assert_eq!(pictures.read(&prepared.id, Size::Medium, prepared.format).await.expect("read"), None);
        let _ = std::fs::remove_dir_all(root);
    }
}
