//! Our own fuzz campaign: generated hostile input against every public API of the real services,
//! started in-process by the end-to-end harness, one stack per API family. The oracle is the same
//! for every request: never a 5xx, and every 4xx in its API's error shape (a SCIM Error under
//! `/scim/`, RFC 9457 problem details everywhere else). A 2xx is fine: valid input is generated on
//! purpose, so the campaign reaches past validation, and the per-endpoint counts it prints show how
//! far.
//!
//! Runs are reproducible: each case draws from its own generator, seeded by `FUZZ_SEED` (a fixed
//! default), the API family and the case number, so a failure's case number regenerates its
//! request. `FUZZ_SCALE` multiplies the number of cases for longer local runs; `FUZZ_TRACE` prints
//! every case as it is sent. docs/reliability.md has the figures.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, Method};
use serde_json::{Map, Value, json};
use support::{ADMIN_TOKEN, Stack, StackOptions, Tenant};

/// Requests in flight at once: enough to keep every worker and pool connection of a service busy.
const CONCURRENCY: usize = 16;
/// The HTTP layer refuses request lines over 64 KiB before any handler runs; generated URLs stay
/// below, so every case exercises the service and not that limit.
const MAX_URL: usize = 60_000;
/// Below `http.body_limit_bytes` (1 MiB by default), for the same reason.
const MAX_BODY: usize = 1_000_000;
const DEFAULT_SEED: u64 = 0x5eed_f022_2026;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn seed() -> u64 {
    std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED)
}

fn scaled(cases: usize) -> usize {
    let scale: f64 = std::env::var("FUZZ_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((cases as f64) * scale).round().max(1.0) as usize
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// SplitMix64: small, fast, and its output depends on nothing outside this file, so a seed
/// replays the same cases whatever the toolchain or lockfile.
struct Rng(u64);

impl Rng {
    fn for_case(seed: u64, family: &str, index: usize) -> Rng {
        let family =
            family.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let mut r = Rng(seed ^ family ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    /// lo..=hi.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_str(&mut self, items: &[&str]) -> String {
        (*self.pick(items)).to_owned()
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let mut n = self.below(weights.iter().sum::<u32>() as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if n < *w {
                return i;
            }
            n -= w;
        }
        weights.len() - 1
    }

    fn uuid(&mut self) -> String {
        let bits = (u128::from(self.next()) << 64) | u128::from(self.next());
        uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid().to_string()
    }
}

/// Characters that break naive code: multi-byte, invisible, bidi, non-characters, the highest
/// code point, controls, quotes, escapes, LIKE and glob wildcards, and NUL.
const WEIRD: &[char] = &[
    'é',
    'ß',
    '漢',
    '🙂',
    '\u{200B}',
    '\u{202E}',
    '\u{FEFF}',
    '\u{FFFF}',
    '\u{10FFFF}',
    '\u{0301}',
    '\u{7F}',
    '\u{1}',
    '\u{1F}',
    '\u{2028}',
    '\u{85}',
    'Ω',
    '"',
    '\\',
    '\'',
    '%',
    '_',
    '*',
    '<',
    '&',
    '#',
    '?',
    '/',
    '\u{0}',
];

const NASTY: &[&str] = &[
    "' OR '1'='1",
    "\"; DROP TABLE users; --",
    "%",
    "_",
    "\\",
    "%_%",
    "\\%",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "%s%n%x",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "null",
    "NaN",
    "true",
    "-1",
    "[]",
    "{}",
    "a\u{0}b",
    "\u{0}",
    "@",
    "a@",
    "@b",
    "x@example.com",
    "2026-01-31T12:00:00Z",
    "2026-13-45T99:99:99Z",
    "9999-12-31T23:59:59.999999999+14:00",
    "infinity",
    "-infinity",
    "epoch",
    "now",
    "0000-00-00T00:00:00Z",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "1e400",
    "9223372036854775808",
    "  padded  ",
    "\t",
    "\r\n",
];

fn ascii_word(r: &mut Rng, max: usize) -> String {
    let n = r.between(1, max);
    (0..n).map(|_| (b'a' + r.below(26) as u8) as char).collect()
}

/// A short hostile string (at most a few hundred bytes).
fn text(r: &mut Rng) -> String {
    match r.below(10) {
        0 => String::new(),
        1 | 2 => ascii_word(r, 20),
        3 | 4 => r.pick_str(NASTY),
        5 | 6 => (0..r.between(1, 40)).map(|_| *r.pick(WEIRD)).collect(),
        7 => (0..r.between(1, 200)).map(|_| (b' ' + r.below(95) as u8) as char).collect(),
        8 => format!("{}{}{}", ascii_word(r, 8), r.pick(WEIRD), r.pick_str(NASTY)),
        _ => (0..r.between(1, 30)).map(|_| char::from_u32(r.below(0x3_0000) as u32).unwrap_or('\u{FFFD}')).collect(),
    }
}

/// A long string: around the services' limits (8 KiB filters, 64 KiB strings) and up to 100 KB.
fn long_text(r: &mut Rng) -> String {
    let len = *r.pick(&[1_000, 8_193, 65_536, 65_537, 100_000]);
    match r.below(3) {
        0 => "x".repeat(len),
        1 => "🙂".repeat(len / 4),
        _ => WEIRD.iter().cycle().take(len / 2).collect(),
    }
}

/// Mostly short, sometimes long.
fn any_text(r: &mut Rng) -> String {
    if r.chance(0.03) { long_text(r) } else { text(r) }
}

/// Numbers as JSON text: past i64, u64 and f64, negative zero, and forms JSON forbids.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "3.14",
    "1e400",
    "-1e400",
    "1E-400",
    "123456789012345678901234567890",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.7976931348623157e308",
    "4.9e-324",
    "2147483648",
    "01",
    "+1",
    ".5",
    "NaN",
    "Infinity",
];

/// A string as a JSON literal; sometimes with an escape that is invalid or decodes to something
/// hostile (lone surrogates, NUL).
fn json_str(r: &mut Rng, s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string serializes");
    if !r.chance(0.1) {
        return quoted;
    }
    let escape = r.pick_str(&[
        r"\ud800",
        r"\udfff",
        r"\udc00\ud800",
        r"\ud83d\ude00",
        r"\u0000",
        r"\uD800\u0041",
        r"\x41",
        r"\U0041",
        r"\u12",
        r"\/",
        "\t",
        "\u{1}",
    ]);
    format!("\"{escape}{}", &quoted[1..])
}

fn number(r: &mut Rng) -> Value {
    r.pick(&[
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(f64::MAX),
        json!(-0.0),
        json!(1e-300),
        json!(2.5),
        json!(2_147_483_648u64),
    ])
    .clone()
}

/// Any JSON value, up to `depth` levels.
fn random_value(r: &mut Rng, depth: usize) -> Value {
    let kind = if depth == 0 { r.below(5) } else { r.below(8) };
    match kind {
        0 => Value::Null,
        1 => Value::Bool(r.chance(0.5)),
        2 => number(r),
        3 | 4 => Value::String(any_text(r)),
        5 => Value::Array((0..r.below(4)).map(|_| random_value(r, depth - 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..r.below(4) {
                let key = if r.chance(0.7) { ascii_word(r, 10) } else { text(r) };
                m.insert(key, random_value(r, depth - 1));
            }
            Value::Object(m)
        }
    }
}

/// `levels` of nested objects and arrays around a leaf.
fn deep(r: &mut Rng, levels: usize) -> Value {
    let mut v = Value::String("leaf".into());
    for _ in 0..levels {
        v = if r.chance(0.5) { json!([v]) } else { json!({ r.pick_str(&["a", "n", "value", "name"]): v }) };
    }
    v
}

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn collect_paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(Seg::Key(k.clone()));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().take(20) {
                prefix.push(Seg::Index(i));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

/// One structural mutation at a random node: wrong type, removal, an added key (known or not),
/// deep nesting, a long string, an extreme number, a blown-up array.
fn mutate(r: &mut Rng, v: &mut Value, keys: &[&str]) {
    let mut paths = Vec::new();
    collect_paths(v, &mut Vec::new(), &mut paths);
    let path = r.pick(&paths).clone();
    let kind = r.below(10);
    if kind == 1 {
        if let Some((last, parent)) = path.split_last() {
            match (node_mut(v, parent), last) {
                (Some(Value::Object(m)), Seg::Key(k)) => {
                    m.remove(k);
                }
                (Some(Value::Array(a)), Seg::Index(i)) if *i < a.len() => {
                    a.remove(*i);
                }
                _ => {}
            }
        }
        return;
    }
    let replacement = match kind {
        0 => random_value(r, 2),
        3 => {
            let levels = r.between(2, 40);
            deep(r, levels)
        }
        4 => Value::String(long_text(r)),
        5 => number(r),
        6 => Value::String(any_text(r)),
        _ => Value::Null,
    };
    let (key, extra) = (if r.chance(0.6) && !keys.is_empty() { r.pick_str(keys) } else { text(r) }, random_value(r, 2));
    let count = r.between(2, 1_200);
    let Some(node) = node_mut(v, &path) else { return };
    match kind {
        2 => match node {
            Value::Object(m) => {
                m.insert(key, extra);
            }
            Value::Array(a) => a.push(extra),
            other => *other = json!({ key: extra }),
        },
        7 => {
            // Blown up only when small: the body must stay under the size limit.
            if node.to_string().len() < 200 {
                *node = Value::Array(vec![node.clone(); count]);
            }
        }
        8 | 9 => {
            *node = match node.take() {
                Value::String(s) => {
                    if r.chance(0.5) {
                        json!([s])
                    } else {
                        number(r)
                    }
                }
                Value::Bool(b) => Value::String(b.to_string()),
                Value::Number(n) => Value::String(n.to_string()),
                Value::Array(a) => Value::Object(a.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect()),
                obj @ Value::Object(_) => json!([obj]),
                Value::Null => Value::Bool(false),
            }
        }
        _ => *node = replacement,
    }
}

/// One mutation of the encoded body: duplicate keys, truncation, raw bytes, numbers JSON cannot
/// hold, lone surrogates, a BOM, trailing garbage, nesting past the parser's limit, nothing at all.
fn mutate_text(r: &mut Rng, mut text: String, keys: &[&str]) -> Vec<u8> {
    let key =
        serde_json::to_string(&r.pick_str(if keys.is_empty() { &["k"] } else { keys })).expect("a string serializes");
    match r.below(11) {
        0 if text.starts_with('{') && !text.starts_with("{}") => {
            let value = random_value(r, 1);
            text.insert_str(1, &format!("{key}:{value},"));
        }
        1 if text.ends_with('}') && text.len() > 2 => {
            let value = random_value(r, 1);
            text.insert_str(text.len() - 1, &format!(",{key}:{value}"));
        }
        2 => {
            let mut cut = r.below(text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        3 => {
            let mut bytes = text.into_bytes();
            let at = r.below(bytes.len() + 1);
            let junk: Vec<u8> = (0..r.between(1, 8)).map(|_| r.next() as u8).collect();
            bytes.splice(at..at, junk);
            return bytes;
        }
        4 if text.starts_with('{') && !text.starts_with("{}") => {
            text.insert_str(1, &format!("{key}:{},", r.pick(NUMBERS)));
        }
        5 => {
            if let Some(at) = text.find("\":\"") {
                text.insert_str(at + 3, &r.pick_str(&[r"\ud800", r"\udfff", r"\u0000"]));
            }
        }
        6 => text.insert(0, '\u{FEFF}'),
        7 => text.push_str(&r.pick_str(&["}", "]", " x", ",", "\u{0}", "{}"])),
        8 => return (0..r.below(2_000)).map(|_| r.next() as u8).collect(),
        9 => {
            let levels = r.between(100, 200);
            let open: String = (0..levels).map(|i| if i % 2 == 0 { '[' } else { '{' }).collect();
            text = format!("{{{key}:{open}}}");
        }
        _ => text = r.pick_str(&["", " ", "\n\t", "null", "[]", "\"str\"", "0", "{}", "[{}]"]),
    }
    text.into_bytes()
}

/// The encoded body of a template: intact (so valid requests get through), or after a few
/// structural mutations, and sometimes a textual one on top.
fn body_of(r: &mut Rng, mut v: Value, keys: &[&str]) -> Vec<u8> {
    let mutations = r.weighted(&[45, 30, 15, 10]);
    for _ in 0..mutations {
        mutate(r, &mut v, keys);
    }
    let text = v.to_string();
    let mut bytes = if r.chance(0.1) { mutate_text(r, text, keys) } else { text.into_bytes() };
    bytes.truncate(MAX_BODY);
    bytes
}

/// Integers as query-string text, around every boundary the services check, and not integers.
fn int_text(r: &mut Rng) -> String {
    if r.chance(0.4) {
        return r.between(1, 200).to_string();
    }
    if r.chance(0.2) {
        return (r.next() as i64).to_string();
    }
    r.pick_str(&[
        "1",
        "0",
        "-1",
        "2",
        "10",
        "50",
        "100",
        "200",
        "201",
        "1000",
        "2147483647",
        "2147483648",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "99999999999999999999999",
        "1.5",
        "1e3",
        "",
        "abc",
        " 5",
        "+5",
        "0x10",
        "٣",
        "NaN",
    ])
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query-string value: properly encoded, or raw (the URL parser encodes what it must), or with
/// broken escapes, encoded NUL and invalid UTF-8 spliced in.
fn query_value(r: &mut Rng, raw: &str) -> String {
    match r.below(10) {
        0 => raw.replace('#', "%23").replace('&', "%26").replace(' ', "+"),
        1 => {
            let mut v = enc(raw);
            let at = r.below(v.len() + 1);
            let junk = r.pick(&[
                "%",
                "%zz",
                "%0",
                "%00",
                "%ff%fe",
                "%C3%28",
                "%ED%A0%80",
                "%F4%90%80%80",
                "+",
                "&",
                "=",
                ";",
                "%2500",
            ]);
            v.insert_str(at, junk);
            v
        }
        _ => enc(raw),
    }
}

/// A parameter name as written, or in another case.
fn param(r: &mut Rng, name: &str) -> String {
    match r.below(12) {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        _ => name.to_owned(),
    }
}

/// `base + path + ?query`, as the HTTP client will send it, under [`MAX_URL`]: the longest
/// parameters go first when it is not.
fn finish_url(base: &str, path: &str, mut params: Vec<(String, String)>) -> String {
    loop {
        let query: Vec<String> =
            params.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect();
        let raw = if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{}", query.join("&")) };
        if let Ok(url) = url::Url::parse(&raw)
            && url.as_str().len() <= MAX_URL
        {
            return url.as_str().to_owned();
        }
        if params.is_empty() {
            return format!("{base}/");
        }
        let longest = (0..params.len()).max_by_key(|&i| params[i].0.len() + params[i].1.len()).unwrap_or(0);
        params.remove(longest);
    }
}

/// A resource id in a URL path: a real one, an absent UUID, other UUID spellings, junk, encoded
/// NUL and traversal, or a long one.
fn path_id(r: &mut Rng, known: &[String]) -> String {
    match r.weighted(&[70, 8, 5, 6, 5, 3, 3]) {
        0 if !known.is_empty() => r.pick(known).clone(),
        0 | 1 => r.uuid(),
        2 => {
            let id = r.uuid();
            match r.below(5) {
                0 => id.to_uppercase(),
                1 => format!("{{{id}}}"),
                2 => format!("urn:uuid:{id}"),
                3 => id.replace('-', ""),
                _ => id[..35].to_owned(),
            }
        }
        3 => enc(&text(r)),
        4 => r.pick_str(&[
            "..", "%2e%2e", "%2F", "%00", "%ff", "%C3%28", "a%20b", "~", "*", "-1", "0", "null", ".search", "%2e",
        ]),
        5 => "a".repeat(r.between(100, 20_000)),
        _ => enc(&"🙂".repeat(r.between(10, 1_000))),
    }
}

fn content_type(r: &mut Rng, json_type: &str) -> Option<String> {
    let other = r.pick(&[
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
        "multipart/form-data; boundary=x",
        "application/scim+json",
        "application/merge-patch+json",
        "*/*",
        "application/json",
    ]);
    match r.below(20) {
        0 => None,
        1..=3 => Some((*other).to_owned()),
        _ => Some(json_type.to_owned()),
    }
}

/// The `Authorization` header: the right token mostly, otherwise missing, malformed, wrong or of
/// the wrong kind.
fn auth(r: &mut Rng, token: &str, others: &[&str]) -> Option<String> {
    match r.below(160) {
        0 => None,
        1 => Some("Bearer ".into()),
        2 => Some("Bearer wrong".into()),
        3 => Some(format!("Basic {token}")),
        4 => Some(format!("Bearer {token}x")),
        5 => Some("Bearer eyJhbGciOiJub25lIn0.e30.".into()),
        6 => Some(format!("bearer {token}")),
        7 if !others.is_empty() => Some(format!("Bearer {}", r.pick(others))),
        _ => Some(format!("Bearer {token}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases, their checks and the report.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// RFC 7644 §3.12: `application/scim+json`, the Error schema, `status` as a string.
    Scim,
    /// RFC 9457: `application/problem+json`, `type`, `title`, numeric `status`.
    Problem,
}

struct Case {
    endpoint: &'static str,
    method: Method,
    url: String,
    auth: Option<String>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    shape: Shape,
}

impl Case {
    fn new(endpoint: &'static str, method: Method, url: String, shape: Shape, auth: Option<String>) -> Case {
        // scim-ingress words errors under `/scim/` the SCIM way; a SCIM case whose path `..`
        // took elsewhere expects the problem+json of the rest of the service.
        let under_scim = url::Url::parse(&url).is_ok_and(|u| u.path().starts_with("/scim/"));
        let shape = if shape == Shape::Scim && !under_scim { Shape::Problem } else { shape };
        Case { endpoint, method, url, auth, content_type: None, body: None, shape }
    }

    fn body(mut self, r: &mut Rng, body: Vec<u8>) -> Case {
        let json_type =
            if self.shape == Shape::Scim { "application/scim+json; charset=utf-8" } else { "application/json" };
        self.content_type = content_type(r, json_type);
        self.body = Some(body);
        self
    }
}

fn trunc(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &s[..cut], s.len())
}

/// Why a response breaks the oracle, if it does.
fn check(shape: Shape, status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    match status {
        200..=299 => return Ok(()),
        400..=499 => {}
        500.. => return Err(format!("server error {status}")),
        _ => return Err(format!("unexpected status {status}")),
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| format!("{status}: the error body is not JSON"))?;
    let mut wrong = Vec::new();
    if doc["detail"].as_str().is_none_or(|d| d.trim().is_empty()) {
        wrong.push("no non-empty `detail`");
    }
    match shape {
        Shape::Scim => {
            if !content_type.starts_with("application/scim+json") {
                wrong.push("not application/scim+json");
            }
            if doc["schemas"] != json!([SCIM_ERROR]) {
                wrong.push("`schemas` is not [Error]");
            }
            if doc["status"].as_str() != Some(status.to_string().as_str()) {
                wrong.push("`status` is not the HTTP status as a string");
            }
        }
        Shape::Problem => {
            if !content_type.starts_with("application/problem+json") {
                wrong.push("not application/problem+json");
            }
            if doc["type"].as_str().is_none_or(str::is_empty) {
                wrong.push("no `type`");
            }
            if doc["title"].as_str().is_none_or(str::is_empty) {
                wrong.push("no `title`");
            }
            if doc["status"].as_u64() != Some(u64::from(status)) {
                wrong.push("`status` is not the HTTP status as a number");
            }
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(format!("{status} in the wrong shape: {}", wrong.join(", "))) }
}

struct Failure {
    endpoint: &'static str,
    reason: String,
    detail: String,
}

struct Outcome {
    endpoint: &'static str,
    status: Option<u16>,
    failure: Option<Failure>,
}

async fn send(client: &Client, case: Case, index: usize) -> Outcome {
    send_keeping_body(client, case, index).await.0
}

/// [`send`], also returning the response body.
async fn send_keeping_body(client: &Client, case: Case, index: usize) -> (Outcome, Vec<u8>) {
    let mut req = client.request(case.method.clone(), case.url.as_str()).timeout(Duration::from_secs(60));
    if let Some(a) = &case.auth {
        req = req.header(AUTHORIZATION, a.as_str());
    }
    if let Some(ct) = &case.content_type {
        req = req.header(CONTENT_TYPE, ct.as_str());
    }
    if let Some(b) = &case.body {
        req = req.body(b.clone());
    }
    let fail = |status: Option<u16>, reason: String, response: String| Outcome {
        endpoint: case.endpoint,
        status,
        failure: Some(Failure {
            endpoint: case.endpoint,
            detail: format!(
                "case {index}: {} {}\n    authorization: {:?}\n    content-type: {:?}\n    body: {}\n    -> {response}",
                case.method,
                trunc(&case.url, 300),
                case.auth.as_deref().map(|a| trunc(a, 60)),
                case.content_type,
                case.body.as_deref().map_or("(none)".to_owned(), |b| trunc(&String::from_utf8_lossy(b), 500)),
            ),
            reason,
        }),
    };
    let res = match req.send().await {
        Ok(res) => res,
        Err(e) => return (fail(None, "no response".into(), e.to_string()), Vec::new()),
    };
    let status = res.status().as_u16();
    let ct = res.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = match res.bytes().await {
        Ok(b) => b,
        Err(e) => return (fail(Some(status), "body not read".into(), e.to_string()), Vec::new()),
    };
    let outcome = match check(case.shape, status, &ct, &body) {
        Ok(()) => Outcome { endpoint: case.endpoint, status: Some(status), failure: None },
        Err(reason) => {
            let response = format!("{status} {ct:?} {}", trunc(&String::from_utf8_lossy(&body), 500));
            fail(Some(status), reason, response)
        }
    };
    (outcome, body.to_vec())
}

#[derive(Default, Clone, Copy)]
struct Tally {
    cases: usize,
    ok: usize,
    client_error: usize,
    server_error: usize,
    failed: usize,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        self.cases += 1;
        match o.status {
            Some(200..=299) => self.ok += 1,
            Some(400..=499) => self.client_error += 1,
            Some(500..) => self.server_error += 1,
            _ => {}
        }
        if o.failure.is_some() {
            self.failed += 1;
        }
    }
}

struct Report {
    api: &'static str,
    elapsed: Duration,
    total: Tally,
    endpoints: BTreeMap<&'static str, Tally>,
    statuses: BTreeMap<u16, usize>,
    failures: Vec<Failure>,
}

/// Runs `n` generated cases against the services, [`CONCURRENCY`] at a time.
async fn campaign<G>(client: &Client, api: &'static str, n: usize, mut generate: G) -> Report
where
    G: FnMut(&mut Rng, usize) -> Case,
{
    let seed = seed();
    // A service that crashes takes this process with it, before any report: `FUZZ_TRACE` prints
    // each case as it goes out, one at a time, so the last one printed is the culprit.
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(0..n)
        .map(|i| {
            let mut r = Rng::for_case(seed, api, i);
            let case = generate(&mut r, i);
            if trace {
                let body = case.body.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                eprintln!("fuzz {api} case {i}: {} {} {}", case.method, trunc(&case.url, 2_000), trunc(&body, 2_000));
            }
            send(client, case, i)
        })
        .buffer_unordered(if trace { 1 } else { CONCURRENCY })
        .collect()
        .await;
    let mut report = Report {
        api,
        elapsed: started.elapsed(),
        total: Tally::default(),
        endpoints: BTreeMap::new(),
        statuses: BTreeMap::new(),
        failures: Vec::new(),
    };
    report.absorb(outcomes);
    report
}

impl Report {
    fn absorb(&mut self, outcomes: Vec<Outcome>) {
        for o in outcomes {
            self.total.add(&o);
            self.endpoints.entry(o.endpoint).or_default().add(&o);
            if let Some(s) = o.status {
                *self.statuses.entry(s).or_default() += 1;
            }
            self.failures.extend(o.failure);
        }
    }

    /// Prints the figures (visible with `--no-capture`) and fails on any broken case, listing
    /// each kind of failure with a few of its requests.
    fn finish(self) {
        let t = self.total;
        println!(
            "fuzz {}: {} cases in {:.1} s (seed {}): 2xx {}, 4xx {}, 5xx {}, failed {}",
            self.api,
            t.cases,
            self.elapsed.as_secs_f64(),
            seed(),
            t.ok,
            t.client_error,
            t.server_error,
            t.failed
        );
        for (endpoint, e) in &self.endpoints {
            println!(
                "  {endpoint:<48} {:>6} cases  2xx {:>5}  4xx {:>5}  5xx {:>3}  failed {:>3}",
                e.cases, e.ok, e.client_error, e.server_error, e.failed
            );
        }
        let statuses: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!("  statuses: {}", statuses.join(" "));
        if self.failures.is_empty() {
            return;
        }
        let mut kinds: BTreeMap<(&str, &str), Vec<&Failure>> = BTreeMap::new();
        for f in &self.failures {
            kinds.entry((f.endpoint, f.reason.as_str())).or_default().push(f);
        }
        let mut out = String::new();
        for ((endpoint, reason), list) in &kinds {
            out.push_str(&format!("\n== {endpoint}: {reason} ({} cases)\n", list.len()));
            for f in list.iter().take(3) {
                out.push_str(&format!("  {}\n", f.detail));
            }
        }
        panic!("fuzz {}: {} of {} cases failed the oracle:{out}", self.api, self.failures.len(), t.cases);
    }
}

// ---------------------------------------------------------------------------------------------
// SCIM.

const USER_ATTRS: &[&str] = &[
    "userName",
    "name",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "displayName",
    "nickName",
    "title",
    "active",
    "externalId",
    "id",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.locality",
    "addresses.country",
    "groups",
    "groups.value",
    "groups.display",
    "meta",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "meta.version",
    "locale",
    "timezone",
    "userType",
    "password",
    "roles.value",
    "schemas",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge",
];

const GROUP_ATTRS: &[&str] = &[
    "displayName",
    "externalId",
    "id",
    "members",
    "members.value",
    "members.display",
    "members.type",
    "members.$ref",
    "meta",
    "meta.created",
    "meta.lastModified",
    "schemas",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
];

const JUNK_ATTRS: &[&str] = &[
    "",
    "1abc",
    "a-b",
    "$ref",
    "_x",
    "a..b",
    ".a",
    "a.",
    "a.b.c",
    "urn:",
    "urn:x:",
    ":a",
    "ünïcode",
    "a b",
    "a\"b",
    "emails[",
    "emails]",
    "emails[type eq \"work\"]",
    "name.givenName.x",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value.x",
];

const MULTI_USER: &[&str] =
    &["emails", "phoneNumbers", "addresses", "groups", "roles", "name", "userName", "meta", "x509Certificates"];
const MULTI_GROUP: &[&str] = &["members", "members", "displayName", "meta"];
const SUB_ATTRS: &[&str] = &["value", "type", "primary", "display", "$ref", "locality", "country", "VALUE", "junk"];
const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

const USER_KEYS: &[&str] = &[
    "schemas",
    "userName",
    "name",
    "givenName",
    "emails",
    "value",
    "active",
    "externalId",
    "id",
    "meta",
    "groups",
    "password",
    ENTERPRISE,
    CUSTOM,
];
const GROUP_KEYS: &[&str] = &["schemas", "displayName", "members", "value", "externalId", "id", "meta"];
const PATCH_KEYS: &[&str] = &["schemas", "Operations", "op", "path", "value", "active", "members", "displayName"];
const SEARCH_KEYS: &[&str] =
    &["schemas", "filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy"];

/// Upper, lower or mixed case: SCIM keywords and attribute names are case-insensitive.
fn cased(r: &mut Rng, s: &str) -> String {
    match r.below(8) {
        0 => s.to_ascii_uppercase(),
        1 => s.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        _ => s.to_owned(),
    }
}

fn attr(r: &mut Rng, attrs: &[&str]) -> String {
    match r.below(20) {
        0..=14 => r.pick_str(attrs),
        15 | 16 => {
            let a = r.pick_str(attrs);
            cased(r, &a)
        }
        17 => text(r),
        _ => r.pick_str(JUNK_ATTRS),
    }
}

fn attr_list(r: &mut Rng, attrs: &[&str]) -> String {
    let sep = r.pick_str(&[",", ", ", " ,", ",,"]);
    (0..r.between(1, 5)).map(|_| attr(r, attrs)).collect::<Vec<_>>().join(&sep)
}

/// A comparison value: numbers, keywords, dates, strings with every kind of escape, unterminated
/// or bare literals.
fn literal(r: &mut Rng) -> String {
    match r.below(14) {
        0 => r.pick_str(NUMBERS),
        1 => r.pick_str(&["true", "false", "null", "True", "NULL", "FALSE"]),
        2 => format!(
            "\"{}\"",
            r.pick(&[
                "2026-01-31T12:00:00Z",
                "2026-13-45T99:99:99Z",
                "0000-00-00",
                "2026-01-31",
                "2026-01-31T12:00:00"
            ])
        ),
        3 => format!("\"{}", ascii_word(r, 8)),
        4 => ascii_word(r, 8),
        5 => "\"\"".into(),
        6 => format!(
            "\"{}\"",
            r.pick(&[
                r#"a\"b"#,
                r"\\",
                r"\u00e9",
                r"\ud800",
                r"\u0000",
                r"\n",
                r"\x",
                r"\",
                r"\uZZZZ",
                r"\ud83d\ude00"
            ])
        ),
        7 => format!(
            "\"{}\"",
            r.pick(&["fuzz-q3@example.com", "work", "Ada", "@example.com", "%", "_", "R&D", "Engineers"])
        ),
        8 => format!("\"{}\"", "x".repeat(*r.pick(&[1_000, 8_193]))),
        _ => {
            let s = text(r);
            json_str(r, &s)
        }
    }
}

fn atom(r: &mut Rng, attrs: &[&str]) -> String {
    let path = attr(r, attrs);
    if r.chance(0.15) {
        let pr = cased(r, "pr");
        return format!("{path} {pr}");
    }
    let op = r.pick_str(OPS);
    let op = cased(r, &op);
    let ws = r.pick_str(&[" ", " ", " ", "  ", "\t"]);
    format!("{path}{ws}{op}{ws}{}", literal(r))
}

/// A filter from the RFC 7644 §3.4.2.2 grammar: comparisons, `pr`, `and`/`or`/`not`, brackets and
/// value paths, nested up to `depth`.
fn filter_expr(r: &mut Rng, attrs: &[&str], multi: &[&str], depth: usize) -> String {
    if depth == 0 {
        return atom(r, attrs);
    }
    match r.below(6) {
        0 => {
            let logic = r.pick_str(&["and", "or"]);
            let logic = cased(r, &logic);
            format!("{} {logic} {}", filter_expr(r, attrs, multi, depth - 1), filter_expr(r, attrs, multi, depth - 1))
        }
        1 => {
            let not = r.pick_str(&["not ", "not", "NOT ", "not  "]);
            format!("{not}({})", filter_expr(r, attrs, multi, depth - 1))
        }
        2 => format!("({})", filter_expr(r, attrs, multi, depth - 1)),
        3 if !multi.is_empty() => {
            let path = r.pick_str(multi);
            format!("{path}[{}]", filter_expr(r, SUB_ATTRS, &[], depth - 1))
        }
        _ => atom(r, attrs),
    }
}

/// A few random edits (deletions, grammar characters, repeats, truncation) that break a filter.
fn mangle(r: &mut Rng, s: String) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..r.between(1, 3) {
        let at = r.below(chars.len() + 1);
        match r.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.insert(at, *r.pick(&['(', ')', '[', ']', '"', '\\', ' ', '.', ':', ','])),
            2 => {
                let tail: Vec<char> = chars[at..].iter().take(20).copied().collect();
                chars.splice(at..at, tail);
            }
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

fn filter(r: &mut Rng, attrs: &[&str], multi: &[&str]) -> String {
    match r.below(20) {
        0 => text(r),
        1 => {
            let levels = r.between(20, 80);
            let inner = atom(r, attrs);
            let (open, close) = if r.chance(0.5) { ("(", ")") } else { ("not (", ")") };
            format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
        }
        2 => {
            let a = atom(r, attrs);
            let n = r.between(1, 10_000 / (a.len() + 4).max(1)).max(2);
            vec![a; n].join(" or ")
        }
        3 | 4 => {
            let depth = r.below(4);
            let f = filter_expr(r, attrs, multi, depth);
            mangle(r, f)
        }
        _ => {
            let depth = r.below(5);
            filter_expr(r, attrs, multi, depth)
        }
    }
}

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`, and unknown or repeated
/// parameters.
fn list_params(r: &mut Rng, attrs: &[&str], multi: &[&str]) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if r.chance(0.75) {
        let f = filter(r, attrs, multi);
        p.push((param(r, "filter"), query_value(r, &f)));
    }
    for name in ["startIndex", "count"] {
        if r.chance(0.35) {
            let v = int_text(r);
            p.push((param(r, name), query_value(r, &v)));
        }
    }
    projection_params(r, attrs, &mut p);
    if r.chance(0.08) {
        let (k, v) = (text(r), text(r));
        p.push((enc(&k), enc(&v)));
    }
    if !p.is_empty() && r.chance(0.05) {
        let dup = r.pick(&p).clone();
        p.push(dup);
    }
    p
}

fn projection_params(r: &mut Rng, attrs: &[&str], p: &mut Vec<(String, String)>) {
    for name in ["attributes", "excludedAttributes"] {
        if r.chance(0.2) {
            let v = attr_list(r, attrs);
            p.push((param(r, name), query_value(r, &v)));
        }
    }
}

fn int_value(r: &mut Rng) -> Value {
    match r.below(6) {
        0 => Value::String(int_text(r)),
        1 => random_value(r, 1),
        _ => number(r),
    }
}

fn search_body(r: &mut Rng, attrs: &[&str], multi: &[&str]) -> Vec<u8> {
    let mut v = json!({ "schemas": [SEARCH_REQUEST] });
    if r.chance(0.8) {
        v["filter"] = Value::String(filter(r, attrs, multi));
    }
    for key in ["startIndex", "count"] {
        if r.chance(0.4) {
            v[key] = if r.chance(0.6) { json!(r.between(0, 300)) } else { int_value(r) };
        }
    }
    for key in ["attributes", "excludedAttributes"] {
        if r.chance(0.2) {
            v[key] = if r.chance(0.5) {
                Value::String(attr_list(r, attrs))
            } else {
                Value::Array((0..r.between(0, 4)).map(|_| Value::String(attr(r, attrs))).collect())
            };
        }
    }
    if r.chance(0.05) {
        v["sortBy"] = Value::String(attr(r, attrs));
    }
    body_of(r, v, SEARCH_KEYS)
}

const GIVEN: &[&str] = &["Ada", "Grace", "Zoë", "李", "Ωmega", "O'Brien", "José"];
const FAMILY: &[&str] = &["Lovelace", "Hopper", "Ngô", "Nakamura", "Smith-Jones", "van der Berg"];

/// A valid User with unique `userName` and work email derived from `tag`.
fn user_template(r: &mut Rng, tag: &str, users: &[String]) -> Value {
    let (given, family) = (r.pick_str(GIVEN), r.pick_str(FAMILY));
    let mut u = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": format!("{tag}@example.com"),
        "name": { "givenName": given, "familyName": family, "formatted": format!("{given} {family}") },
        "displayName": format!("{given} {family}"),
        "active": r.chance(0.8),
        "emails": [{ "value": format!("{tag}@work.example.com"), "type": "work", "primary": true }],
        "title": r.pick_str(&["Engineer", "Manager", "CEO", ""]),
        ENTERPRISE: { "employeeNumber": tag, "department": r.pick_str(&["R&D", "Sales", "Ops"]), "costCenter": "cc-1" },
    });
    if r.chance(0.5) {
        u["externalId"] = json!(format!("ext-{tag}"));
    }
    if r.chance(0.4) {
        u["phoneNumbers"] = json!([{ "value": "+1 555 0100", "type": "mobile" }]);
        u["addresses"] =
            json!([{ "type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "country": "US" }]);
    }
    if r.chance(0.3) {
        u["emails"]
            .as_array_mut()
            .expect("emails")
            .push(json!({ "value": format!("{tag}@home.example.com"), "type": "home" }));
    }
    if r.chance(0.3) && !users.is_empty() {
        u[ENTERPRISE]["manager"] = json!({ "value": r.pick(users) });
    }
    if r.chance(0.2) {
        u["schemas"].as_array_mut().expect("schemas").push(json!(CUSTOM));
        u[CUSTOM] = json!({ "badge": tag, "clearance": { "level": 3 } });
    }
    if r.chance(0.2) {
        u["password"] = json!("hunter2");
    }
    u
}

/// A Group with `displayName` derived from `tag`; its members are `users`, and sometimes (when
/// `strangers`) an id that is none of them.
fn group_template(r: &mut Rng, tag: &str, users: &[String], strangers: bool) -> Value {
    let members: Vec<Value> = (0..r.between(0, 4))
        .map(|_| {
            let value =
                if (!strangers || r.chance(0.85)) && !users.is_empty() { r.pick(users).clone() } else { r.uuid() };
            json!({ "value": value })
        })
        .collect();
    let mut g = json!({ "schemas": [GROUP_SCHEMA], "displayName": format!("Group {tag}"), "members": members });
    if r.chance(0.5) {
        g["externalId"] = json!(format!("gext-{tag}"));
    }
    g
}

/// The SCIM side of a tenant, with resources to aim at.
struct Scim {
    base: String,
    token: String,
    users: Vec<String>,
    groups: Vec<String>,
    /// Created to be deleted: the other resources stay, so most cases find what they aim at.
    doomed_users: Vec<String>,
    doomed_groups: Vec<String>,
}

async fn scim_create(stack: &Stack, t: &Tenant, path: &str, body: &Value) -> String {
    let res = stack.scim_send(t, Method::POST, path, body).await;
    let status = res.status();
    let created: Value = res.json().await.expect("json");
    assert_eq!(status, 201, "seeding {path} failed: {created}");
    created["id"].as_str().expect("id").to_owned()
}

/// Users (with managers) and groups (with members) for the cases to search, change and delete.
async fn seed_scim(stack: &Stack, t: &Tenant, users: usize, groups: usize) -> Scim {
    let mut r = Rng::for_case(seed(), "seed", 0);
    let mut s = Scim {
        base: t.base_url.clone(),
        token: t.scim_token.clone(),
        users: Vec::new(),
        groups: Vec::new(),
        doomed_users: Vec::new(),
        doomed_groups: Vec::new(),
    };
    for i in 0..users {
        let u = user_template(&mut r, &format!("fuzz-q{i}"), &s.users);
        s.users.push(scim_create(stack, t, "/Users", &u).await);
    }
    for i in 0..groups {
        let g = group_template(&mut r, &format!("seed-{i}"), &s.users, false);
        s.groups.push(scim_create(stack, t, "/Groups", &g).await);
    }
    for i in 0..users / 2 {
        let u = user_template(&mut r, &format!("fuzz-doomed{i}"), &[]);
        s.doomed_users.push(scim_create(stack, t, "/Users", &u).await);
    }
    for i in 0..groups {
        let g = group_template(&mut r, &format!("doomed-{i}"), &s.users, false);
        s.doomed_groups.push(scim_create(stack, t, "/Groups", &g).await);
    }
    s
}

impl Scim {
    fn auth(&self, r: &mut Rng) -> Option<String> {
        let token = self.token.clone();
        match r.below(60) {
            // Okta's "HTTP Header" mode: the bare token.
            0 => Some(token),
            _ => auth(r, &token, &[]),
        }
    }

    fn case(
        &self,
        r: &mut Rng,
        endpoint: &'static str,
        method: Method,
        path: &str,
        params: Vec<(String, String)>,
    ) -> Case {
        let url = finish_url(&self.base, path, params);
        let auth = self.auth(r);
        Case::new(endpoint, method, url, Shape::Scim, auth)
    }

    fn projection(&self, r: &mut Rng, attrs: &[&str]) -> Vec<(String, String)> {
        let mut p = Vec::new();
        projection_params(r, attrs, &mut p);
        p
    }

    /// Discovery, unknown endpoints and methods a route does not have.
    fn stray(&self, r: &mut Rng) -> Case {
        let method = r.pick(&[Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE]).clone();
        let path = r.pick_str(&[
            "/ServiceProviderConfig",
            "/ResourceTypes",
            "/ResourceTypes/User",
            "/ResourceTypes/Nope",
            "/Schemas",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            "/Schemas/junk",
            "/Users",
            "/Groups",
            "/Bulk",
            "/Me",
            "/Users/.search",
            "/",
            "",
            "/Users/a/b",
            // Out of `/scim/v2`: another version, the prefix itself, and out of `/scim/` altogether.
            "/../v1/Users",
            "/..",
            "/../../scim",
        ]);
        let id = path_id(r, &self.users);
        let path = if r.chance(0.2) { format!("/{id}") } else { path };
        let mut c = self.case(r, "stray SCIM", method, &path, Vec::new());
        if r.chance(0.5) {
            let v = random_value(r, 3);
            let b = body_of(r, v, USER_KEYS);
            c = c.body(r, b);
        }
        c
    }

    fn query(&self, r: &mut Rng) -> Case {
        match r.weighted(&[38, 20, 8, 8, 6, 10, 6, 4]) {
            0 => {
                let p = list_params(r, USER_ATTRS, MULTI_USER);
                self.case(r, "GET /Users", Method::GET, "/Users", p)
            }
            1 => {
                let p = list_params(r, GROUP_ATTRS, MULTI_GROUP);
                self.case(r, "GET /Groups", Method::GET, "/Groups", p)
            }
            2 => {
                let b = search_body(r, USER_ATTRS, MULTI_USER);
                self.case(r, "POST /.search", Method::POST, "/.search", Vec::new()).body(r, b)
            }
            3 => {
                let b = search_body(r, USER_ATTRS, MULTI_USER);
                self.case(r, "POST /Users/.search", Method::POST, "/Users/.search", Vec::new()).body(r, b)
            }
            4 => {
                let b = search_body(r, GROUP_ATTRS, MULTI_GROUP);
                self.case(r, "POST /Groups/.search", Method::POST, "/Groups/.search", Vec::new()).body(r, b)
            }
            5 => {
                let id = path_id(r, &self.users);
                let p = self.projection(r, USER_ATTRS);
                self.case(r, "GET /Users/{id}", Method::GET, &format!("/Users/{id}"), p)
            }
            6 => {
                let id = path_id(r, &self.groups);
                let p = self.projection(r, GROUP_ATTRS);
                self.case(r, "GET /Groups/{id}", Method::GET, &format!("/Groups/{id}"), p)
            }
            _ => self.stray(r),
        }
    }

    fn email(&self, r: &mut Rng) -> Value {
        match r.below(4) {
            0 => Value::String(text(r)),
            _ => json!(format!("{}@work.example.com", ascii_word(r, 10))),
        }
    }

    /// A PATCH path and value for a User: Okta's shapes, filtered paths, extension attributes,
    /// generated value filters and junk.
    fn user_patch_target(&self, r: &mut Rng) -> (Option<String>, Option<Value>) {
        match r.below(14) {
            0 => (None, Some(json!({ "active": r.chance(0.5) }))),
            1 => (None, Some(json!({ "name": { "givenName": text(r) }, "displayName": text(r) }))),
            2 => (Some("active".into()), Some(json!(r.chance(0.5)))),
            3 => (Some("name.givenName".into()), Some(Value::String(any_text(r)))),
            4 => (Some("emails[type eq \"work\"].value".into()), Some(self.email(r))),
            5 => (Some("emails".into()), Some(json!([{ "value": self.email(r), "type": "work", "primary": true }]))),
            6 => (Some(format!("{ENTERPRISE}:department")), Some(Value::String(text(r)))),
            7 => (Some(format!("{ENTERPRISE}:manager")), Some(json!({ "value": path_id(r, &self.users) }))),
            8 => (Some("addresses[type eq \"work\"].locality".into()), Some(Value::String(text(r)))),
            9 => {
                let multi = r.pick_str(MULTI_USER);
                let inner = filter_expr(r, SUB_ATTRS, &[], 2);
                let sub = if r.chance(0.5) { format!(".{}", r.pick(SUB_ATTRS)) } else { String::new() };
                (Some(format!("{multi}[{inner}]{sub}")), Some(random_value(r, 2)))
            }
            10 => (Some(attr(r, USER_ATTRS)), Some(random_value(r, 2))),
            11 => {
                let p = attr(r, USER_ATTRS);
                (Some(mangle(r, p)), Some(random_value(r, 2)))
            }
            12 => (Some("userName".into()), Some(json!(format!("fuzz-q{}@example.com", r.below(40))))),
            _ => (None, Some(random_value(r, 2))),
        }
    }

    fn member(&self, r: &mut Rng) -> Value {
        let value = if r.chance(0.8) { path_id(r, &self.users) } else { text(r) };
        json!({ "value": value })
    }

    /// A PATCH path and value for a Group: member adds and removes (by filter too), renames, junk.
    fn group_patch_target(&self, r: &mut Rng) -> (Option<String>, Option<Value>) {
        match r.below(10) {
            0 | 1 => {
                let members: Vec<Value> = (0..r.between(0, 5)).map(|_| self.member(r)).collect();
                (Some("members".into()), Some(Value::Array(members)))
            }
            2 => {
                let id = path_id(r, &self.users);
                let op = r.pick_str(&["eq", "ne", "co", "sw"]);
                (Some(format!("members[value {op} \"{id}\"]")), None)
            }
            3 => (Some("displayName".into()), Some(Value::String(any_text(r)))),
            4 => (None, Some(json!({ "displayName": text(r), "id": path_id(r, &self.groups) }))),
            5 => (None, Some(json!({ "members": [self.member(r)] }))),
            6 => {
                let inner = filter_expr(r, SUB_ATTRS, &[], 2);
                (Some(format!("members[{inner}]")), Some(random_value(r, 1)))
            }
            7 => (Some(attr(r, GROUP_ATTRS)), Some(random_value(r, 2))),
            8 => (Some("externalId".into()), Some(Value::String(text(r)))),
            _ => (None, Some(random_value(r, 2))),
        }
    }

    fn patch_doc(&self, r: &mut Rng, group: bool) -> Vec<u8> {
        let n = *r.pick(&[1, 1, 1, 2, 3, 5, 0, 20]);
        let ops: Vec<Value> = (0..n)
            .map(|_| {
                let op = match r.below(20) {
                    0 => r.pick_str(&["Add", "Replace", "Remove", "REPLACE", "delete", "", "move", "test"]),
                    1..=6 => "add".into(),
                    7..=10 => "remove".into(),
                    _ => "replace".into(),
                };
                let (path, value) = if group { self.group_patch_target(r) } else { self.user_patch_target(r) };
                let mut o = Map::new();
                o.insert("op".into(), Value::String(op.clone()));
                if let Some(p) = path {
                    o.insert("path".into(), Value::String(p));
                }
                if let Some(v) = value
                    && (!op.eq_ignore_ascii_case("remove") || r.chance(0.3))
                {
                    o.insert("value".into(), v);
                }
                Value::Object(o)
            })
            .collect();
        body_of(r, json!({ "schemas": [PATCH_OP], "Operations": ops }), PATCH_KEYS)
    }

    fn write(&self, r: &mut Rng, i: usize) -> Case {
        let tag = format!("fuzz-w{i}");
        match r.weighted(&[26, 13, 26, 10, 5, 11, 5, 4]) {
            0 => {
                let u = user_template(r, &tag, &self.users);
                let b = body_of(r, u, USER_KEYS);
                let p = self.projection(r, USER_ATTRS);
                self.case(r, "POST /Users", Method::POST, "/Users", p).body(r, b)
            }
            1 => {
                let id = path_id(r, &self.users);
                let u = user_template(r, &tag, &self.users);
                let b = body_of(r, u, USER_KEYS);
                self.case(r, "PUT /Users/{id}", Method::PUT, &format!("/Users/{id}"), Vec::new()).body(r, b)
            }
            2 => {
                let id = path_id(r, &self.users);
                let b = self.patch_doc(r, false);
                let p = self.projection(r, USER_ATTRS);
                self.case(r, "PATCH /Users/{id}", Method::PATCH, &format!("/Users/{id}"), p).body(r, b)
            }
            3 => {
                let g = group_template(r, &tag, &self.users, true);
                let b = body_of(r, g, GROUP_KEYS);
                self.case(r, "POST /Groups", Method::POST, "/Groups", Vec::new()).body(r, b)
            }
            4 => {
                let id = path_id(r, &self.groups);
                let g = group_template(r, &tag, &self.users, true);
                let b = body_of(r, g, GROUP_KEYS);
                self.case(r, "PUT /Groups/{id}", Method::PUT, &format!("/Groups/{id}"), Vec::new()).body(r, b)
            }
            5 => {
                let id = path_id(r, &self.groups);
                let b = self.patch_doc(r, true);
                let p = self.projection(r, GROUP_ATTRS);
                self.case(r, "PATCH /Groups/{id}", Method::PATCH, &format!("/Groups/{id}"), p).body(r, b)
            }
            6 => {
                if r.chance(0.5) {
                    let id = path_id(r, &self.doomed_users);
                    self.case(r, "DELETE /Users/{id}", Method::DELETE, &format!("/Users/{id}"), Vec::new())
                } else {
                    let id = path_id(r, &self.doomed_groups);
                    self.case(r, "DELETE /Groups/{id}", Method::DELETE, &format!("/Groups/{id}"), Vec::new())
                }
            }
            _ => self.stray(r),
        }
    }
}

/// The stack for a campaign: [`CONCURRENCY`] requests at once queue for the small pools of the
/// test stack instead of being turned away after the default 1 s, which a loaded CI box exceeds;
/// any 5xx is then the input's doing.
fn patient() -> StackOptions {
    StackOptions { acquire_timeout_ms: Some(30_000), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_scim_queries() {
    let stack = Stack::start(patient()).await;
    let t = stack.tenant("Fuzz SCIM queries").await;
    let scim = seed_scim(&stack, &t, 24, 4).await;
    let report = campaign(&stack.client, "SCIM queries", scaled(10_000), |r, _| scim.query(r)).await;
    stack.shutdown().await;
    report.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_scim_writes() {
    let stack = Stack::start(patient()).await;
    let t = stack.tenant("Fuzz SCIM writes").await;
    let scim = seed_scim(&stack, &t, 16, 4).await;
    let mut report = campaign(&stack.client, "SCIM writes", scaled(8_000), |r, i| scim.write(r, i)).await;
    // Whatever SCIM accepted travels on to the employee-store, which must serve it as well. A
    // user created last and seen there means the store has caught up with (nearly) all of it.
    let last = json!({ "schemas": [USER_SCHEMA], "userName": "fuzz-last@example.com" });
    let last = scim_create(&stack, &t, "/Users", &last).await;
    stack.wait_employee(&t, &last, |_| true).await;
    for collection in ["employees", "groups"] {
        report.absorb(read_back(&stack, &t, collection).await);
    }
    stack.shutdown().await;
    report.finish();
}

/// Every page of `/api/hris/<collection>`, deleted records included.
async fn read_back(stack: &Stack, t: &Tenant, collection: &str) -> Vec<Outcome> {
    let endpoint =
        if collection == "groups" { "read back GET /api/hris/groups" } else { "read back GET /api/hris/employees" };
    let mut outcomes = Vec::new();
    let mut cursor = String::new();
    for page in 0..1_000 {
        let url = format!("{}/api/hris/{collection}?includeDeleted=true&limit=200&cursor={cursor}", stack.store);
        let case = Case::new(endpoint, Method::GET, url, Shape::Problem, Some(format!("Bearer {}", t.consumer_token)));
        let (outcome, body) = send_keeping_body(&stack.client, case, page).await;
        let ok = outcome.status == Some(200);
        outcomes.push(outcome);
        let next = serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["meta"]["next"].as_str().map(enc));
        match next {
            Some(next) if ok => cursor = next,
            _ => break,
        }
    }
    outcomes
}

// ---------------------------------------------------------------------------------------------
// control-plane.

/// A cursor: a real one, base64 of the wrong length, not base64, or hostile text.
fn cursor(r: &mut Rng, ids: &[String]) -> String {
    use base64_cursor::encode;
    match r.below(6) {
        0 | 1 if !ids.is_empty() => {
            let id = uuid::Uuid::parse_str(r.pick(ids).as_str()).expect("uuid");
            encode(id.as_bytes())
        }
        2 => {
            let n = r.below(40);
            let bytes: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
            encode(&bytes)
        }
        3 => r.pick_str(&[
            "",
            "=",
            "====",
            "AAAA",
            "!!!",
            "a+b/c==",
            "AAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAA==",
        ]),
        _ => any_text(r),
    }
}

/// Base64url without padding, the cursors' encoding, kept here to need no extra dependency.
mod base64_cursor {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

fn page_params(r: &mut Rng, ids: &[String]) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if r.chance(0.5) {
        let c = cursor(r, ids);
        p.push((param(r, "cursor"), query_value(r, &c)));
    }
    if r.chance(0.6) {
        let l = int_text(r);
        p.push((param(r, "limit"), query_value(r, &l)));
    }
    if r.chance(0.05) {
        let (k, v) = (text(r), text(r));
        p.push((enc(&k), enc(&v)));
    }
    p
}

struct ControlPlane {
    base: String,
    app_token: String,
    consumer_token: String,
    /// A consumer of the same application without a connection yet.
    fresh_consumer_token: String,
    api_key: String,
    consumers: Vec<String>,
    doomed_consumers: Vec<String>,
    connections: Vec<String>,
    applications: Vec<String>,
}

impl ControlPlane {
    async fn new(stack: &Stack) -> ControlPlane {
        let (c, base) = (&stack.client, stack.control_plane.as_str());
        let app: Value = c
            .post(format!("{base}/admin/applications"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "name": "Fuzz control-plane" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let (app_id, api_key) =
            (app["applicationId"].as_str().expect("id").to_owned(), app["apiKey"].as_str().expect("key").to_owned());
        let token = |body: Value| async move {
            let res: Value =
                c.post(format!("{base}/api/auth")).json(&body).send().await.expect("auth").json().await.expect("json");
            res["accessToken"].as_str().expect("token").to_owned()
        };
        let app_token = token(json!({ "apiKey": api_key, "applicationId": app_id, "scope": "application" })).await;
        let mut consumers = Vec::new();
        for i in 0..8 {
            let res: Value = c
                .post(format!("{base}/api/consumers"))
                .bearer_auth(&app_token)
                .json(&json!({ "name": format!("seed {i}"), "reference": format!("ref-{i}") }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            consumers.push(res["id"].as_str().expect("id").to_owned());
        }
        let doomed_consumers = consumers.split_off(4);
        let consumer_token = token(json!({ "apiKey": api_key, "consumerId": consumers[0], "scope": "consumer" })).await;
        let fresh_consumer_token =
            token(json!({ "apiKey": api_key, "consumerId": consumers[1], "scope": "consumer" })).await;
        let connection: Value = c
            .post(format!("{base}/api/connections"))
            .bearer_auth(&consumer_token)
            .json(&json!({ "serviceId": "okta-scim" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let connections = vec![connection["id"].as_str().expect("id").to_owned()];
        ControlPlane {
            base: stack.control_plane.clone(),
            app_token,
            consumer_token,
            fresh_consumer_token,
            applications: vec![app_id],
            api_key,
            consumers,
            doomed_consumers,
            connections,
        }
    }

    fn app_auth(&self, r: &mut Rng) -> Option<String> {
        auth(r, &self.app_token, &[self.consumer_token.as_str(), ADMIN_TOKEN])
    }

    fn consumer_auth(&self, r: &mut Rng) -> Option<String> {
        let token = if r.chance(0.2) { &self.fresh_consumer_token } else { &self.consumer_token };
        auth(r, token, &[self.app_token.as_str(), ADMIN_TOKEN])
    }

    fn uuid_or_junk(&self, r: &mut Rng, known: &[String]) -> Value {
        match r.below(10) {
            0..=5 if !known.is_empty() => Value::String(r.pick(known).clone()),
            0..=6 => Value::String(r.uuid()),
            7 => Value::String(text(r)),
            8 => Value::Null,
            _ => random_value(r, 1),
        }
    }

    fn auth_body(&self, r: &mut Rng) -> Vec<u8> {
        if r.chance(0.5) {
            let body = if r.chance(0.5) {
                json!({ "apiKey": self.api_key, "applicationId": self.applications[0], "scope": "application" })
            } else {
                json!({ "apiKey": self.api_key, "consumerId": r.pick(&self.consumers), "scope": "consumer" })
            };
            return body_of(r, body, &["apiKey", "applicationId", "consumerId", "scope"]);
        }
        let key = match r.below(10) {
            0..=6 => Value::String(self.api_key.clone()),
            7 => Value::String(format!("{}x", &self.api_key)),
            8 => Value::String(any_text(r)),
            _ => random_value(r, 1),
        };
        let scope = match r.below(10) {
            0..=3 => json!("application"),
            4..=7 => json!("consumer"),
            8 => Value::String(r.pick_str(&["Application", "admin", "", "consumer ", "*"])),
            _ => random_value(r, 1),
        };
        let mut body = json!({ "apiKey": key, "scope": scope });
        if r.chance(0.8) {
            body["applicationId"] = self.uuid_or_junk(r, &self.applications);
        }
        if r.chance(0.6) {
            let known: Vec<String> = self.consumers.iter().chain(&self.doomed_consumers).cloned().collect();
            body["consumerId"] = self.uuid_or_junk(r, &known);
        }
        body_of(r, body, &["apiKey", "applicationId", "consumerId", "scope"])
    }

    fn name_body(&self, r: &mut Rng, i: usize, with_reference: bool) -> Vec<u8> {
        let name = match r.below(5) {
            0 | 1 => Value::String(format!("consumer {i}")),
            2 => Value::String(any_text(r)),
            3 => Value::String("n".repeat(*r.pick(&[199, 200, 201, 5_000]))),
            _ => random_value(r, 1),
        };
        let mut body = json!({ "name": name });
        if with_reference && r.chance(0.5) {
            body["reference"] = match r.below(4) {
                0 => json!(format!("ref-{}", r.below(12))),
                1 => Value::String(any_text(r)),
                2 => Value::Null,
                _ => json!(format!("fuzz-ref-{i}")),
            };
        }
        body_of(r, body, &["name", "reference", "id"])
    }

    fn case(
        &self,
        r: &mut Rng,
        endpoint: &'static str,
        method: Method,
        path: &str,
        params: Vec<(String, String)>,
    ) -> Case {
        let url = finish_url(&self.base, path, params);
        let auth = match path {
            p if p.starts_with("/admin/") => auth(r, ADMIN_TOKEN, &[self.app_token.as_str()]),
            p if p.starts_with("/api/connections") => self.consumer_auth(r),
            "/api/auth" => {
                if r.chance(0.9) {
                    None
                } else {
                    self.app_auth(r)
                }
            }
            _ => self.app_auth(r),
        };
        Case::new(endpoint, method, url, Shape::Problem, auth)
    }

    fn next(&self, r: &mut Rng, i: usize) -> Case {
        match r.weighted(&[28, 18, 12, 6, 6, 6, 5, 4, 4, 4, 5, 2]) {
            0 => {
                let b = self.auth_body(r);
                self.case(r, "POST /api/auth", Method::POST, "/api/auth", Vec::new()).body(r, b)
            }
            1 => {
                let b = self.name_body(r, i, true);
                self.case(r, "POST /api/consumers", Method::POST, "/api/consumers", Vec::new()).body(r, b)
            }
            2 => {
                let p = page_params(r, &self.consumers);
                self.case(r, "GET /api/consumers", Method::GET, "/api/consumers", p)
            }
            3 => {
                let id = path_id(r, &self.consumers);
                self.case(r, "GET /api/consumers/{id}", Method::GET, &format!("/api/consumers/{id}"), Vec::new())
            }
            4 => {
                let id = path_id(r, &self.doomed_consumers);
                self.case(r, "DELETE /api/consumers/{id}", Method::DELETE, &format!("/api/consumers/{id}"), Vec::new())
            }
            5 => {
                let service = match r.below(4) {
                    0 | 1 => json!("okta-scim"),
                    2 => Value::String(any_text(r)),
                    _ => random_value(r, 1),
                };
                let b = body_of(r, json!({ "serviceId": service }), &["serviceId", "metadata"]);
                self.case(r, "POST /api/connections", Method::POST, "/api/connections", Vec::new()).body(r, b)
            }
            6 => {
                let p = page_params(r, &self.connections);
                self.case(r, "GET /api/connections", Method::GET, "/api/connections", p)
            }
            7 => {
                let id = path_id(r, &self.connections);
                self.case(r, "GET /api/connections/{id}", Method::GET, &format!("/api/connections/{id}"), Vec::new())
            }
            8 => {
                let id = path_id(r, &self.connections);
                let path = format!("/api/connections/{id}/rotate-token");
                let mut c = self.case(r, "POST /api/connections/{id}/rotate-token", Method::POST, &path, Vec::new());
                if r.chance(0.3) {
                    let v = random_value(r, 2);
                    let b = body_of(r, v, &[]);
                    c = c.body(r, b);
                }
                c
            }
            9 => {
                // Absent ids only: the connection itself stays, so rotation keeps finding it.
                let id = path_id(r, &[]);
                self.case(
                    r,
                    "DELETE /api/connections/{id}",
                    Method::DELETE,
                    &format!("/api/connections/{id}"),
                    Vec::new(),
                )
            }
            10 => {
                let b = self.name_body(r, i, false);
                self.case(r, "POST /admin/applications", Method::POST, "/admin/applications", Vec::new()).body(r, b)
            }
            _ => {
                let method = r.pick(&[Method::PUT, Method::PATCH, Method::DELETE, Method::GET, Method::POST]).clone();
                // Only the doomed: a DELETE may land on the resource itself.
                let id = path_id(r, &self.doomed_consumers);
                let path = r.pick_str(&[
                    "/api/auth",
                    "/api/consumers",
                    "/api/connections",
                    "/admin/applications",
                    "/admin",
                    "/api",
                    "/api/consumers/x/y",
                ]);
                let path = if r.chance(0.3) { format!("/api/consumers/{id}") } else { path };
                self.case(r, "stray control-plane", method, &path, Vec::new())
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_control_plane() {
    let stack = Stack::start(patient()).await;
    let cp = ControlPlane::new(&stack).await;
    let report = campaign(&stack.client, "control-plane", scaled(8_000), |r, i| cp.next(r, i)).await;
    stack.shutdown().await;
    report.finish();
}

// ---------------------------------------------------------------------------------------------
// webhook-dispatcher.

const EVENTS: &[&str] = &[
    "employee.created",
    "employee.updated",
    "employee.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "*",
];

/// Delivery URLs: private, loopback, metadata and mapped addresses, odd IP spellings, other
/// schemes, userinfo, bad ports, over-long and hostile ones.
fn delivery_url(r: &mut Rng) -> Value {
    match r.weighted(&[12, 1, 1, 1, 1, 1, 1, 1, 1]) {
        0 => json!(format!("http://127.0.0.1:9/hook/{}", r.below(1000))),
        1 => json!("https://8.8.8.8/hook"),
        2 => Value::String(r.pick_str(&[
            "https://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:a00:1::]/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "http://0/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://localhost/",
            "http://localhost./",
        ])),
        3 => Value::String(r.pick_str(&[
            "ftp://1.2.3.4/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://user:pass@1.2.3.4/",
            "http://",
            "",
            "not a url",
            "http://1.2.3.4:99999/",
            "http://1.2.3.4:0/",
            "HTTP://1.2.3.4/",
            " http://1.2.3.4/ ",
            "http://[::1/",
            "//1.2.3.4/",
            "https://example.invalid/hook",
        ])),
        4 => json!(format!("https://1.2.3.4/{}", "p".repeat(*r.pick(&[2_020, 2_048, 2_049, 60_000])))),
        5 => json!(format!("https://1.2.3.4/{}", text(r))),
        6 => Value::String(any_text(r)),
        _ => random_value(r, 1),
    }
}

fn events(r: &mut Rng) -> Value {
    match r.below(14) {
        0..=9 => Value::Array((0..r.between(1, 4)).map(|_| json!(r.pick(EVENTS))).collect()),
        10 => Value::Array(
            (0..r.between(0, 8))
                .map(|_| {
                    Value::String(r.pick_str(&[
                        "employee.*",
                        "EMPLOYEE.CREATED",
                        " employee.created ",
                        "",
                        "**",
                        "group",
                    ]))
                })
                .collect(),
        ),
        11 => Value::Array((0..r.between(1, 5_000)).map(|_| json!(r.pick(EVENTS))).collect()),
        12 => Value::Array((0..r.between(1, 3)).map(|_| Value::String(any_text(r))).collect()),
        _ => random_value(r, 1),
    }
}

fn status_value(r: &mut Rng) -> Value {
    match r.below(10) {
        0..=5 => json!("Enabled"),
        6 | 7 => json!("Disabled"),
        8 => Value::String(r.pick_str(&["enabled", "DISABLED", "", "Paused"])),
        _ => random_value(r, 1),
    }
}

fn timestamp(r: &mut Rng) -> String {
    r.pick_str(&[
        "2026-01-31T12:00:00Z",
        "2020-01-01T00:00:00+02:00",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z",
        "2026-01-31T12:00:00.123456789123Z",
        "2026-02-30T00:00:00Z",
        "2026-01-31T24:00:00Z",
        "2026-01-31T12:00:60Z",
        "2026-01-31T12:00:00+25:00",
        "2026-01-31T12:00:00",
        "2026-01-31",
        "+275760-09-13T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "now",
        "",
        "1769860800",
    ])
}

struct Webhooks {
    base: String,
    app_token: String,
    consumer_token: String,
    subscriptions: Vec<String>,
    doomed: Vec<String>,
}

impl Webhooks {
    async fn new(stack: &Stack) -> Webhooks {
        let t = stack.tenant("Fuzz webhooks").await;
        let mut subscriptions = Vec::new();
        for i in 0..8 {
            let events: &[&str] = if i % 2 == 0 { &["*"] } else { &["employee.created", "group.deleted"] };
            let sub = stack.subscribe(&t, &format!("http://127.0.0.1:9/seed/{i}"), events).await;
            subscriptions.push(sub["id"].as_str().expect("id").to_owned());
        }
        let doomed = subscriptions.split_off(5);
        Webhooks {
            base: stack.webhooks.clone().expect("dispatcher"),
            app_token: t.app_token,
            consumer_token: t.consumer_token,
            subscriptions,
            doomed,
        }
    }

    fn case(
        &self,
        r: &mut Rng,
        endpoint: &'static str,
        method: Method,
        path: &str,
        params: Vec<(String, String)>,
    ) -> Case {
        let url = finish_url(&self.base, path, params);
        let auth = auth(r, &self.app_token, &[self.consumer_token.as_str()]);
        Case::new(endpoint, method, url, Shape::Problem, auth)
    }

    fn subscription_body(&self, r: &mut Rng, create: bool) -> Vec<u8> {
        let mut body = json!({});
        if create && r.chance(0.7) {
            body["unifiedApi"] = match r.below(8) {
                0..=5 => json!("HRIS"),
                6 => Value::String(r.pick_str(&["hris", "ATS", "", "HRIS "])),
                _ => random_value(r, 1),
            };
        }
        if r.chance(if create { 0.95 } else { 0.5 }) {
            body["deliveryUrl"] = delivery_url(r);
        }
        if r.chance(0.7) {
            body["events"] = events(r);
        }
        if r.chance(0.5) {
            body["status"] = status_value(r);
        }
        body_of(r, body, &["unifiedApi", "deliveryUrl", "events", "status", "secret", "id"])
    }

    fn next(&self, r: &mut Rng) -> Case {
        match r.weighted(&[30, 18, 8, 5, 3, 15, 10, 3, 3, 5]) {
            0 => {
                let b = self.subscription_body(r, true);
                self.case(r, "POST /api/webhooks", Method::POST, "/api/webhooks", Vec::new()).body(r, b)
            }
            1 => {
                let id = path_id(r, &self.subscriptions);
                let b = self.subscription_body(r, false);
                self.case(r, "PATCH /api/webhooks/{id}", Method::PATCH, &format!("/api/webhooks/{id}"), Vec::new())
                    .body(r, b)
            }
            2 => {
                let p = page_params(r, &self.subscriptions);
                self.case(r, "GET /api/webhooks", Method::GET, "/api/webhooks", p)
            }
            3 => {
                let id = path_id(r, &self.subscriptions);
                self.case(r, "GET /api/webhooks/{id}", Method::GET, &format!("/api/webhooks/{id}"), Vec::new())
            }
            4 => {
                let id = path_id(r, &self.doomed);
                self.case(r, "DELETE /api/webhooks/{id}", Method::DELETE, &format!("/api/webhooks/{id}"), Vec::new())
            }
            5 => {
                let id = path_id(r, &self.subscriptions);
                let mut p = page_params(r, &[]);
                if r.chance(0.6) {
                    let s = match r.below(3) {
                        0 => r.pick_str(&["pending", "succeeded", "failed", ""]),
                        1 => r.pick_str(&["PENDING", "dead", "failed,pending"]),
                        _ => any_text(r),
                    };
                    p.push((param(r, "status"), query_value(r, &s)));
                }
                let path = format!("/api/webhooks/{id}/deliveries");
                self.case(r, "GET /api/webhooks/{id}/deliveries", Method::GET, &path, p)
            }
            6 => {
                let id = path_id(r, &self.subscriptions);
                let since = match r.below(5) {
                    0..=2 => Value::String(timestamp(r)),
                    3 => Value::String(any_text(r)),
                    _ => random_value(r, 1),
                };
                let mut body = json!({ "since": since });
                if r.chance(0.1) {
                    body = json!({});
                }
                let b = body_of(r, body, &["since", "until"]);
                let path = format!("/api/webhooks/{id}/recover");
                self.case(r, "POST /api/webhooks/{id}/recover", Method::POST, &path, Vec::new()).body(r, b)
            }
            7 => {
                let id = path_id(r, &self.subscriptions);
                let delivery = path_id(r, &[]);
                let path = format!("/api/webhooks/{id}/deliveries/{delivery}/retry");
                self.case(r, "POST /api/webhooks/{id}/deliveries/{d}/retry", Method::POST, &path, Vec::new())
            }
            8 => {
                let id = path_id(r, &self.subscriptions);
                let path = format!("/api/webhooks/{id}/rotate-secret");
                self.case(r, "POST /api/webhooks/{id}/rotate-secret", Method::POST, &path, Vec::new())
            }
            _ => {
                let method = r.pick(&[Method::PUT, Method::POST, Method::DELETE, Method::PATCH, Method::GET]).clone();
                // Only the doomed: a DELETE may land on the resource itself.
                let id = path_id(r, &self.doomed);
                let path = match r.below(4) {
                    0 => "/api/webhooks".to_owned(),
                    1 => format!("/api/webhooks/{id}"),
                    2 => format!("/api/webhooks/{id}/deliveries"),
                    _ => format!("/api/webhooks/{id}/{}", enc(&text(r))),
                };
                let mut c = self.case(r, "stray webhooks", method, &path, Vec::new());
                if r.chance(0.5) {
                    let b = self.subscription_body(r, true);
                    c = c.body(r, b);
                }
                c
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_webhooks() {
    let stack = Stack::start(StackOptions { webhooks: true, ..patient() }).await;
    let wh = Webhooks::new(&stack).await;
    let report = campaign(&stack.client, "webhook-dispatcher", scaled(7_000), |r, _| wh.next(r)).await;
    stack.shutdown().await;
    report.finish();
}

// ---------------------------------------------------------------------------------------------
// employee-store.

struct Store {
    base: String,
    consumer_token: String,
    app_token: String,
    employees: Vec<String>,
    groups: Vec<String>,
    emails: Vec<String>,
}

impl Store {
    /// Employees and groups pushed through SCIM, waited for until the store has them all, so the
    /// cases read real rows.
    async fn new(stack: &Stack) -> Store {
        let t = stack.tenant("Fuzz employee-store").await;
        let scim = seed_scim(stack, &t, 12, 3).await;
        for id in &scim.users {
            stack.wait_employee(&t, id, |_| true).await;
        }
        for id in &scim.groups {
            stack.wait_group(&t, id, |_| true).await;
        }
        let emails = (0..12).map(|i| format!("fuzz-q{i}@work.example.com")).collect();
        Store {
            base: stack.store.clone(),
            consumer_token: t.consumer_token,
            app_token: t.app_token,
            employees: scim.users,
            groups: scim.groups,
            emails,
        }
    }

    fn case(&self, r: &mut Rng, endpoint: &'static str, path: &str, params: Vec<(String, String)>) -> Case {
        let url = finish_url(&self.base, path, params);
        let auth = auth(r, &self.consumer_token, &[self.app_token.as_str()]);
        Case::new(endpoint, Method::GET, url, Shape::Problem, auth)
    }

    fn include_deleted(&self, r: &mut Rng, p: &mut Vec<(String, String)>) {
        if r.chance(0.3) {
            let v = r.pick_str(&["true", "false", "TRUE", "1", "yes", "", "null", "true,false"]);
            p.push((param(r, "includeDeleted"), query_value(r, &v)));
        }
    }

    fn next(&self, r: &mut Rng) -> Case {
        match r.weighted(&[45, 20, 20, 10, 5]) {
            0 => {
                let mut p = page_params(r, &self.employees);
                if r.chance(0.3) {
                    let t = if r.chance(0.8) { timestamp(r) } else { any_text(r) };
                    p.push((param(r, "updatedAfter"), query_value(r, &t)));
                }
                if r.chance(0.3) {
                    let s = match r.below(3) {
                        0 => r.pick_str(&["ACTIVE", "INACTIVE", "active", "Inactive"]),
                        1 => r.pick_str(&["", "PENDING", "ACTIVE,INACTIVE", "ACTİVE"]),
                        _ => text(r),
                    };
                    p.push((param(r, "employmentStatus"), query_value(r, &s)));
                }
                if r.chance(0.3) {
                    let e = if r.chance(0.5) { r.pick(&self.emails).to_uppercase() } else { any_text(r) };
                    p.push((param(r, "workEmail"), query_value(r, &e)));
                }
                if r.chance(0.3) {
                    let g = path_id(r, &self.groups);
                    p.push((param(r, "groupId"), query_value(r, &g)));
                }
                self.include_deleted(r, &mut p);
                self.case(r, "GET /api/hris/employees", "/api/hris/employees", p)
            }
            1 => {
                let id = path_id(r, &self.employees);
                let mut p = Vec::new();
                self.include_deleted(r, &mut p);
                self.case(r, "GET /api/hris/employees/{id}", &format!("/api/hris/employees/{id}"), p)
            }
            2 => {
                let mut p = page_params(r, &self.groups);
                self.include_deleted(r, &mut p);
                self.case(r, "GET /api/hris/groups", "/api/hris/groups", p)
            }
            3 => {
                let id = path_id(r, &self.groups);
                let mut p = Vec::new();
                self.include_deleted(r, &mut p);
                self.case(r, "GET /api/hris/groups/{id}", &format!("/api/hris/groups/{id}"), p)
            }
            _ => {
                let method = r.pick(&[Method::POST, Method::PUT, Method::PATCH, Method::DELETE]).clone();
                let path =
                    r.pick_str(&["/api/hris/employees", "/api/hris/groups", "/api/hris", "/api/hris/employees/x/y"]);
                let url = finish_url(&self.base, &path, Vec::new());
                let auth = auth(r, &self.consumer_token, &[]);
                let v = random_value(r, 2);
                let b = body_of(r, v, &[]);
                Case::new("stray employee-store", method, url, Shape::Problem, auth).body(r, b)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_employee_store() {
    let stack = Stack::start(patient()).await;
    let store = Store::new(&stack).await;
    let report = campaign(&stack.client, "employee-store", scaled(7_000), |r, _| store.next(r)).await;
    stack.shutdown().await;
    report.finish();
}
