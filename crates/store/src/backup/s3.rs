//! S3-compatible backup targets (S25), through `object_store`'s Amazon S3 client.
//!
//! A target is `s3://BUCKET/PREFIX`; a generation is the objects under
//! `PREFIX/YYYYMMDDTHHMMSSZ/`, laid out as in a directory target. Where the bucket lives and
//! who may write it come from the environment only (S20), never from `daiko.toml` or the
//! command line:
//!
//! | variable | meaning |
//! |---|---|
//! | `DAIKO_S3_ENDPOINT` | the S3-compatible service, e.g. `https://s3.example.jp` (path-style requests); unset: Amazon S3 |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | the region, default `us-east-1` |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` | the credentials (required) |
//! | `AWS_SESSION_TOKEN` | a temporary credential's token (optional) |
//!
//! The endpoint must be `https://`, except on a loopback address (`127.0.0.0/8`, `::1`,
//! `localhost`), where `http://` is allowed for a server on the same machine. Objects are
//! sealed before they leave (see [`super`]), so the service sees only ciphertext.
//!
//! S3 has no rename: a generation is written object by object and `manifest.enc` last, so a
//! generation counts only once its manifest is there; a failed backup deletes what it wrote.

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{BackupError, Result, is_generation_name};

/// Where and as whom to reach the S3-compatible service; from the environment only.
#[derive(Clone)]
pub struct S3Config {
    endpoint: Option<String>,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret and the token are never printed (S20).
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

fn config_error(en: impl Into<String>, ja: impl Into<String>) -> BackupError {
    BackupError::S3Config {
        en: en.into(),
        ja: ja.into(),
    }
}

/// Whether `host` (as in a URL, IPv6 in brackets) is a loopback address.
fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks an endpoint URL: `https://HOST[:PORT][/…]`, or `http://` on a loopback host.
/// Returns whether plain HTTP is used.
fn check_endpoint(endpoint: &str) -> Result<bool> {
    let (http, rest) = if let Some(r) = endpoint.strip_prefix("https://") {
        (false, r)
    } else if let Some(r) = endpoint.strip_prefix("http://") {
        (true, r)
    } else {
        return Err(config_error(
            format!("DAIKO_S3_ENDPOINT must start with https:// (got {endpoint:?})"),
            format!("DAIKO_S3_ENDPOINT は https:// で始めてください（{endpoint:?}）"),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(config_error(
            "DAIKO_S3_ENDPOINT must not contain credentials: use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
            "DAIKO_S3_ENDPOINT に認証情報を含めないでください（AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY を使います）",
        ));
    }
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(config_error(
            format!("DAIKO_S3_ENDPOINT has no host (got {endpoint:?})"),
            format!("DAIKO_S3_ENDPOINT にホスト名がありません（{endpoint:?}）"),
        ));
    }
    if http && !is_loopback_host(host) {
        return Err(config_error(
            format!(
                "DAIKO_S3_ENDPOINT {endpoint} is plain http off loopback: use https:// (http is allowed only for 127.0.0.1, ::1, localhost)"
            ),
            format!(
                "DAIKO_S3_ENDPOINT {endpoint} はループバック以外への平文 http です。https:// を使ってください（http は 127.0.0.1・::1・localhost のみ）"
            ),
        ));
    }
    Ok(http)
}

impl S3Config {
    /// Reads the configuration from `env` (the process environment in the CLI).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<S3Config> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let endpoint = get("DAIKO_S3_ENDPOINT").map(|e| e.trim_end_matches('/').to_string());
        if let Some(e) = &endpoint {
            check_endpoint(e)?;
        }
        let (Some(access_key_id), Some(secret_access_key)) =
            (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(config_error(
                "an s3:// target needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment",
                "s3:// の保存先には環境変数 AWS_ACCESS_KEY_ID と AWS_SECRET_ACCESS_KEY が必要です",
            ));
        };
        Ok(S3Config {
            endpoint,
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
            session_token: get("AWS_SESSION_TOKEN"),
        })
    }
}

/// A bucket and prefix holding generations.
#[derive(Clone)]
pub struct S3Target {
    bucket: String,
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
    client: Arc<AmazonS3>,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// Splits `s3://BUCKET[/PREFIX]` into bucket and prefix.
pub(super) fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("s3://").unwrap_or(url);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let prefix_ok = prefix
        .split('/')
        .all(|p| p != "." && p != ".." && (prefix.is_empty() || !p.is_empty()));
    if !bucket_ok || !prefix_ok {
        return Err(config_error(
            format!("{url} is not an S3 location: use s3://BUCKET/PREFIX"),
            format!(
                "{url} は S3 の場所ではありません（s3://BUCKET/PREFIX の形で指定してください）"
            ),
        ));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

impl S3Target {
    /// The target `s3://BUCKET/PREFIX` reached with `config`.
    pub fn new(url: &str, config: &S3Config) -> Result<S3Target> {
        let (bucket, prefix) = split_url(url)?;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key);
        if let Some(t) = &config.session_token {
            b = b.with_token(t);
        }
        if let Some(e) = &config.endpoint {
            let http = check_endpoint(e)?;
            b = b
                .with_endpoint(e)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(http);
        }
        let client = b.build().map_err(|e| {
            config_error(
                format!("S3 client for {url}: {e}"),
                format!("{url} の S3 クライアントを作れません: {e}"),
            )
        })?;
        Ok(S3Target {
            bucket,
            prefix,
            client: Arc::new(client),
        })
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// `s3://BUCKET/PREFIX/GENERATION`.
    pub fn generation_url(&self, generation: &str) -> String {
        format!("{}/{generation}", self.url())
    }

    fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn remote(&self, rel: &str, e: object_store::Error) -> BackupError {
        BackupError::Remote {
            location: format!("{}/{rel}", self.url()),
            detail: e.to_string(),
        }
    }

    /// The object `rel` (relative to the prefix), or `None` when it does not exist.
    pub(super) async fn get(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let got = match self.client.get(&self.key(rel)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.remote(rel, e)),
        };
        let bytes = got.bytes().await.map_err(|e| self.remote(rel, e))?;
        Ok(Some(bytes.to_vec()))
    }

    pub(super) async fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        self.client
            .put(&self.key(rel), PutPayload::from(bytes.to_vec()))
            .await
            .map_err(|e| self.remote(rel, e))?;
        Ok(())
    }

    /// Every object key under `dir/`, relative to the prefix.
    async fn objects_under(&self, dir: &str) -> Result<Vec<ObjectPath>> {
        self.client
            .list(Some(&self.key(dir)))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| self.remote(dir, e))
    }

    /// The objects of generation `name`, relative to it.
    pub(super) async fn files_of(&self, name: &str) -> Result<Vec<String>> {
        let base = format!("{}/", self.key(name).as_ref());
        Ok(self
            .objects_under(name)
            .await?
            .iter()
            .filter_map(|p| p.as_ref().strip_prefix(&base).map(str::to_string))
            .collect())
    }

    /// Whether any object of generation `name` exists (complete or not).
    pub(super) async fn has_any(&self, name: &str) -> Result<bool> {
        Ok(!self.objects_under(name).await?.is_empty())
    }

    /// Deletes the object `rel` (nothing when it does not exist).
    pub(super) async fn delete(&self, rel: &str) -> Result<()> {
        match self.client.delete(&self.key(rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.remote(rel, e)),
        }
    }

    /// Deletes every object under `dir/`.
    pub(super) async fn delete_all(&self, dir: &str) -> Result<()> {
        for key in self.objects_under(dir).await? {
            match self.client.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.remote(key.as_ref(), e)),
            }
        }
        Ok(())
    }

    /// The complete generations (those with a manifest), oldest first.
    pub(super) async fn generations(&self) -> Result<Vec<String>> {
        let listing = if self.prefix.is_empty() {
            self.client.list_with_delimiter(None).await
        } else {
            self.client
                .list_with_delimiter(Some(&ObjectPath::from(self.prefix.as_str())))
                .await
        }
        .map_err(|e| self.remote("", e))?;
        let mut out = Vec::new();
        for p in listing.common_prefixes {
            let Some(name) = p.filename().filter(|n| is_generation_name(n)) else {
                continue;
            };
            match self
                .client
                .head(&self.key(&format!("{name}/manifest.enc")))
                .await
            {
                Ok(_) => out.push(name.to_string()),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.remote(name, e)),
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    const KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "very-secret-value"),
    ];

    #[test]
    fn endpoints_need_https_off_loopback() {
        for ok in [
            "https://s3.example.jp",
            "https://10.0.0.5:9000/",
            "http://127.0.0.1:9000",
            "http://127.8.0.1",
            "http://[::1]:9000",
            "http://localhost:9000",
        ] {
            let vars = [KEYS[0], KEYS[1], ("DAIKO_S3_ENDPOINT", ok)];
            let c = S3Config::from_env(&env(&vars)).expect(ok);
            S3Target::new("s3://daiko-backups/site1", &c).expect(ok);
        }
        for bad in [
            "http://s3.example.jp",
            "http://10.0.0.5:9000",
            "http://[2001:db8::1]:9000",
            "http://localhost.example.jp",
            "ftp://127.0.0.1",
            "https://",
            "https://user:pw@s3.example.jp",
        ] {
            let vars = [KEYS[0], KEYS[1], ("DAIKO_S3_ENDPOINT", bad)];
            let e = S3Config::from_env(&env(&vars)).expect_err(bad);
            assert!(matches!(e, BackupError::S3Config { .. }), "{bad}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }

    #[test]
    fn credentials_are_required_and_never_shown() {
        let e = S3Config::from_env(&env(&[KEYS[0]])).expect_err("no secret");
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        assert!(e.message_ja().contains("AWS_SECRET_ACCESS_KEY"));
        let c = S3Config::from_env(&env(&[KEYS[0], KEYS[1], ("AWS_SESSION_TOKEN", "tok-123")]))
            .expect("config");
        assert_eq!(c.region, "us-east-1");
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret-value") && !shown.contains("tok-123"));
        let t = S3Target::new("s3://daiko-backups/a/b/", &c).expect("target");
        assert_eq!(t.url(), "s3://daiko-backups/a/b");
        assert!(!format!("{t:?}").contains("very-secret-value"));
    }

    #[test]
    fn locations() {
        assert_eq!(
            split_url("s3://bucket-1/x/y").expect("ok"),
            ("bucket-1".into(), "x/y".into())
        );
        assert_eq!(
            split_url("s3://bucket-1").expect("ok"),
            ("bucket-1".into(), String::new())
        );
        for bad in [
            "s3://",
            "s3://B",
            "s3://UPPER/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }
}
