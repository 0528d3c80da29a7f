//! The hosted checkout page at `/pay/{id}`, the sandbox's stand-in for Stripe Checkout: a plain HTML5 page with
//! inline CSS and no script, showing the cart and taking a card (`card` decides what the card does). Paying
//! completes the session and sends the browser to the success URL, as Stripe does. Everything that came from a
//! request is HTML-escaped before it is written into a page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use time::OffsetDateTime;

use crate::SharedState;
use crate::card::CardForm;
use crate::session::{Session, Status, format_amount, now, random_id};

const STYLE: &str = "body{margin:0;background:#f6f8fa;color:#1a1f36;font:16px/1.5 system-ui,sans-serif}\
main{max-width:28rem;margin:2rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin:0 0 1rem}table{width:100%;border-collapse:collapse;margin-bottom:1.5rem}\
td,th{padding:.4rem 0;text-align:left;border-bottom:1px solid #e3e8ee}.amount{text-align:right;white-space:nowrap}\
label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}\
input{box-sizing:border-box;width:100%;padding:.6rem;border:1px solid #c1c9d2;border-radius:.3rem;font:inherit}\
.row{display:flex;gap:1rem}.row>div{flex:1}\
button{width:100%;margin-top:1.5rem;padding:.8rem;border:0;border-radius:.3rem;background:#635bff;color:#fff;font:inherit;font-weight:600}\
#error{color:#df1b41}.note{color:#697386;font-size:.85rem}.badge{display:inline-block;margin:0 0 1rem;padding:0 .5rem;\
border-radius:.3rem;background:#ffde92;color:#a04100;font-size:.8rem;font-weight:600}";

/// `GET /pay/{id}`.
pub(crate) async fn show(State(state): State<Arc<SharedState>>, Path(id): Path<String>) -> Response {
    let mut store = state.store();
    match store.session(&id, now()) {
        None => not_found(),
        Some(session) => match session.status {
            Status::Open => checkout(session, &CardForm::default(), None, StatusCode::OK),
            Status::Expired => expired(session),
            Status::Complete => paid(session),
        },
    }
}

/// `POST /pay/{id}`: the card form.
pub(crate) async fn pay(State(state): State<Arc<SharedState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let form = CardForm::parse(&body);
    let now = OffsetDateTime::now_utc();
    let mut store = state.store();
    let Some(session) = store.session(&id, now.unix_timestamp()) else {
        return not_found();
    };
    match session.status {
        Status::Open => {}
        Status::Expired => return expired(session),
        Status::Complete => return paid(session),
    }
    if let Err(refusal) = form.charge(now.date()) {
        tracing::info!(session_id = %session.id, reason = refusal.message, "card payment refused");
        return checkout(session, &form, Some(refusal.message), refusal.status);
    }
    // The session was open a moment ago under the same lock, so it completes.
    let Some(session) = store.complete(&id, random_id("pi_test_"), now.unix_timestamp()) else {
        return not_found();
    };
    redirect(&session.success_redirect()).unwrap_or_else(|| paid(session))
}

/// A 303 to `target`, or `None` when `target` is not an http(s) URL a browser can be sent to.
fn redirect(target: &str) -> Option<Response> {
    let url = reqwest::Url::parse(target).ok().filter(|url| matches!(url.scheme(), "http" | "https"))?;
    let location = HeaderValue::from_str(url.as_str()).ok()?;
    Some((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

fn checkout(session: &Session, form: &CardForm, error: Option<&str>, status: StatusCode) -> Response {
    let id = escape(&session.id);
    let total = escape(&format_amount(&session.currency, session.amount_total));
    let mut lines = String::new();
    for item in &session.line_items {
        let quantity = if item.quantity > 1 { format!(" × {}", item.quantity) } else { String::new() };
        let amount = format_amount(&session.currency, item.quantity * item.unit_amount);
        lines.push_str(&format!(
            "<tr><td>{}{quantity}</td><td class=\"amount\">{}</td></tr>\n",
            escape(&item.name),
            escape(&amount)
        ));
    }
    let error = error.map(|message| format!("<p id=\"error\" role=\"alert\">{}</p>\n", escape(message)));
    let main = format!(
        "<h1>Checkout</h1>\n<table id=\"items\">\n<tbody>\n{lines}</tbody>\n\
         <tfoot><tr><th>Total</th><td class=\"amount\" id=\"total\">{total}</td></tr></tfoot>\n</table>\n{error}\
         <form method=\"post\" action=\"/pay/{id}\">\n\
         <label for=\"card-number\">Card number</label>\n\
         <input id=\"card-number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" \
         placeholder=\"4242 4242 4242 4242\" required>\n\
         <div class=\"row\">\n<div><label for=\"expiry\">Expiry</label>\n\
         <input id=\"expiry\" name=\"expiry\" autocomplete=\"cc-exp\" placeholder=\"MM / YY\" value=\"{expiry}\" required></div>\n\
         <div><label for=\"cvc\">CVC</label>\n\
         <input id=\"cvc\" name=\"cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" placeholder=\"123\" required></div>\n</div>\n\
         <label for=\"cardholder\">Name on card</label>\n\
         <input id=\"cardholder\" name=\"cardholder\" autocomplete=\"cc-name\" value=\"{cardholder}\">\n\
         <button id=\"pay\" type=\"submit\">Pay {total}</button>\n{message}</form>\n\
         <p class=\"note\">Test mode: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined; \
         any future expiry and any CVC.</p>\n{cancel}",
        error = error.unwrap_or_default(),
        message = session
            .submit_message
            .as_deref()
            .map(|message| format!("<p id=\"message\">{}</p>\n", escape(message)))
            .unwrap_or_default(),
        expiry = escape(&form.expiry),
        cardholder = escape(&form.cardholder),
        cancel = cancel_link(session),
    );
    page(status, "Checkout", &main)
}

fn paid(session: &Session) -> Response {
    let total = escape(&format_amount(&session.currency, session.amount_total));
    let main = format!(
        "<section id=\"paid\">\n<h1>Payment complete</h1>\n<p>This checkout session has been paid: {total}.</p>\n\
         <p><a href=\"{}\">Continue</a></p>\n</section>\n",
        escape(&session.success_redirect())
    );
    page(StatusCode::OK, "Payment complete", &main)
}

fn expired(session: &Session) -> Response {
    let main = format!(
        "<section id=\"expired\">\n<h1>Checkout session expired</h1>\n\
         <p>This checkout session expired before it was paid. Start the checkout again.</p>\n{}</section>\n",
        cancel_link(session)
    );
    page(StatusCode::GONE, "Checkout session expired", &main)
}

fn not_found() -> Response {
    let main = "<section id=\"not-found\">\n<h1>Checkout session not found</h1>\n\
                <p>There is no checkout session at this address.</p>\n</section>\n";
    page(StatusCode::NOT_FOUND, "Checkout session not found", main)
}

fn cancel_link(session: &Session) -> String {
    match &session.cancel_url {
        Some(url) => format!("<p><a id=\"cancel\" href=\"{}\">Cancel and go back</a></p>\n", escape(url)),
        None => String::new(),
    }
}

/// A whole page around `main`, which must already be escaped. The page is never cached, and its policy allows
/// nothing but its inline style, so an escaping mistake still could not run a script.
fn page(status: StatusCode, title: &str, main: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n<p class=\"badge\">Test mode</p>\n{main}</main>\n</body>\n</html>\n",
        escape(title)
    );
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
    ];
    (status, headers, Html(html)).into_response()
}

/// `text` safe to place in HTML text and in quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::session::LineItem;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("plain text"), "plain text");
    }

    #[tokio::test]
    async fn the_page_escapes_what_the_session_was_given() {
        let session = Session {
            id: "cs_test_1".to_owned(),
            created_at: 0,
            expires_at: 1,
            currency: "usd".to_owned(),
            line_items: vec![LineItem { name: "<script>alert(1)</script>".to_owned(), quantity: 2, unit_amount: 1000 }],
            amount_total: 2000,
            metadata: BTreeMap::new(),
            client_reference_id: None,
            customer_email: None,
            success_url: "https://shop.test/done".to_owned(),
            cancel_url: Some("https://shop.test/cart?a=1&b=\"2\"".to_owned()),
            status: Status::Open,
            payment_intent: None,
            submit_message: Some("Charged in US dollars: <about EUR 18.39>.".to_owned()),
        };
        let response =
            checkout(&session, &CardForm::default(), Some("Your card was declined."), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("the page is in memory");
        let html = String::from_utf8(body.to_vec()).expect("the page is UTF-8");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; × 2"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"https://shop.test/cart?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("<form method=\"post\" action=\"/pay/cs_test_1\">"));
        assert!(html.contains("<p id=\"message\">Charged in US dollars: &lt;about EUR 18.39&gt;.</p>"), "{html}");
        assert!(html.contains("<button id=\"pay\" type=\"submit\">Pay USD 20.00</button>"));
        assert!(html.contains("<p id=\"error\" role=\"alert\">Your card was declined.</p>"));
    }
}
