//! Who may ask: the `Host` header must name this server (a loopback name, an IP address, or
//! a name given with `--allow-host`), which defeats DNS rebinding; an `Origin` header must be
//! this server's own (a page elsewhere cannot use the API through a visitor's browser); and
//! with a token, every API and MCP request must carry it as `Authorization: Bearer`.

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

use super::failure::{Failure, Kind, Result};

pub struct Gate {
    /// Host names accepted besides `localhost` and IP addresses (lower case, no port).
    allowed_hosts: Vec<String>,
    token: Option<String>,
}

impl Gate {
    pub fn new(allowed_hosts: &[String], token: Option<String>) -> Gate {
        Gate {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            token,
        }
    }

    /// Whether a request with these headers, for this path, may be answered.
    pub fn check(&self, headers: &HeaderMap, path: &str) -> Result<()> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| forbidden("the request has no Host header".into()))?;
        if !self.host_allowed(host_name(host)) {
            return Err(forbidden(format!(
                "the Host header {host:?} is not this server's; start it with --allow-host NAME to accept that name"
            )));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            if !authority.is_some_and(|a| a.eq_ignore_ascii_case(host)) {
                return Err(forbidden(format!(
                    "requests from the page at {origin:?} are not accepted; only this server's own page may call it"
                )));
            }
        }
        let protected = path.starts_with("/api/") || path == "/mcp" || path.starts_with("/mcp/");
        if let (Some(token), true) = (&self.token, protected) {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer "));
            if !given.is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes())) {
                return Err(Failure::new(
                    Kind::Unauthorized,
                    "this server needs its token: send `Authorization: Bearer TOKEN`",
                ));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        name == "localhost" || bare.parse::<IpAddr>().is_ok() || self.allowed_hosts.contains(&name)
    }
}

/// The host name of a `Host` header (`name`, `name:port`, `[v6]:port`), without the port.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(name, _)| name)
            .trim_start_matches('[');
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn forbidden(message: String) -> Failure {
    Failure::new(Kind::Forbidden, message)
}

/// Compares secrets in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn loopback_names_and_addresses_pass_other_names_do_not() {
        let gate = Gate::new(&[], None);
        for host in [
            "127.0.0.1:8765",
            "localhost:8765",
            "[::1]:8765",
            "192.168.1.5:80",
            "LOCALHOST",
        ] {
            assert!(
                gate.check(&headers(&[(header::HOST, host)]), "/api/search")
                    .is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example:8765",
            "localhost.evil.example",
            "127.0.0.1.nip.io:8765",
        ] {
            let refused = gate.check(&headers(&[(header::HOST, host)]), "/api/search");
            assert_eq!(refused.unwrap_err().kind, Kind::Forbidden, "{host}");
        }
        assert!(gate.check(&HeaderMap::new(), "/").is_err());
        let named = Gate::new(&["Search.Lab".into()], None);
        assert!(named
            .check(&headers(&[(header::HOST, "search.lab:8765")]), "/")
            .is_ok());
    }

    #[test]
    fn only_the_servers_own_origin_passes() {
        let gate = Gate::new(&[], None);
        let own = headers(&[
            (header::HOST, "127.0.0.1:8765"),
            (header::ORIGIN, "http://127.0.0.1:8765"),
        ]);
        assert!(gate.check(&own, "/api/search").is_ok());
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:3000",
            "null",
            "file://",
        ] {
            let other = headers(&[(header::HOST, "127.0.0.1:8765"), (header::ORIGIN, origin)]);
            assert_eq!(
                gate.check(&other, "/api/search").unwrap_err().kind,
                Kind::Forbidden,
                "{origin}"
            );
        }
    }

    #[test]
    fn a_token_guards_the_api_and_mcp_but_not_the_page() {
        let gate = Gate::new(&[], Some("s3cret".into()));
        let host = (header::HOST, "127.0.0.1:8765");
        assert!(gate
            .check(&headers(std::slice::from_ref(&host)), "/")
            .is_ok());
        for path in ["/api/search", "/mcp"] {
            let bare = gate.check(&headers(std::slice::from_ref(&host)), path);
            assert_eq!(bare.unwrap_err().kind, Kind::Unauthorized);
            let wrong = headers(&[host.clone(), (header::AUTHORIZATION, "Bearer s3cres")]);
            assert_eq!(
                gate.check(&wrong, path).unwrap_err().kind,
                Kind::Unauthorized
            );
            let right = headers(&[host.clone(), (header::AUTHORIZATION, "Bearer s3cret")]);
            assert!(gate.check(&right, path).is_ok());
        }
    }
}
