//! Pictures through HTTP: a profile picture sent the way a real client sends a file (Python `requests`, its
//! default settings), kept without its metadata in the standard sizes and served with year-long cache headers;
//! what is not a PNG, JPEG or WebP, too large or a decompression bomb is refused without keeping anything; a
//! replaced picture, a deleted person's and a deleted course's thumbnail leave storage.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::Method;
use serde_json::Value;
use tests::TestApp;
use tests::app::Answer;

use crate::commerce::trainee;

/// A JPEG photo of `width` by `height` carrying an EXIF segment with a position in it, as a phone writes one.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encodes");
    let jpeg = out.into_inner();
    let exif = b"Exif\0\0GPSLatitude 48.8566 GPSLongitude 2.3522";
    let mut tagged = jpeg[..2].to_vec();
    tagged.extend([0xff, 0xe1]);
    tagged.extend(u16::try_from(exif.len() + 2).expect("short").to_be_bytes());
    tagged.extend(exif);
    tagged.extend(&jpeg[2..]);
    tagged
}

/// A PNG with transparent pixels.
fn logo() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbaImage::from_fn(200, 120, |x, _| Rgba([20, 120, 200, if x < 100 { 0 } else { 255 }]))
        .write_to(&mut out, ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

/// A 1 by 1 PNG whose header claims 30,000 by 30,000 pixels.
fn bomb() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::new(1, 1).write_to(&mut out, ImageFormat::Png).expect("encodes");
    let mut png = out.into_inner();
    png[16..20].copy_from_slice(&30_000_u32.to_be_bytes());
    png[20..24].copy_from_slice(&30_000_u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn put_picture(app: &TestApp, path: &str, token: &str, bytes: Vec<u8>, content_type: &str) -> Answer {
    let request = app
        .http
        .put(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .body(bytes);
    app.send(request, None).await
}

/// The picture id in a size's URL (`/api/v1/pictures/<id>/small.jpg`).
fn picture_id(urls: &Value) -> String {
    let small = urls["small"].as_str().expect("a small size");
    small.split('/').nth(4).expect("an id").to_owned()
}

/// The files kept of the picture `id` in the app's folder.
fn kept(media_dir: &Path, id: &str) -> usize {
    std::fs::read_dir(media_dir.join("pictures").join(id)).map_or(0, |files| files.count())
}

#[tokio::test]
async fn a_profile_picture_sent_with_python_requests_is_kept_without_metadata_and_served_for_a_year() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, token) = trainee(&app, "picturesque").await;

    // Python `requests`, as a script sends a file: `data=` an open file, with no declared type (its default).
    let file = app.media_dir.with_extension("photo.jpg");
    std::fs::write(&file, photo(1600, 1200)).expect("writes the photo");
    let script = "import json, sys, requests\n\
                  url, token, path = sys.argv[1:4]\n\
                  with open(path, 'rb') as photo:\n\
                  \x20   answer = requests.put(url, data=photo, headers={'Authorization': 'Bearer ' + token, \
                  'Idempotency-Key': 'first-picture'})\n\
                  print(json.dumps({'status': answer.status_code, 'body': answer.json()}))\n";
    let output = tokio::process::Command::new(tests::kafka::python())
        .args(["-c", script, &app.url("/api/v1/me/picture"), &token, &file.to_string_lossy()])
        .output()
        .await
        .expect("python runs");
    let _ = std::fs::remove_file(&file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let sent: Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    assert_eq!(sent["status"], 200, "{sent}");
    let urls = &sent["body"]["data"]["picture"];
    let first = picture_id(urls);
    assert_eq!(kept(&app.media_dir, &first), 3, "three sizes are kept");

    // The account shows it, and the files are served for a year, as JPEG, without the photo's position.
    let token_of_write = sent["body"]["consistency_token"].as_str().expect("a token").to_owned();
    let me = app
        .send(
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", &token_of_write),
            None,
        )
        .await;
    assert_eq!(me.body["data"]["picture"], *urls, "{:?}", me.body);
    let (_, admin) = app.user(events::Role::Admin);
    let directory = app
        .send(
            app.http
                .get(app.url("/api/v1/admin/users?search=picturesque"))
                .bearer_auth(&admin)
                .header("x-consistency-token", &token_of_write),
            None,
        )
        .await;
    assert_eq!(directory.body["data"][0]["picture"], *urls, "admins see it: {:?}", directory.body);
    for (size, width) in [("small", 96), ("medium", 320), ("large", 960)] {
        let served = app.get(urls[size].as_str().expect("a URL"), None).await;
        assert_eq!(served.status, 200);
        assert_eq!(served.header("content-type"), Some("image/jpeg"));
        assert_eq!(served.header("cache-control"), Some("public, max-age=31536000, immutable"));
        let picture = image::load_from_memory(&served.bytes).expect("a picture");
        assert_eq!(picture.width(), width, "{size}");
        assert!(!served.bytes.windows(3).any(|window| window == b"GPS"), "the photo's metadata was kept");
    }

    // Not a picture, too large, or a bomb: refused, and nothing is kept or changed.
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let refused = put_picture(&app, "/api/v1/me/picture", &token, gif, "image/png").await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (422, Some("not_a_picture")), "the bytes decide");
    let curl =
        put_picture(&app, "/api/v1/me/picture", &token, photo(64, 64), "application/x-www-form-urlencoded").await;
    assert_eq!(curl.status, 200, "curl's default declared type is taken: the bytes decide: {:?}", curl.body);
    let curled = picture_id(&curl.body["data"]["picture"]);
    let huge = put_picture(&app, "/api/v1/me/picture", &token, vec![0xff; media::MAX_BYTES + 1], "image/jpeg").await;
    assert_eq!(huge.status, 413, "{:?}", huge.body);
    let bombed = put_picture(&app, "/api/v1/me/picture", &token, bomb(), "image/png").await;
    assert_eq!((bombed.status, bombed.body["code"].as_str()), (422, Some("too_many_pixels")));
    let mut cut = photo(64, 64);
    cut.truncate(400);
    let broken = put_picture(&app, "/api/v1/me/picture", &token, cut, "image/jpeg").await;
    assert_eq!((broken.status, broken.body["code"].as_str()), (422, Some("unreadable_picture")));
    app.wait_until_sagas_caught_up().await;
    assert_eq!(kept(&app.media_dir, &first), 0, "the first, replaced by the one sent as curl sends it, is deleted");
    // A deleted picture's folder may stay, empty: count those holding files.
    let folders = std::fs::read_dir(app.media_dir.join("pictures")).expect("the folder");
    let kept_ids: Vec<String> = folders
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|id| kept(&app.media_dir, id) > 0)
        .collect();
    assert_eq!(kept_ids, std::slice::from_ref(&curled), "nothing refused was kept");
    let first = curled;

    // A new picture replaces the first, whose files then leave storage.
    let replaced = put_picture(&app, "/api/v1/me/picture", &token, logo(), "image/png").await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    let second = picture_id(&replaced.body["data"]["picture"]);
    assert!(
        replaced.body["data"]["picture"]["small"].as_str().is_some_and(|url| url.ends_with(".webp")),
        "transparency kept"
    );
    app.wait_until_sagas_caught_up().await;
    assert_eq!(kept(&app.media_dir, &first), 0, "the replaced picture is deleted");
    assert_eq!(app.get(urls["small"].as_str().expect("a URL"), None).await.status, 404);
    assert_eq!(kept(&app.media_dir, &second), 3);

    // The trainee deletes their account: their picture goes with it.
    let deleted = app.call(Method::DELETE, "/api/v1/me", &token, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    app.wait_until_sagas_caught_up().await;
    assert_eq!(kept(&app.media_dir, &second), 0, "a deleted person's picture is deleted");
}

#[tokio::test]
async fn a_course_thumbnail_shows_on_its_card_and_goes_with_the_course() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, teacher) = app.instructor("thumbteacher", "Ada Lovelace").await;
    let course_id = app.create_course(&teacher, "Pictures of Rust").await.id();
    let path = format!("/api/v1/courses/{course_id}/thumbnail");
    let (_, stranger) = app.instructor("thumbstranger", "Not The Owner").await;
    let foreign = put_picture(&app, &path, &stranger, photo(400, 300), "image/jpeg").await;
    assert_eq!(foreign.status, 403, "{:?}", foreign.body);
    let portrait = put_picture(&app, "/api/v1/me/picture", &teacher, logo(), "image/png").await;
    assert_eq!(portrait.status, 200, "{:?}", portrait.body);
    let set = put_picture(&app, &path, &teacher, photo(400, 300), "image/jpeg").await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let urls = set.body["data"]["thumbnail"].clone();
    let id = picture_id(&urls);
    let own = app
        .send(
            app.http
                .get(app.url("/api/v1/me/instructor/courses"))
                .bearer_auth(&teacher)
                .header("x-consistency-token", set.token()),
            None,
        )
        .await;
    let card = own.body["data"].as_array().and_then(|courses| courses.first()).cloned().unwrap_or_default();
    assert_eq!(card["thumbnail"], urls, "{:?}", own.body);
    assert_eq!(card["instructor"]["picture"], portrait.body["data"]["picture"], "the instructor's card shows them");
    assert_eq!(card["thumbnail"]["large"].as_str().map(|url| url.ends_with("/large.jpg")), Some(true));
    let deleted = app.call(Method::DELETE, &format!("/api/v1/courses/{course_id}"), &teacher, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    app.wait_until_sagas_caught_up().await;
    assert_eq!(kept(&app.media_dir, &id), 0, "a deleted course's thumbnail is deleted");
}
