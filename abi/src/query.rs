//! Query strings: the `name=value&...` pairs after `?`, percent-decoded.
//!
//! The `query` field of [`Request`] carries the query raw, as received. This module
//! reads it the way an HTML form submission or a browser's `URLSearchParams` writes it (the
//! `application/x-www-form-urlencoded` parser of the WHATWG URL standard):
//!
//! - the query is split on `&`; empty pieces (`a=1&&b=2`, a trailing `&`) are skipped;
//! - each piece is split at its first `=`; a piece without `=` is a name with an empty value;
//! - in names and values, `+` is a space, and `%XY` (two hex digits) is the byte `0xXY`; a
//!   `%` not followed by two hex digits stays as it is;
//! - the decoded bytes are read as UTF-8, with U+FFFD for a sequence that is not.
//!
//! `+` as a space is what forms send (`q=a+b` means `a b`); a literal `+` arrives as `%2B`.
//! Path segments are different (there `+` is a `+`): use [`percent_decode`] for them.
//! Repeated names are kept in order; the method `Request::query(name)` gives the first,
//! [`Request::query_pairs`] all of them.

use std::borrow::Cow;

use crate::message::Request;

/// Decodes `%XY` escapes in `text` (no `+` handling: for path segments and other text that is
/// not form-encoded). A `%` not followed by two hex digits stays as it is; decoded bytes that
/// are not UTF-8 become U+FFFD. Borrows `text` when there is nothing to decode.
///
/// ```
/// use fezz_abi::query::percent_decode;
/// assert_eq!(percent_decode("caf%C3%A9"), "café");
/// assert_eq!(percent_decode("a+b%2"), "a+b%2");
/// assert_eq!(percent_decode("%FF"), "\u{FFFD}");
/// ```
pub fn percent_decode(text: &str) -> Cow<'_, str> {
    decode(text, false)
}

/// Decodes one name or value of a form-encoded query: `+` is a space, then as
/// [`percent_decode`].
///
/// ```
/// use fezz_abi::query::form_decode;
/// assert_eq!(form_decode("a+b%2Bc"), "a b+c");
/// ```
pub fn form_decode(text: &str) -> Cow<'_, str> {
    decode(text, true)
}

fn decode(text: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|&byte| byte == b'%' || (plus_is_space && byte == b'+'))
    {
        return Cow::Borrowed(text);
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%')
            .then(|| Some((hex(*bytes.get(index + 1)?)?, hex(*bytes.get(index + 2)?)?)))
            .flatten();
        match (byte, escaped) {
            (b'%', Some((high, low))) => {
                decoded.push(high << 4 | low);
                index += 3;
            }
            (b'+', _) if plus_is_space => {
                decoded.push(b' ');
                index += 1;
            }
            _ => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    match String::from_utf8(decoded) {
        Ok(text) => Cow::Owned(text),
        Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The decoded `(name, value)` pairs of a raw query, in order (see the module docs for the
/// rules). Made by [`Request::query_pairs`] or [`QueryPairs::new`].
///
/// ```
/// use fezz_abi::query::QueryPairs;
/// let names: Vec<_> = QueryPairs::new("a=1&b=2&a=3").map(|(name, _)| name).collect();
/// assert_eq!(names, ["a", "b", "a"]);
/// ```
#[derive(Debug, Clone)]
pub struct QueryPairs<'a> {
    pieces: std::str::Split<'a, char>,
}

impl<'a> QueryPairs<'a> {
    /// The pairs of `query`, the raw text after `?` (without the `?`).
    ///
    /// ```
    /// use fezz_abi::query::QueryPairs;
    /// let pairs: Vec<_> = QueryPairs::new("q=a+b&flag&&n=%31").collect();
    /// assert_eq!(pairs, [("q".into(), "a b".into()), ("flag".into(), "".into()), ("n".into(), "1".into())]);
    /// ```
    pub fn new(query: &'a str) -> Self {
        QueryPairs {
            pieces: query.split('&'),
        }
    }
}

impl<'a> Iterator for QueryPairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let piece = self.pieces.find(|piece| !piece.is_empty())?;
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        Some((form_decode(name), form_decode(value)))
    }
}

impl Request {
    /// The query's decoded `(name, value)` pairs in order, repeated names kept (see
    /// [`crate::query`] for the rules: `+` is a space). Empty when there is no query.
    ///
    /// ```
    /// # use fezz_abi::Request;
    /// let mut request = Request::new("GET", "/search");
    /// request.query = Some("tag=a&tag=b%26c".into());
    /// let tags: Vec<String> = request
    ///     .query_pairs()
    ///     .filter(|(name, _)| name == "tag")
    ///     .map(|(_, value)| value.into_owned())
    ///     .collect();
    /// assert_eq!(tags, ["a", "b&c"]);
    /// ```
    pub fn query_pairs(&self) -> QueryPairs<'_> {
        QueryPairs::new(self.query.as_deref().unwrap_or(""))
    }

    /// The decoded value of the first query parameter named `name` (compared exactly, after
    /// decoding), or `None` if there is none. A parameter without `=` has the value `""`.
    ///
    /// ```
    /// # use fezz_abi::Request;
    /// let mut request = Request::new("GET", "/todos");
    /// request.query = Some("done=true&q=buy+milk&verbose".into());
    /// assert_eq!(request.query("q").as_deref(), Some("buy milk"));
    /// assert_eq!(request.query("verbose").as_deref(), Some(""));
    /// assert_eq!(request.query("page"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_pairs()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        QueryPairs::new(query)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn splits_on_ampersands_and_the_first_equals_sign() {
        assert_eq!(pairs(""), owned(&[]));
        assert_eq!(pairs("&&"), owned(&[]));
        assert_eq!(
            pairs("a=1&b=&c&d=x=y&=v"),
            owned(&[("a", "1"), ("b", ""), ("c", ""), ("d", "x=y"), ("", "v")])
        );
        assert_eq!(pairs("a=1&a=2"), owned(&[("a", "1"), ("a", "2")]));
    }

    #[test]
    fn decodes_plus_and_percent_escapes_in_names_and_values() {
        assert_eq!(
            pairs("first+name=Ada+Lovelace&x%3Dy=%26%3D%2B"),
            owned(&[("first name", "Ada Lovelace"), ("x=y", "&=+")])
        );
        // Lower-case hex digits and multi-byte UTF-8.
        assert_eq!(pairs("q=%e2%82%ac"), owned(&[("q", "€")]));
    }

    #[test]
    fn malformed_escapes_stay_and_bad_utf8_is_replaced() {
        assert_eq!(
            pairs("a=%&b=%4&c=%zz&d=100%"),
            owned(&[("a", "%"), ("b", "%4"), ("c", "%zz"), ("d", "100%")])
        );
        assert_eq!(pairs("a=%FF%FE"), owned(&[("a", "\u{FFFD}\u{FFFD}")]));
        // A lone continuation byte between valid text.
        assert_eq!(pairs("a=x%80y"), owned(&[("a", "x\u{FFFD}y")]));
    }

    #[test]
    fn nothing_to_decode_borrows() {
        assert!(matches!(form_decode("plain"), Cow::Borrowed("plain")));
        assert!(matches!(percent_decode("a+b"), Cow::Borrowed("a+b")));
        assert!(matches!(form_decode("a+b"), Cow::Owned(_)));
    }

    #[test]
    fn request_helpers_read_the_raw_query() {
        let mut request = Request::new("GET", "/");
        assert_eq!(request.query_pairs().count(), 0);
        assert_eq!(request.query("a"), None);
        request.query = Some(String::new());
        assert_eq!(request.query_pairs().count(), 0);
        request.query = Some("a%20b=1&a+b=2&a=3".into());
        assert_eq!(request.query("a b").as_deref(), Some("1"));
        assert_eq!(request.query("a").as_deref(), Some("3"));
        assert_eq!(request.query_pairs().count(), 3);
    }
}
