//! One STS `GetCallerIdentity` call, signed with SigV4 by `aws-sigv4` and sent over `ureq`
//! (rustls). POST with a form body: what real STS and local mocks both accept. Signed for `sts`
//! in `us-east-1`, the global endpoint's region.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

use super::{principal, Credential, Status, Verification};

const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const DEFAULT_ENDPOINT: &str = "https://sts.amazonaws.com";
const REGION: &str = "us-east-1";
/// STS answers in a few hundred bytes; never read more than this.
const MAX_ANSWER: u64 = 64 * 1024;

/// Where requests go: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the global endpoint;
/// through `HTTPS_PROXY` (`HTTP_PROXY` for an http endpoint) unless `NO_PROXY` names the host.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) url: String,
    pub(crate) proxy: Option<String>,
}

impl Endpoint {
    pub(crate) fn from_env() -> Endpoint {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut url = var("AWS_ENDPOINT_URL_STS")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        if !url.ends_with('/') {
            url.push('/');
        }
        let https = url.to_ascii_lowercase().starts_with("https:");
        let proxy = if https {
            var("HTTPS_PROXY").or_else(|| var("https_proxy"))
        } else {
            var("HTTP_PROXY").or_else(|| var("http_proxy"))
        };
        let host = host_of(&url).to_ascii_lowercase();
        let bypass = var("NO_PROXY")
            .or_else(|| var("no_proxy"))
            .is_some_and(|list| {
                list.split(',').map(str::trim).any(|n| {
                    let n = n.trim_start_matches('.').to_ascii_lowercase();
                    n == "*" || (!n.is_empty() && (host == n || host.ends_with(&format!(".{n}"))))
                })
            });
        Endpoint {
            url,
            proxy: proxy.filter(|_| !bypass),
        }
    }
}

/// `https://h:1/p` → `h:1` (the Host header as signed).
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `h:1` → `h` (IPv6 literals keep their brackets).
fn host_of(url: &str) -> &str {
    let a = authority(url);
    if a.starts_with('[') {
        return a.split(']').next().map_or(a, |h| &a[..h.len() + 1]);
    }
    a.rsplit_once(':').map_or(a, |(h, _)| h)
}

pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    pub(crate) fn new(endpoint: &Endpoint, timeout: Duration) -> Result<Client, String> {
        let mut b = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .user_agent(concat!("keyfence/", env!("CARGO_PKG_VERSION")));
        if let Some(p) = &endpoint.proxy {
            let proxy = ureq::Proxy::new(p).map_err(|e| format!("bad proxy setting: {e}"))?;
            b = b.proxy(proxy);
        }
        Ok(Client {
            agent: b.build(),
            url: endpoint.url.clone(),
        })
    }

    /// Asks STS who the credential belongs to. Every failure to get an answer is `Unknown`.
    pub(crate) fn get_caller_identity(&self, c: &Credential) -> Verification {
        let headers = match self.sign(c) {
            Ok(h) => h,
            Err(e) => return Verification::unknown(format!("cannot sign the request: {e}")),
        };
        let mut req = self.agent.post(&self.url);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        match req.send_string(BODY) {
            Ok(resp) => match read(resp) {
                Ok(body) => parse_success(&body),
                Err(e) => Verification::unknown(format!("cannot read the answer: {e}")),
            },
            Err(ureq::Error::Status(code, resp)) => {
                let body = read(resp).unwrap_or_default();
                parse_error(code, &body)
            }
            Err(ureq::Error::Transport(t)) => Verification::unknown(format!("no answer: {t}")),
        }
    }

    fn sign(&self, c: &Credential) -> Result<Vec<(String, String)>, String> {
        let identity = Credentials::new(
            c.key_id.clone(),
            c.secret.clone(),
            c.token.clone(),
            None,
            "keyfence",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("sts")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let host = authority(&self.url).to_string();
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), host),
        ];
        let signable = SignableRequest::new(
            "POST",
            &self.url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(BODY.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        headers.extend(
            instructions
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Ok(headers)
    }
}

fn read(resp: ureq::Response) -> std::io::Result<String> {
    use std::io::Read;
    let mut s = String::new();
    resp.into_reader().take(MAX_ANSWER).read_to_string(&mut s)?;
    Ok(s)
}

/// The text of the first `<tag>…</tag>`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

fn parse_success(body: &str) -> Verification {
    match element(body, "Arn") {
        Some(arn) if !arn.is_empty() => Verification {
            status: Status::Live,
            arn: Some(arn.to_string()),
            account: element(body, "Account").map(str::to_string),
            user: principal(arn),
            detail: None,
        },
        _ => Verification::unknown("STS answered without an ARN"),
    }
}

fn parse_error(code: u16, body: &str) -> Verification {
    let err = element(body, "Code").unwrap_or("");
    let status = match err {
        "InvalidClientTokenId" => Status::InvalidKeyId,
        "SignatureDoesNotMatch" => Status::WrongSecret,
        "ExpiredToken" | "ExpiredTokenException" => Status::InactiveOrExpired,
        _ => Status::Unknown,
    };
    let detail = if err.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code} {}", crate::report::escape_control(err))
    };
    Verification {
        status,
        arn: None,
        account: None,
        user: None,
        detail: Some(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_authorities() {
        assert_eq!(authority("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(host_of("http://127.0.0.1:5000/"), "127.0.0.1");
        assert_eq!(host_of("https://sts.amazonaws.com/"), "sts.amazonaws.com");
        assert_eq!(host_of("http://[::1]:9/"), "[::1]");
    }

    #[test]
    fn error_codes() {
        let xml = |c: &str| {
            format!(
                "<ErrorResponse><Errors><Error><Code>{c}</Code></Error></Errors></ErrorResponse>"
            )
        };
        assert_eq!(
            parse_error(403, &xml("InvalidClientTokenId")).status,
            Status::InvalidKeyId
        );
        assert_eq!(
            parse_error(403, &xml("SignatureDoesNotMatch")).status,
            Status::WrongSecret
        );
        assert_eq!(
            parse_error(400, &xml("ExpiredToken")).status,
            Status::InactiveOrExpired
        );
        assert_eq!(parse_error(503, "").status, Status::Unknown);
    }
}
